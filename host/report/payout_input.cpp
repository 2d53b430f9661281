// The inputs of a payout comparison (see payout_input.hpp).
#include "host/report/payout_input.hpp"

#include <algorithm>
#include <cmath>

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

double payout_factor(double threshold, double total_at_risk) {
  return total_at_risk > 0 ? std::min(1.0, threshold / total_at_risk) : 1.0;
}

PayoutData load_payout(const PayoutRule& rule, StoreReader& store, const ScoresFileReader& file,
                       const ScoreMatrix* reuse, double threshold) {
  PayoutData d;
  std::vector<double> totals;
  d.input.stakes = read_stakes(store, file, &totals);
  if (rule.uses_payout_factor()) {
    d.threshold = std::isnan(threshold) ? rule.default_threshold() : threshold;
    for (double total : totals) d.input.payout_factor.push_back(payout_factor(d.threshold, total));
  }
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
