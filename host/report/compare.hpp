// `backscore compare`: how a candidate formula differs from a baseline over a scored history.
// Per-model statistics under each formula, the per-era and overall Spearman agreement, the
// leaderboard moves, and the payout impact under a payout rule with the store's stakes. Pure
// functions over models x eras matrices, so the tests need no CLI. Also the small aligned-table
// and CSV writer shared by `compare` and `audit`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "host/era/rank.hpp"
#include "host/lang/payout_rule.hpp"
#include "io/pending_file.hpp"  // write_file_atomically
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore {

// A formula's scores, models x eras row-major (element (i, j) at [i * n_eras + j]); NaN = none.
struct ScoreMatrix {
  std::string formula;
  std::size_t n_models = 0, n_eras = 0;
  std::vector<double> values;
  double at(std::size_t model, std::size_t era) const { return values[model * n_eras + era]; }
  std::span<const double> row(std::size_t model) const {
    return {values.data() + model * n_eras, n_eras};
  }
};

// One formula's models x eras matrix from a scores file. A formula the file lacks is an
// OptionError (core/error.hpp) on `option`, the option that asked for it ("baseline",
// "formulas"), naming the file and the formulas it has.
ScoreMatrix load_scores(const ScoresFileReader& file, const std::string& formula,
                        const std::string& option);
// "corr, mmc, ...": the file's formulas, for messages.
std::string formula_list(const ScoresFileReader& file);

// One model's scores over its eras (NaN eras skipped, history order kept).
struct ModelStats {
  std::size_t n_eras = 0;  // finite scores
  double mean = std::numeric_limits<double>::quiet_NaN();
  double std = std::numeric_limits<double>::quiet_NaN();     // ddof 0
  double sharpe = std::numeric_limits<double>::quiet_NaN();  // mean / std; NaN when std == 0
  // Largest fall of the cumulative score from its running peak, the peak including the start
  // (cumulative 0 before the first era); >= 0, 0 when it never falls.
  double max_drawdown = std::numeric_limits<double>::quiet_NaN();
  // Lag-1 autocorrelation of the finite scores and the Sharpe ratio penalized by it
  // (diagnostics.hpp: autocorrelation_lag1, smart_sharpe).
  double autocorr = std::numeric_limits<double>::quiet_NaN();
  double smart_sharpe = std::numeric_limits<double>::quiet_NaN();
};
ModelStats model_stats(std::span<const double> scores);

// Spearman rank correlation over the pairs where both are finite: Pearson (host/era/stats)
// of the tie-kept percentile ranks (host/era/rank), so ties get their mean rank. NaN for fewer
// than 2 pairs or a constant side. The one rank correlation of compare, audit and report.
struct RankWork {  // reusable buffers: no allocation after warm-up
  StableSorter sorter;
  std::vector<double> a, b, ra, rb, tmp;
  std::vector<std::uint32_t> order;
};
double spearman(std::span<const double> x, std::span<const double> y, RankWork& work);
double spearman(std::span<const double> x, std::span<const double> y);

// min, quartiles (numpy's default linear interpolation) and max of the finite values.
struct Distribution {
  std::size_t n = 0;
  double mean = std::numeric_limits<double>::quiet_NaN(), min = mean, q1 = mean, median = mean,
         q3 = mean, max = mean;
};
Distribution distribution(std::span<const double> values);

struct PayoutInput {
  PayoutRule rule;
  // The scores of every name in rule.names(), in that order, each models x eras like the
  // baseline. Under the candidate, the entry named like the baseline is replaced by the
  // candidate's matrix.
  std::vector<const ScoreMatrix*> baseline_scores;
  // Stakes, models x eras; NaN = the model did not submit that era (not a model-era).
  std::vector<double> stakes;
  // The payout factor of each era (pf in the rule): one per era when the rule uses it.
  std::vector<double> payout_factor;
};

struct ModelPayout {
  std::size_t staked_eras = 0;                      // model-eras with a stake (submitted)
  double baseline = 0, candidate = 0;               // sum of stake x rule value
  std::size_t baseline_nan = 0, candidate_nan = 0;  // model-eras paid 0 because a score was NaN
  // A unit stake compounded over the staked eras in history order, each era's payout (the rule's
  // value, 0 when NaN) reinvested: prod(1 + value), 0 once it reaches 0 (docs/FORMULAS.md,
  // "Model diagnostics": APY).
  double baseline_growth = 1, candidate_growth = 1;
};

struct CompareResult {
  std::string baseline, candidate;
  std::vector<ModelStats> base_stats, cand_stats;  // per model
  std::vector<double> era_spearman;                // per era, across models with both scores
  std::vector<std::size_t> era_pairs;              // per era, models with both scores finite
  Distribution era_spearman_dist;
  double overall_spearman = std::numeric_limits<double>::quiet_NaN();  // all model-eras
  std::size_t overall_pairs = 0;
  // 1 = best mean; 0 = not ranked (no finite score under that formula). Ties in the mean keep
  // model-table order.
  std::vector<std::size_t> base_rank, cand_rank;
  std::optional<std::vector<ModelPayout>> payouts;
  ModelPayout payout_total;
  bool rule_names_baseline = false;  // else the candidate's payouts equal the baseline's
};

// Both matrices must have the same shape. `payout` is optional.
CompareResult compare(const ScoreMatrix& baseline, const ScoreMatrix& candidate,
                      const PayoutInput* payout);

// Models ranked under both formulas, biggest moves first: up (rank improved) and down.
struct Mover {
  std::size_t model = 0;
  long move = 0;  // base_rank - cand_rank: > 0 moved up
};
std::vector<Mover> movers(const CompareResult& r, bool up, std::size_t top);

// A table printed aligned (numbers right-aligned) and written as CSV.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  // Columns whose cells are all numbers (or empty, "nan", "-") are right-aligned, others left.
  void print(std::FILE* out, std::size_t max_rows = SIZE_MAX) const;
  // Written to PATH.tmp-<pid> and renamed; throws InputError on failure.
  void write_csv(const std::filesystem::path& path) const;
};

// Stakes from the store, models x eras of the scores file (NaN = the model did not submit that
// era), eras and models matched by name. Throws InputError when the store has no stakes or lacks
// an era of the scores file. `era_totals`, when given, receives each era's total stake at risk:
// the sum of the stakes of every model that submitted the era in the store.
std::vector<double> read_stakes(StoreReader& store, const ScoresFileReader& file,
                                std::vector<double>* era_totals = nullptr);

// append_csv_number as a string: 17 significant digits, "" for NaN.
std::string csv_number(double v);
// Fixed decimals for the terminal, "nan" for NaN.
std::string fixed(double v, int decimals);

}  // namespace backscore
