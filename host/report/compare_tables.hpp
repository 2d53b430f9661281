// The tables of `backscore compare` (terminal and CSV) built from a CompareResult, so the CLI
// only wires options to calls and prints. Terminal numbers have fixed decimals, CSV numbers 17
// significant digits (csv_number).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "host/report/compare.hpp"
#include "host/report/diagnostics.hpp"

namespace backscore {

// The models listed in the per-model tables: those scored under either formula, best baseline
// rank first (unranked last, model-table order kept among equals).
std::vector<std::size_t> listed_models(const CompareResult& r);

// What the model tables show beside a CompareResult (docs/FORMULAS.md, "Model diagnostics").
struct ModelExtras {
  double eras_per_year = kDefaultErasPerYear;  // Calmar and APY
  std::vector<double> max_feature_exposure;    // per model; empty: no max_feature_corr column
  std::vector<double> churn;                   // per model; empty: no store
};

// Per-model statistics and diagnostics under both formulas. CSV (models.csv): columns
// <formula>_eras, _mean, _std, _sharpe, _max_drawdown, _autocorr, _smart_sharpe, _calmar, _apy
// for each formula, then max_feature_exposure and churn (an empty cell: NaN or not available).
// Terminal: b_eras ... c_max_dd (the statistics only; the diagnostics are diagnostics_table).
Table model_stats_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed, bool csv,
                        const ModelExtras& extras = {});
// The diagnostics on the terminal: b_ac1, b_smart, b_calmar, b_apy, c_..., max_fe, churn ("-":
// not available).
Table diagnostics_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed, const ModelExtras& extras);
// One row "per era": the distribution of the per-era Spearman agreement (terminal).
Table era_agreement_summary(const CompareResult& r);
// Per era: models with both scores and the Spearman agreement (eras.csv).
Table era_agreement_table(const CompareResult& r, const std::vector<std::string>& eras);
// The `top` biggest moves up (or down) of the leaderboard rank (terminal).
Table movers_table(const CompareResult& r, const std::vector<std::string>& models, bool up,
                   std::size_t top);
// Both leaderboard ranks of every listed model and its move (leaderboard.csv).
Table leaderboard_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed);
// Payouts of the staked models (needs r.payouts): terminal, largest change first; CSV, in the
// listed order; the TOTAL row (its own table on the terminal, the last row of the CSV).
Table payout_changes_table(const CompareResult& r, const std::vector<std::string>& models);
Table payout_total_table(const CompareResult& r);
Table payout_table(const CompareResult& r, const std::vector<std::string>& models,
                   std::span<const std::size_t> listed);

}  // namespace backscore
