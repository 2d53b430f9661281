// The payout rule of `backscore compare --payout` and `report`: one scalar expression of the
// formula language (docs/FORMULAS.md, "The formula language") over score names, e.g.
// `clip(0.5*corr + 2*mmc, -0.05, 0.05)`. Numbers, score names, + - * / ^, clip, min, max, abs,
// sign, if(cond, a, b), comparisons and and/or/not; every name is a score column of the scores
// file (built-in or defined formulas alike), per-stock data is refused. Compiled with the
// language's compiler (host/lang/plan.hpp) and evaluated with its scalar operations, so a rule
// means exactly what the same expression means in a --formula definition.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/lang/plan.hpp"

namespace backscore {

class PayoutRule {
 public:
  // Compiles a rule or a preset name ("numerai2024", "numerai2020"). An error throws InputError,
  // one line: payout rule 'TEXT': column N: what is wrong.
  static PayoutRule parse(const std::string& text);

  // The presets: numerai2024 = clip(0.5*corr + 2*mmc, -0.05, 0.05) (the default),
  // numerai2020 = clip(corr + mmc, -0.25, 0.25). Empty when `name` is no preset.
  static std::string preset(const std::string& name);

  const std::string& text() const { return text_; }
  // The distinct score names the rule reads, in order of first appearance.
  const std::vector<std::string>& names() const { return plan_.inputs; }

  // The rule's value with name -> lookup(name). NaN operands propagate through arithmetic, clip,
  // min and max, so a caller can tell "a score is missing"; division by zero is NaN.
  double eval(const std::function<double(std::string_view)>& lookup) const;
  // The same with values[k] the value of names()[k]: no string lookups in a hot loop.
  double eval(std::span<const double> values) const;

 private:
  std::string text_;
  lang::Plan plan_;  // one output, scalar nodes only
};

}  // namespace backscore
