// The tables of `backscore compare` (terminal and CSV) built from a CompareResult, so the CLI
// only wires options to calls and prints. Terminal numbers have fixed decimals, CSV numbers 17
// significant digits (csv_number).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "host/report/compare.hpp"

namespace backscore {

// The models listed in the per-model tables: those scored under either formula, best baseline
// rank first (unranked last, model-table order kept among equals).
std::vector<std::size_t> listed_models(const CompareResult& r);

// Per-model statistics under both formulas. CSV: columns <formula>_eras, _mean, _std, _sharpe,
// _max_drawdown; terminal: b_eras ... c_max_dd.
Table model_stats_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed, bool csv);
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
