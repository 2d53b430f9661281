// The payout rule of `backscore compare --payout` and `report`: one scalar expression of the
// formula language (docs/FORMULAS.md, "The formula language") over score names, e.g.
// `clip(0.5*corr + 2*mmc, -0.05, 0.05)`. Numbers, score names, + - * / ^, clip, min, max, abs,
// sign, if(cond, a, b), comparisons and and/or/not; every name is a score column of the scores
// file (built-in or defined formulas alike), per-stock data is refused, except `pf`: the era's
// payout factor min(1, threshold / total stake at risk), which the caller computes from the
// store's stakes. Compiled with the language's compiler (host/lang/plan.hpp) and evaluated with
// its scalar operations, so a rule means exactly what the same expression means in a --formula
// definition. The presets are Numerai's documented rules with their periods and sources
// (docs/FORMULAS.md, "Payout presets").
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/lang/plan.hpp"

namespace backscore {

// The name a rule uses for the era's payout factor.
inline constexpr std::string_view kPayoutFactorName = "pf";
// The payout-factor threshold (NMR) of a rule that is no preset: Numerai classic's since 2023-05.
inline constexpr double kDefaultPayoutThreshold = 72000;

// A preset parameter: `{name}` in the preset's text stands for its value.
struct PayoutParam {
  std::string name;
  double value = 0;
};

struct PayoutPreset {
  const char* name;
  const char* alias_of;             // nullptr, or the preset this name stands for
  const char* text;                 // the rule, parameters written {name}
  std::vector<PayoutParam> params;  // with their documented defaults
  double threshold;                 // the payout factor's default threshold, NMR
  const char* period;               // when Numerai paid it (docs/FORMULAS.md)
};
// Every preset, aliases included, in a fixed order.
std::span<const PayoutPreset> payout_presets();
// "classic-2024, classic-2026(cm=0.75, mm=2.25), ...": the presets for --help and messages.
std::string payout_preset_list();

class PayoutRule {
 public:
  // Compiles a rule or a preset name ("classic-2024", "numerai2020", ...). `params` set a
  // preset's parameters (`cm=1` for classic-2026); a name the preset lacks, or any parameter for
  // a rule that is no preset, is an OptionError on "payout_params". An error in the rule throws
  // InputError, one line: payout rule 'TEXT': column N: what is wrong.
  static PayoutRule parse(const std::string& text, const std::vector<PayoutParam>& params = {});

  // The preset's rule with its default parameters; empty when `name` is no preset.
  static std::string preset(const std::string& name);

  const std::string& text() const { return text_; }
  // The preset's name (an alias resolved), "" for a rule written out.
  const std::string& preset_name() const { return preset_; }
  // The distinct score names the rule reads, in order of first appearance (pf not among them).
  const std::vector<std::string>& names() const { return names_; }
  // Whether the rule uses pf, the era's payout factor.
  bool uses_payout_factor() const { return pf_input_ != kNone; }
  // The preset's threshold; kDefaultPayoutThreshold for a rule written out.
  double default_threshold() const { return threshold_; }

  // The rule's value with name -> lookup(name) and pf = `pf` (NaN when not given: a rule using
  // pf then has no value). NaN operands propagate through arithmetic, clip, min and max, so a
  // caller can tell "a score is missing"; division by zero is NaN.
  double eval(const std::function<double(std::string_view)>& lookup,
              double pf = std::numeric_limits<double>::quiet_NaN()) const;
  // The same with values[k] the value of names()[k]: no string lookups in a hot loop.
  double eval(std::span<const double> values,
              double pf = std::numeric_limits<double>::quiet_NaN()) const;

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::string text_, preset_;
  std::vector<std::string> names_;
  std::vector<std::size_t> name_input_;  // names_[k] is plan input name_input_[k]
  std::size_t pf_input_ = kNone;         // plan input of pf
  double threshold_ = kDefaultPayoutThreshold;
  lang::Plan plan_;  // one output, scalar nodes only
};

// Parses `name=value` (value a finite number) for --payout-param; OptionError on
// "payout_params" otherwise.
PayoutParam parse_payout_param(const std::string& text);

}  // namespace backscore
