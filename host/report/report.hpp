// `backscore report`: one self-contained HTML file (inline SVG drawn here, inline CSS, no
// scripts, no external assets) built from the same computations as `compare` and `audit`:
// cumulative scores of selected models under each formula, score against the correlation with
// the meta-model in burn and other eras, the per-era distribution of each formula, the
// formula-to-formula Spearman matrix, the audit tables and the payout comparison.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "host/report/audit.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore {

struct ReportOptions {
  std::vector<std::string> formulas;   // empty = every formula of the scores file, in its order
  std::vector<std::string> models;     // cumulative-score plots; empty = `n_models` chosen
  std::size_t n_models = 6;            // default choice: most eras scored, then table order
  std::string baseline = "mmc";        // payouts: the rule's formula the candidates replace
  std::string payout = "numerai2024";  // payout rule or preset; "none" = no payout section
  AuditOptions audit;
};

// The id of every <svg> the report holds for these formulas (the test checks each is rendered):
// cum-F, scatter-F, dist-F per formula, corr-matrix, audit-slopes, and payout-totals when a
// payout section is drawn.
std::vector<std::string> report_plot_ids(const std::vector<std::string>& formulas, bool payouts);

struct ReportSummary {
  std::vector<std::string> formulas;
  std::vector<std::string> plot_ids;
  bool payouts = false;
  std::string payout_note;  // why there is no payout section, when there is none
};

// Computes everything, renders the page and writes it to `out` under a temporary name renamed
// when complete (nothing is written when any input is bad). Throws InputError for bad input: an
// OptionError (core/error.hpp) naming the ReportOptions field ("formulas", "models",
// "payout", "baseline", "corr_formula") when that option's value is the problem.
ReportSummary write_report(const ScoresFileReader& scores, StoreReader& store,
                           const ReportOptions& o, const std::filesystem::path& out);

}  // namespace backscore
