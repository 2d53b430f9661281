// The report's text sections (report.hpp): the one-screen summary and the model diagnostics, as
// HTML from numbers computed by compare.hpp, audit.hpp and diagnostics.hpp. Internal to
// host/report.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "host/report/audit.hpp"
#include "host/report/compare.hpp"

namespace backscore::report_detail {

// The page's sections in reading order: anchor id and title (the summary links to each).
struct Section {
  const char* id;
  const char* title;
};
const std::vector<Section>& sections();
// <h2 id="ID">TITLE</h2> of the section `id`.
std::string section_heading(const char* id);

// The page's opening up to <body>: doctype, title and the one inline style sheet.
std::string page_head(const std::string& title);
// A number with its sign ("+0.0123", "-0.0123", "0.0000"; "nan").
std::string signed_number(double v, int decimals);

// The payout headline of the summary: the candidate's total against the baseline's.
struct PayoutHeadline {
  std::string rule, baseline, candidate;
  bool uses_pf = false;
  double threshold = 0;
  ModelPayout total;  // baseline and candidate totals
  std::size_t models_up = 0, models_down = 0;
};

struct SummaryInput {
  std::size_t n_models = 0, n_eras = 0, burn_eras = 0;
  std::string corr_formula;
  bool corr_from_store = false;
  const std::vector<AuditResult>* audits = nullptr;
  std::optional<PayoutHeadline> payout;  // none: `payout_note` says why
  std::string payout_note;
  // The candidate against the baseline (leaderboard by mean score), when both are in the file.
  const CompareResult* movers = nullptr;
  std::string movers_note;  // why there are no movers, when there are none
  const std::vector<std::string>* models = nullptr;
  std::size_t top = 5;  // movers shown each way
  bool simulation = false;  // the page has a simulation section (linked after the others)
};
std::string summary_section(const SummaryInput& in);

// One formula's per-model diagnostics (model table order).
struct FormulaDiagnostics {
  std::string formula;
  std::vector<ModelStats> stats;
  std::vector<double> apy;  // empty: no payouts
};
struct DiagnosticsInput {
  std::vector<FormulaDiagnostics> formulas;
  std::vector<std::size_t> shown;  // the selected models
  const std::vector<std::string>* models = nullptr;
  std::vector<double> max_feature_exposure;  // empty: the scores file has no max_feature_corr
  std::vector<double> churn;                 // per model
  double eras_per_year = 52;
  std::string apy_note;  // what APY is paid under, or why there is none
};
std::string diagnostics_section(const DiagnosticsInput& in);

}  // namespace backscore::report_detail
