// The report's summary and diagnostics sections (see report_sections.hpp).
#include "host/report/report_sections.hpp"

#include <cmath>

#include "host/report/compare_tables.hpp"
#include "host/report/diagnostics.hpp"
#include "host/report/svg.hpp"

namespace backscore::report_detail {

using svg::esc;

const std::vector<Section>& sections() {
  static const std::vector<Section> kSections = {
      {"summary", "Summary"},
      {"audit", "Audit of the incentive properties"},
      {"payouts", "Payout comparison"},
      {"diagnostics", "Model diagnostics"},
      {"cumulative", "Cumulative score of selected models"},
      {"scatter", "Score vs correlation with the meta-model"},
      {"distributions", "Per-era distribution of each formula"},
      {"agreement", "Formula-to-formula correlation"},
  };
  return kSections;
}

std::string section_heading(const char* id) {
  for (const Section& s : sections()) {
    if (std::string(s.id) == id) {
      return "<h2 id=\"" + std::string(s.id) + "\">" + esc(s.title) + "</h2>\n";
    }
  }
  return "<h2>" + esc(id) + "</h2>\n";
}

std::string signed_number(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  return (v > 0 ? "+" : "") + fixed(v, decimals);
}

std::string page_head(const std::string& title) {
  static constexpr const char* kStyle = R"(<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
h3{font-size:14px;margin-bottom:2px}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
table.text td,table.text th{text-align:left}
svg{display:block;margin:8px 0;font-size:11px}
svg .t{font-size:13px;font-weight:bold}svg .n{font-size:10px;fill:#555}
svg .g{stroke:#e5e5e5}svg .fr{fill:none;stroke:#999}svg .ax line{stroke:#999}
svg .burn{fill:#fbe3e3}svg .b1{fill:#c6dbef}svg .b2{fill:#6baed6}
p.note{font-size:13px;color:#444}code{background:#f3f3f3;padding:0 3px}
summary{cursor:pointer;font-size:13px;color:#444}
</style>
)";
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + esc(title) +
         "</title>\n" + kStyle + "</head><body>\n";
}

namespace {

std::string percent(double rate) { return std::isnan(rate) ? "-" : fixed(100 * rate, 2) + "%"; }

std::string interval(const EraFixedEffectsOls::Fit& f) {
  if (!f.ok) return "-";
  return "[" + signed_number(f.lo2, 4) + ", " + signed_number(f.hi2, 4) + "]";
}

std::string payout_sentence(const PayoutHeadline& p) {
  const double change = p.total.candidate - p.total.baseline;
  const double pct = 100 * change / std::fabs(p.total.baseline);
  std::string s = "<p><b>Payouts.</b> Under <code>" + esc(p.rule) + "</code>";
  if (p.uses_pf) {
    s += " (pf = min(1, " + esc(svg::fmt("%g", p.threshold)) + " / the era's total stake at risk))";
  }
  s += ", paying <b>" + esc(p.candidate) + "</b> in place of <b>" + esc(p.baseline) +
       "</b> moves the total payout over " + std::to_string(p.total.staked_eras) +
       " staked model-eras from " + fixed(p.total.baseline, 4) + " to " +
       fixed(p.total.candidate, 4) + " NMR (" + signed_number(change, 4) + ", " +
       signed_number(pct, 2) + "%): " + std::to_string(p.models_up) + " models gain, " +
       std::to_string(p.models_down) +
       " lose. Model-eras paid 0 for a missing score: " + std::to_string(p.total.baseline_nan) +
       " as paid, " + std::to_string(p.total.candidate_nan) + " under " + esc(p.candidate) +
       ". <a href=\"#payouts\">Every formula</a>.</p>\n";
  return s;
}

}  // namespace

std::string summary_section(const SummaryInput& in) {
  std::string h = section_heading("summary");
  h += "<p class=\"note\">" + std::to_string(in.n_models) + " models, " +
       std::to_string(in.n_eras) + " eras, " + std::to_string(in.burn_eras) +
       " burn eras (the meta-model's " + esc(in.corr_formula) + " &lt; 0)" +
       (in.corr_from_store ? "; each model-era's " + esc(in.corr_formula) +
                                 " computed from the store (the scores file has no such column)"
                           : std::string()) +
       ". Details:";
  std::string links;
  for (const Section& s : sections()) {
    if (std::string(s.id) == "summary") continue;
    links += std::string(links.empty() ? "" : " &middot;") + " <a href=\"#" + s.id + "\">" +
             esc(s.title) + "</a>";
  }
  if (in.simulation) links += " &middot; <a href=\"#simulation\">Simulation of payout rules</a>";
  h += links + ".</p>\n";

  Table verdicts{{"formula", "burn-era slope on xcorr", "95% interval", "burn-era verdict",
                  "other-era slope", "other-era interval", "(a) violated", "(b) violated"},
                 {}};
  for (const AuditResult& r : *in.audits) {
    verdicts.rows.push_back({r.formula, signed_number(r.burn.b2, 4), interval(r.burn),
                             burn_verdict(r), signed_number(r.other.b2, 4), interval(r.other),
                             percent(r.originality.rate()), percent(r.relative.rate())});
  }
  h += "<p><b>Does the formula punish originality in burn eras?</b> The slope of the score on "
       "xcorr (the correlation with the meta-model) at equal " +
       esc(in.corr_formula) +
       ", with era fixed effects: an interval above 0 means models closer to the meta-model "
       "score more. <a href=\"#audit\">The audit</a>.</p>\n";
  h += svg::html_table(verdicts);
  for (const std::string& line : burn_punishment_lines(*in.audits)) {
    h += "<p class=\"note\"><b>" + esc(line) + "</b></p>\n";
  }

  if (in.payout) {
    h += payout_sentence(*in.payout);
  } else {
    h += "<p><b>Payouts.</b> " + esc(in.payout_note) + ".</p>\n";
  }

  if (in.movers) {
    const CompareResult& r = *in.movers;
    Table t = movers_table(r, *in.models, true, in.top);
    const Table down = movers_table(r, *in.models, false, in.top);
    t.rows.insert(t.rows.end(), down.rows.begin(), down.rows.end());
    h += "<p><b>Biggest movers</b> of the leaderboard (rank by mean score) from " +
         esc(r.baseline) + " to " + esc(r.candidate) + ": the " + std::to_string(in.top) +
         " largest moves up, then down. <a href=\"#diagnostics\">Model diagnostics</a>.</p>\n";
    h += t.rows.empty() ? "<p class=\"note\">(no model moved)</p>\n" : svg::html_table(t);
  } else {
    h += "<p><b>Biggest movers.</b> " + esc(in.movers_note) + ".</p>\n";
  }
  return h;
}

std::string diagnostics_section(const DiagnosticsInput& in) {
  const double per_year = in.eras_per_year;
  const std::string py = svg::fmt("%g", per_year);
  std::string h = section_heading("diagnostics");
  h += "<p class=\"note\">Per model and formula, over the eras it was scored in (docs/FORMULAS.md, "
       "\"Model diagnostics\"): Sharpe = mean / std (ddof 0); autocorr = lag-1 autocorrelation "
       "of the era scores; smart Sharpe = mean / (std (ddof 1) x the autocorrelation penalty of "
       "Lo (2002)); max drawdown of the cumulative score; Calmar = " +
       py +
       " x mean / max drawdown; APY = the payout rule compounded over the model's staked "
       "eras, annualized at " +
       py + " eras a year (" + esc(in.apy_note) +
       "). Max feature exposure = mean over eras of max_feature_corr; churn = mean over "
       "consecutive eras of 1 - Pearson(predictions, the previous era's) on their common "
       "ids.</p>\n";

  auto median = [](const std::vector<double>& v) { return distribution(v).median; };
  Table all{{"formula", "models", "mean", "sharpe", "smart_sharpe", "autocorr", "max_drawdown",
             "calmar", "apy"},
            {}};
  for (const FormulaDiagnostics& f : in.formulas) {
    std::vector<double> mean, sharpe, smart, ac, dd, calmar;
    std::size_t scored = 0;
    for (const ModelStats& s : f.stats) {
      if (s.n_eras == 0) continue;
      ++scored;
      mean.push_back(s.mean);
      sharpe.push_back(s.sharpe);
      smart.push_back(s.smart_sharpe);
      ac.push_back(s.autocorr);
      dd.push_back(s.max_drawdown);
      calmar.push_back(calmar_ratio(s.mean, s.max_drawdown, per_year));
    }
    all.rows.push_back({f.formula, std::to_string(scored), fixed(median(mean), 5),
                        fixed(median(sharpe), 3), fixed(median(smart), 3), fixed(median(ac), 3),
                        fixed(median(dd), 4), fixed(median(calmar), 3),
                        f.apy.empty() ? "-" : fixed(median(f.apy), 4)});
  }
  h += "<h3>Each formula, median over its models</h3>\n" + svg::html_table(all);

  Table shown{{"model", "formula", "eras", "mean", "std", "sharpe", "smart_sharpe", "autocorr",
               "max_drawdown", "calmar", "apy"},
              {}};
  for (std::size_t i : in.shown) {
    for (const FormulaDiagnostics& f : in.formulas) {
      const ModelStats& s = f.stats[i];
      shown.rows.push_back({(*in.models)[i], f.formula, std::to_string(s.n_eras), fixed(s.mean, 5),
                            fixed(s.std, 5), fixed(s.sharpe, 3), fixed(s.smart_sharpe, 3),
                            fixed(s.autocorr, 3), fixed(s.max_drawdown, 4),
                            fixed(calmar_ratio(s.mean, s.max_drawdown, per_year), 3),
                            f.apy.empty() ? "-" : fixed(f.apy[i], 4)});
    }
  }
  h += "<h3>Selected models</h3>\n" + svg::html_table(shown);

  auto cell = [](const std::vector<double>& v, std::size_t i) {
    return v.empty() ? std::string("-") : fixed(v[i], 4);
  };
  auto median_cell = [&](const std::vector<double>& v) {
    return v.empty() ? std::string("-") : fixed(median(v), 4);
  };
  Table per_model{
      {"model", "max_feature_exposure", "churn"},
      {{"all models (median)", median_cell(in.max_feature_exposure), median_cell(in.churn)}}};
  for (std::size_t i : in.shown) {
    per_model.rows.push_back(
        {(*in.models)[i], cell(in.max_feature_exposure, i), cell(in.churn, i)});
  }
  h += "<h3>Whatever the formula</h3>\n" + svg::html_table(per_model);
  return h;
}

}  // namespace backscore::report_detail
