// The inputs of a payout comparison, loaded once for `compare` and `report`: the rule's formulas
// checked against the scores file, the rule's scores, and the store's stakes.
#pragma once

#include <limits>
#include <vector>

#include "host/report/compare.hpp"
#include "host/lang/payout_rule.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore {

// Every formula the rule names must be in the file: otherwise an OptionError on option "payout"
// ("payout: the rule 'R' uses 'x' but FILE has no such formula", and " (it has: a, b)" when
// `list_formulas`).
void check_rule_formulas(const PayoutRule& rule, const ScoresFileReader& file, bool list_formulas);

// The rule's scores and the stakes, owned; `input.baseline_scores` points into `scores`, so a
// PayoutData moves but does not copy.
struct PayoutData {
  std::vector<ScoreMatrix> scores;  // one per rule.names(), in that order
  PayoutInput input;
  double threshold = 0;  // the payout factor's threshold used (when the rule uses pf)
  PayoutData() = default;
  PayoutData(PayoutData&&) = default;
  PayoutData& operator=(PayoutData&&) = default;
  PayoutData(const PayoutData&) = delete;
  PayoutData& operator=(const PayoutData&) = delete;
};

// pf of an era: min(1, threshold / total_at_risk), 1 when nothing is at risk.
double payout_factor(double threshold, double total_at_risk);

// Reads the stakes (read_stakes) and, when the rule uses pf, each era's payout factor from its
// total stake at risk and `threshold` (NMR; NaN = the rule's default_threshold()), then the
// scores of each name of the rule (`reuse` stands for the name it holds, sparing a read). The
// rule's formulas must have been checked.
PayoutData load_payout(const PayoutRule& rule, StoreReader& store, const ScoresFileReader& file,
                       const ScoreMatrix* reuse = nullptr,
                       double threshold = std::numeric_limits<double>::quiet_NaN());

}  // namespace backscore
