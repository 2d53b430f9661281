// The inputs of a payout comparison (see payout_input.hpp).
#include "host/report/payout_input.hpp"

#include "core/error.hpp"

namespace backscore {

void check_rule_formulas(const PayoutRule& rule, const ScoresFileReader& file, bool list_formulas) {
  for (const std::string& name : rule.names()) {
    if (!file.has_formula(name)) {
      throw OptionError::about(
          "payout", "the rule '" + rule.text() + "' uses '" + name + "' but " +
                        file.path().string() + " has no such formula" +
                        (list_formulas ? " (it has: " + formula_list(file) + ")" : std::string()));
    }
  }
}

PayoutData load_payout(const PayoutRule& rule, StoreReader& store, const ScoresFileReader& file,
                       const ScoreMatrix* reuse) {
  PayoutData d;
  d.input.stakes = read_stakes(store, file);
  d.scores.reserve(rule.names().size());
  for (const std::string& name : rule.names()) {
    d.scores.push_back(reuse && name == reuse->formula ? *reuse
                                                       : load_scores(file, name, "payout"));
  }
  for (const ScoreMatrix& s : d.scores) d.input.baseline_scores.push_back(&s);
  d.input.rule = rule;
  return d;
}

}  // namespace backscore
