// `backscore report`: one self-contained HTML file (inline SVG drawn here, inline CSS, no
// scripts, no external assets) built from the same computations as `compare` and `audit`. It
// opens with a one-screen summary (each formula's burn-era verdict with its slope and interval,
// the candidate's payout against the baseline's, the biggest leaderboard movers) linking to the
// details: the audit, the payout comparison, the model diagnostics, the cumulative scores of
// selected models, score against the correlation with the meta-model in burn and other eras, the
// per-era distributions and the formula-to-formula Spearman matrix (its table of every pair
// folded below it).
#pragma once

#include <cstddef>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "host/lang/payout_rule.hpp"
#include "host/report/audit.hpp"
#include "host/report/diagnostics.hpp"
#include "io/scores_file.hpp"
#include "io/sim_file.hpp"
#include "io/store.hpp"

namespace backscore {

struct ReportOptions {
  std::vector<std::string> formulas;  // empty = every formula of the scores file, in its order
  std::vector<std::string> models;    // cumulative plots, diagnostics; empty = `n_models` chosen
  std::size_t n_models = 6;           // default choice: most eras scored, then table order
  std::string baseline = "mmc";       // payouts: the rule's formula the candidates replace
  // The summary's candidate: its payout against the baseline's and the leaderboard movers. Empty
  // = the first of `formulas` that is not the baseline.
  std::string candidate;
  std::string payout = "classic-2024";  // payout rule or preset; "none" = no payout section
  std::vector<PayoutParam> payout_params;
  double payout_threshold = std::numeric_limits<double>::quiet_NaN();  // NaN: the rule's default
  double eras_per_year = kDefaultErasPerYear;                          // Calmar, APY
  AuditOptions audit;
};

// The id of every <svg> the report holds for these formulas (the test checks each is rendered):
// cum-F, scatter-F, dist-F per formula, corr-matrix, audit-slopes, and payout-totals when a
// payout section is drawn.
std::vector<std::string> report_plot_ids(const std::vector<std::string>& formulas, bool payouts);

struct ReportSummary {
  std::vector<std::string> formulas;
  std::string candidate;  // "" when there is none (a single formula, the baseline)
  std::vector<std::string> plot_ids;
  bool payouts = false;
  std::string payout_note;  // why there is no payout section, when there is none
};

// Computes everything, renders the page and writes it to `out` under a temporary name renamed
// when complete (nothing is written when any input is bad). Throws InputError for bad input: an
// OptionError (core/error.hpp) naming the ReportOptions field ("formulas", "models",
// "payout", "payout_params", "payout_threshold", "baseline", "candidate", "corr_formula") when
// that option's value is the problem.
// `simulation`, when given, adds its section (simulation_report.hpp) at the end of the page, its
// plots to plot_ids and a link to it to the summary.
ReportSummary write_report(const ScoresFileReader& scores, StoreReader& store,
                           const ReportOptions& o, const std::filesystem::path& out,
                           const SimulationFileReader* simulation = nullptr);

}  // namespace backscore
