// The HTML report (see report.hpp). Numbers come from compare.hpp, audit.hpp and
// diagnostics.hpp; this file computes them once and lays out the page (the summary and the
// diagnostics in report_sections.cpp, the plots in report_plots.cpp). SVG coordinates are
// printed with 2 decimals and every choice (models shown, points sampled) is deterministic, so
// the same inputs give the same bytes.
#include "host/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>

#include "core/error.hpp"
#include "host/lang/payout_rule.hpp"
#include "host/report/churn.hpp"
#include "host/report/compare.hpp"
#include "host/report/payout_input.hpp"
#include "host/report/report_plots.hpp"
#include "host/report/report_sections.hpp"
#include "host/report/simulation_report.hpp"
#include "host/report/svg.hpp"
#include "version.hpp"

namespace backscore {

namespace {

using namespace svg;
using report_detail::section_heading;

std::size_t index_of(const std::vector<std::string>& names, const std::string& name) {
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

// The models of the cumulative plots and the diagnostics: --models, else the n scored in the
// most eras under the first formula (table order among equals).
std::vector<std::size_t> shown_models(const ReportOptions& o, const ScoresFileReader& file,
                                      const ScoreMatrix& first) {
  const std::vector<std::string>& models = file.models();
  std::vector<std::size_t> shown;
  for (const std::string& name : o.models) {
    const std::size_t i = index_of(models, name);
    if (i == models.size()) {
      throw OptionError::about("models", file.path().string() + " has no model '" + name + "'");
    }
    shown.push_back(i);
  }
  if (!shown.empty()) return shown;
  std::vector<std::size_t> order(models.size());
  std::vector<std::size_t> scored(models.size(), 0);
  for (std::size_t i = 0; i < models.size(); ++i) {
    order[i] = i;
    for (double v : first.row(i)) scored[i] += std::isfinite(v);
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scored[a] > scored[b]; });
  for (std::size_t k = 0; k < order.size() && shown.size() < o.n_models; ++k) {
    if (scored[order[k]] > 0) shown.push_back(order[k]);
  }
  return shown;
}

}  // namespace

std::vector<std::string> report_plot_ids(const std::vector<std::string>& formulas, bool payouts) {
  std::vector<std::string> ids;
  for (const char* kind : {"cum-", "scatter-", "dist-"}) {
    for (const std::string& f : formulas) ids.push_back(kind + f);
  }
  ids.push_back("corr-matrix");
  ids.push_back("audit-slopes");
  if (payouts) ids.push_back("payout-totals");
  return ids;
}

ReportSummary write_report(const ScoresFileReader& file, StoreReader& store, const ReportOptions& o,
                           const std::filesystem::path& out,
                           const SimulationFileReader* simulation) {
  // Every name is checked before the pass over the store.
  ReportSummary sum;
  sum.formulas = o.formulas.empty() ? file.formulas() : o.formulas;
  if (sum.formulas.empty()) throw InputError(file.path().string() + ": the file has no formulas");
  std::vector<ScoreMatrix> m;
  for (const std::string& f : sum.formulas) m.push_back(load_scores(file, f, "formulas"));
  const std::vector<std::string>& models = file.models();
  const std::vector<std::string>& eras = file.eras();
  const std::vector<std::size_t> shown = shown_models(o, file, m[0]);

  // The candidate of the summary: named, or the first formula shown that is not the baseline.
  sum.candidate = o.candidate;
  for (std::size_t k = 0; k < m.size() && sum.candidate.empty(); ++k) {
    if (m[k].formula != o.baseline) sum.candidate = m[k].formula;
  }
  std::optional<ScoreMatrix> cand_own;  // the candidate when it is not among the formulas shown
  const std::size_t cand_k = index_of(sum.formulas, sum.candidate);
  if (!sum.candidate.empty() && cand_k == m.size()) {
    cand_own = load_scores(file, sum.candidate, "candidate");
  }
  const ScoreMatrix* cand = sum.candidate.empty() ? nullptr : cand_own ? &*cand_own : &m[cand_k];

  // Payouts: the rule, its formulas and the stakes, checked before any heavy work.
  std::optional<PayoutRule> rule;
  PayoutData payout;
  if (o.payout == "none") {
    sum.payout_note = "no payout section (--payout none)";
  } else {
    rule = PayoutRule::parse(o.payout, o.payout_params);
    if (!std::isnan(o.payout_threshold) && !rule->uses_payout_factor()) {
      throw OptionError::about("payout_threshold", "the payout rule '" + rule->text() +
                                                       "' does not use pf, the payout factor");
    }
    check_rule_formulas(*rule, file, false);
    if (index_of(rule->names(), o.baseline) == rule->names().size()) {
      throw OptionError::about("baseline", "the payout rule '" + rule->text() + "' does not use '" +
                                               o.baseline + "', so no formula could replace it");
    }
    if (!store.schema().has_stakes) {
      sum.payout_note = "no payout section: the store has no stakes";
      rule.reset();
    } else {
      payout = load_payout(*rule, store, file, nullptr, o.payout_threshold);
    }
  }
  sum.payouts = rule.has_value();
  sum.plot_ids = report_plot_ids(sum.formulas, sum.payouts);
  if (simulation) {
    for (std::string& id : simulation_plot_ids()) sum.plot_ids.push_back(std::move(id));
  }
  // The baseline's scores: the rule's copy, else the file's when it has them (movers).
  std::optional<ScoreMatrix> base_own;
  const ScoreMatrix* base = nullptr;
  if (rule) {
    base = &payout.scores[index_of(rule->names(), o.baseline)];
  } else if (file.has_formula(o.baseline)) {
    base_own = load_scores(file, o.baseline, "baseline");
    base = &*base_own;
  }

  ChurnTracker churn(models.size());
  const AuditQuantities q = audit_quantities(file, store, o.audit, &churn);
  std::vector<AuditResult> audits;
  for (const ScoreMatrix& s : m) audits.push_back(audit_formula(s, q.corr, q, o.audit));

  const std::size_t K = m.size();
  std::vector<std::vector<double>> era_rho(K, std::vector<double>(K, 1.0));
  Table agreement{{"formula_a", "formula_b", "mean_era_spearman", "median_era_spearman",
                   "overall_spearman", "model_eras"},
                  {}};
  for (std::size_t a = 0; a < K; ++a) {
    for (std::size_t b = a + 1; b < K; ++b) {
      const CompareResult r = compare(m[a], m[b], nullptr);
      era_rho[a][b] = era_rho[b][a] = r.era_spearman_dist.mean;
      agreement.rows.push_back({m[a].formula, m[b].formula, fixed(r.era_spearman_dist.mean, 4),
                                fixed(r.era_spearman_dist.median, 4), fixed(r.overall_spearman, 4),
                                std::to_string(r.overall_pairs)});
    }
  }

  // Each formula in place of the baseline: payout totals and per-model statistics and APY.
  report_detail::DiagnosticsInput diag;
  diag.shown = shown;
  diag.models = &models;
  diag.eras_per_year = o.eras_per_year;
  diag.churn = churn.churn();
  if (file.has_formula(kMaxFeatureCorrColumn)) {
    diag.max_feature_exposure = mean_by_model(load_scores(file, kMaxFeatureCorrColumn, "formulas"));
  }
  diag.apy_note = rule ? "under " + rule->text() + ", the formula in place of " + o.baseline
                       : "not computed: " + sum.payout_note;
  Table payout_table{{"formula", "staked_model_eras", "total", "change", "change_pct", "models_up",
                      "models_down", "nan_model_eras"},
                     {}};
  std::vector<std::pair<std::string, double>> bars;
  for (const ScoreMatrix& f : m) {
    report_detail::FormulaDiagnostics d{f.formula, {}, {}};
    if (!rule) {
      for (std::size_t i = 0; i < models.size(); ++i) d.stats.push_back(model_stats(f.row(i)));
      diag.formulas.push_back(std::move(d));
      continue;
    }
    const CompareResult r = compare(*base, f, &payout.input);
    d.stats = r.cand_stats;
    for (const ModelPayout& p : *r.payouts) {
      d.apy.push_back(annualized_return(p.candidate_growth, p.staked_eras, o.eras_per_year));
    }
    diag.formulas.push_back(std::move(d));
    if (bars.empty()) {
      bars.emplace_back(o.baseline + " (as paid)", r.payout_total.baseline);
      payout_table.rows.push_back({o.baseline + " (as paid)",
                                   std::to_string(r.payout_total.staked_eras),
                                   fixed(r.payout_total.baseline, 4), fixed(0, 4), fixed(0, 2), "0",
                                   "0", std::to_string(r.payout_total.baseline_nan)});
    }
    if (f.formula == o.baseline) continue;
    std::size_t up = 0, down = 0;
    for (const ModelPayout& p : *r.payouts) {
      up += p.candidate > p.baseline, down += p.candidate < p.baseline;
    }
    const double change = r.payout_total.candidate - r.payout_total.baseline;
    payout_table.rows.push_back(
        {f.formula, std::to_string(r.payout_total.staked_eras), fixed(r.payout_total.candidate, 4),
         fixed(change, 4), fixed(100 * change / std::fabs(r.payout_total.baseline), 2),
         std::to_string(up), std::to_string(down), std::to_string(r.payout_total.candidate_nan)});
    bars.emplace_back(f.formula, r.payout_total.candidate);
  }

  // The summary's candidate against the baseline: payout headline and leaderboard movers.
  report_detail::SummaryInput si;
  si.n_models = models.size();
  si.n_eras = eras.size();
  si.burn_eras = q.burn_eras();
  si.corr_formula = o.audit.corr_formula;
  si.corr_from_store = q.corr_from_store;
  si.audits = &audits;
  si.models = &models;
  si.payout_note = sum.payout_note;
  si.simulation = simulation != nullptr;
  std::optional<CompareResult> head;
  if (base && cand && cand->formula != o.baseline) {
    head = compare(*base, *cand, rule ? &payout.input : nullptr);
    si.movers = &*head;
  } else {
    si.movers_note = cand == nullptr || cand->formula == o.baseline
                         ? "no candidate other than the baseline (--candidate)"
                         : "the scores file has no '" + o.baseline + "' (--baseline)";
  }
  if (rule && head) {
    report_detail::PayoutHeadline p{rule->text(),
                                    o.baseline,
                                    cand->formula,
                                    rule->uses_payout_factor(),
                                    payout.threshold,
                                    head->payout_total,
                                    0,
                                    0};
    for (const ModelPayout& mp : *head->payouts) {
      p.models_up += mp.candidate > mp.baseline, p.models_down += mp.candidate < mp.baseline;
    }
    si.payout = p;
  } else if (rule) {
    si.payout_note = "no candidate other than the baseline to pay in its place (--candidate)";
  }

  // ---- the page
  std::string h = report_detail::page_head("backscore report");
  h += "<h1>backscore report</h1>\n<p class=\"note\">Scores <code>" + esc(file.path().string()) +
       "</code> (" + esc(file.attribute("program")) + ", target <code>" +
       esc(file.attribute("target")) + "</code>), store <code>" + esc(store.path().string()) +
       "</code>. Written by " + esc(std::string("backscore ") + kVersion) + ".</p>\n";
  h += report_detail::summary_section(si);

  char tol[160];
  std::snprintf(tol, sizeof tol, "|%s diff| &lt; %g for (a), |xcorr diff| &lt; %g for (b)",
                o.audit.corr_formula.c_str(), o.audit.corr_tol, o.audit.xcorr_tol);
  h += section_heading("audit") + "<p class=\"note\">(a) at similar " + esc(o.audit.corr_formula) +
       ", the model less correlated with the meta-model should not "
       "score lower; (b) at similar xcorr, the model with the higher " +
       esc(o.audit.corr_formula) + " - meta-model " + esc(o.audit.corr_formula) +
       " should not score lower (pairs within one era, " + tol +
       "). Slopes: the score on xcorr controlling for " + esc(o.audit.corr_formula) +
       " with era fixed effects, 95% intervals clustered by era. Definitions in "
       "docs/FORMULAS.md.</p>\n";
  h += plot_slopes(audits);
  h += html_table(audit_summary_table(audits, false));
  for (const AuditResult& r : audits) {
    for (int p = 0; p < 2; ++p) {
      const PairCheck& c = p == 0 ? r.originality : r.relative;
      if (c.worst.empty()) continue;
      h += "<h3>" + esc(r.formula) + ": worst violations of (" + (p == 0 ? "a" : "b") + ")</h3>\n" +
           html_table(violations_table(r, c, models, eras, false));
    }
  }

  h += section_heading("payouts");
  if (!rule) {
    h += "<p class=\"note\">" + esc(sum.payout_note) + ".</p>\n";
  } else {
    h += "<p class=\"note\">Rule <code>" + esc(rule->text()) + "</code>" +
         (rule->uses_payout_factor() ? " (pf = min(1, " + fmt("%g", payout.threshold) +
                                           " / the era's total stake at risk))"
                                     : std::string()) +
         ", paid stake x rule per model-era with the store's stakes; each row puts that formula "
         "in place of <code>" +
         esc(o.baseline) + "</code>. A model-era with a NaN score in the rule pays 0.</p>\n";
    h += plot_payouts(bars);
    h += html_table(payout_table);
  }

  h += report_detail::diagnostics_section(diag);

  h += section_heading("cumulative") + "<p class=\"note\">Models: " +
       std::string(o.models.empty() ? "the ones scored in the most eras" : "chosen with --models") +
       ". An era a model did not submit adds nothing.</p>\n";
  for (const ScoreMatrix& s : m) h += plot_cumulative(s, shown, models, eras);

  h += section_heading("scatter") +
       "<p class=\"note\">xcorr = Spearman "
       "correlation of a model's predictions with the meta-model on the ids it submitted. A "
       "rising red line means that in burn eras, models closer to the meta-model score more: "
       "originality is punished.</p>\n";
  for (const ScoreMatrix& s : m) h += plot_scatter(s, q);

  h += section_heading("distributions");
  for (const ScoreMatrix& s : m) h += plot_distribution(s, q, eras);

  h += section_heading("agreement") +
       "<p class=\"note\">Spearman correlation of two "
       "formulas' scores across the models of an era, averaged over eras (cells); overall = over "
       "all model-eras at once.</p>\n";
  h += plot_corr_matrix(sum.formulas, era_rho);
  h += "<details><summary>Every pair of formulas (" + std::to_string(agreement.rows.size()) +
       " rows)</summary>\n" + html_table(agreement) + "</details>\n";
  if (simulation) h += simulation_section(*simulation);
  h += "</body></html>\n";
  write_file_atomically(out, h);
  return sum;
}

}  // namespace backscore
