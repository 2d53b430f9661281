// The payout rule of `backscore compare --payout`: a one-line arithmetic expression over formula
// names, e.g. `clip(0.5*corr + 2*mmc, -0.05, 0.05)`. Grammar: numbers, formula names, + - * /,
// parentheses, unary minus, clip(x, lo, hi), min(a, b), max(a, b). A later issue replaces this
// with the general formula language, so the interface stays narrow: parse, names, eval.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backscore {

class PayoutRule {
 public:
  // Parses a rule or a preset name ("numerai2024", "numerai2020"). A syntax error throws
  // InputError, one line quoting the rule and naming the problem and its 1-based column.
  static PayoutRule parse(const std::string& text);

  // The presets: numerai2024 = clip(0.5*corr + 2*mmc, -0.05, 0.05) (the default),
  // numerai2020 = clip(corr + mmc, -0.25, 0.25). Empty when `name` is no preset.
  static std::string preset(const std::string& name);

  const std::string& text() const { return text_; }
  // The distinct formula names the rule refers to, in order of first appearance.
  const std::vector<std::string>& names() const { return names_; }

  // The rule's value with name -> lookup(name). NaN operands propagate (clip/min/max of a NaN is
  // NaN), so a caller can tell "a score is missing".
  double eval(const std::function<double(std::string_view)>& lookup) const;
  // The same with values[k] the value of names()[k]: no string lookups in a hot loop.
  double eval(std::span<const double> values) const;

 private:
  struct Node {
    enum Kind { kNumber, kName, kNeg, kAdd, kSub, kMul, kDiv, kClip, kMin, kMax } kind;
    double number = 0;  // kNumber
    int name = -1;      // kName: index into names_
    int a = -1, b = -1, c = -1;  // operand nodes
  };
  double eval_node(int node, std::span<const double> values) const;

  std::string text_;
  std::vector<std::string> names_;
  std::vector<Node> nodes_;
  int root_ = -1;

  friend class PayoutRuleParser;
};

}  // namespace backscore
