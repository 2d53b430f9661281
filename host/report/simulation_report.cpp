// The simulation section of `backscore report` (see simulation_report.hpp). Numbers are read
// from the simulation file as written (nothing is resimulated); the intervals come from
// newey_west.hpp, the drawing from svg.hpp. Deterministic to the byte, like the rest of the page.
#include "host/report/simulation_report.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>

#include "host/report/compare.hpp"
#include "host/report/newey_west.hpp"
#include "host/report/report_sections.hpp"
#include "host/report/svg.hpp"
#include "io/pending_file.hpp"
#include "version.hpp"

namespace backscore {

namespace {

using namespace svg;
using report_detail::signed_number;

// Everything the section shows, per rule (r) and era (j).
struct SimulationData {
  std::vector<std::string> rules, texts, eras;
  std::vector<std::vector<double>> mm_corr, effective, gini, stake, paid;
  std::vector<bool> burn;
  bool burn_from_store = true;  // false: from the first rule's mm_corr (the store has none)
};

SimulationData load(const SimulationFileReader& sim) {
  const SimulationHeader& h = sim.header();
  SimulationData d{h.rules, h.rule_texts, h.eras, {}, {}, {}, {}, {}, {}, true};
  for (std::size_t r = 0; r < h.rules.size(); ++r) {
    d.mm_corr.push_back(sim.era_quantity(r, "mm_corr"));
    d.effective.push_back(sim.era_quantity(r, "effective_models"));
    d.gini.push_back(sim.era_quantity(r, "gini"));
    d.stake.push_back(sim.era_quantity(r, "total_stake"));
    d.paid.push_back(sim.era_quantity(r, "paid"));
  }
  // Burn eras: the store's meta-model's numerai_corr < 0; without one, the first rule's.
  const std::vector<double> store = sim.store_mm_corr();
  d.burn_from_store =
      std::any_of(store.begin(), store.end(), [](double v) { return !std::isnan(v); });
  const std::vector<double>* corr = &store;
  if (!d.burn_from_store) corr = d.mm_corr.empty() ? nullptr : &d.mm_corr[0];
  d.burn.assign(h.eras.size(), false);
  for (std::size_t j = 0; corr && j < d.burn.size(); ++j) d.burn[j] = (*corr)[j] < 0;
  return d;
}

// One line per rule over the eras (cumulative: the running sum, a NaN era adding nothing; else
// each finite value), burn eras shaded, the rules in the legend.
std::string plot_rules(const std::string& id, const std::string& title, const std::string& ylabel,
                       const SimulationData& d, const std::vector<std::vector<double>>& series,
                       bool cumulative) {
  Frame f;
  double lo = cumulative ? 0 : INFINITY, hi = cumulative ? 0 : -INFINITY;
  std::vector<std::vector<std::pair<double, double>>> lines;
  for (const std::vector<double>& s : series) {
    std::vector<std::pair<double, double>> pts;
    double cum = 0;
    for (std::size_t j = 0; j < s.size(); ++j) {
      if (!std::isfinite(s[j])) continue;
      const double y = cumulative ? (cum += s[j]) : s[j];
      pts.emplace_back(static_cast<double>(j), y);
      lo = std::min(lo, y), hi = std::max(hi, y);
    }
    lines.push_back(std::move(pts));
  }
  pad_range(lo, hi);
  f.x0 = -0.5, f.x1 = static_cast<double>(std::max<std::size_t>(d.eras.size(), 1)) - 0.5;
  f.y0 = lo, f.y1 = hi;
  std::string s = svg_open(id, f, title);
  // Burn eras: one rectangle per run of consecutive burn eras.
  for (std::size_t j = 0; j < d.burn.size();) {
    if (!d.burn[j]) {
      ++j;
      continue;
    }
    std::size_t end = j;
    while (end < d.burn.size() && d.burn[end]) ++end;
    const double x0 = f.px(static_cast<double>(j) - 0.5), x1 = f.px(static_cast<double>(end) - 0.5);
    s += "<rect x=\"" + c2(x0) + "\" y=\"" + c2(f.T) + "\" width=\"" + c2(x1 - x0) +
         "\" height=\"" + c2(f.H - f.T - f.B) + "\" class=\"burn\"/>";
    j = end;
  }
  s += axes(f, "era", ylabel, &d.eras);
  for (std::size_t r = 0; r < lines.size(); ++r) {
    const std::string color = kPalette[r % std::size(kPalette)];
    s += polyline(lines[r], f, color);
    s += legend(f, r, color, d.rules[r]);
  }
  return s + "</svg>\n";
}

std::string interval(const NeweyWestMean& m) {
  if (std::isnan(m.lo)) return "-";
  return "[" + signed_number(m.lo, 5) + ", " + signed_number(m.hi, 5) + "]";
}

// Which of two rules the interval favours: b when it lies above 0, a when below.
std::string verdict(const NeweyWestMean& m, const std::string& a, const std::string& b) {
  if (std::isnan(m.lo)) return "-";
  if (m.lo > 0) return b;
  if (m.hi < 0) return a;
  return "no clear difference";
}

// Every pair of rules (a before b): the per-era difference b - a of mm_corr, over the whole
// history and over its second half (eras from floor(E/2) on).
Table comparison_table(const SimulationData& d) {
  Table t{{"rule a", "rule b", "eras", "mean mm_corr diff (b - a)", "95% interval", "lag", "better",
           "second-half eras", "second-half mean diff", "second-half 95% interval",
           "second-half lag", "better in the second half"},
          {}};
  const std::size_t E = d.eras.size(), half = E / 2;
  for (std::size_t a = 0; a < d.rules.size(); ++a) {
    for (std::size_t b = a + 1; b < d.rules.size(); ++b) {
      std::vector<double> diff(E);
      for (std::size_t j = 0; j < E; ++j) diff[j] = d.mm_corr[b][j] - d.mm_corr[a][j];
      const NeweyWestMean all = newey_west_mean(diff);
      const NeweyWestMean late = newey_west_mean(std::span<const double>(diff).subspan(half));
      t.rows.push_back({d.rules[a], d.rules[b], std::to_string(all.n), signed_number(all.mean, 5),
                        interval(all), std::to_string(all.lag),
                        verdict(all, d.rules[a], d.rules[b]), std::to_string(late.n),
                        signed_number(late.mean, 5), interval(late), std::to_string(late.lag),
                        verdict(late, d.rules[a], d.rules[b])});
    }
  }
  return t;
}

double finite_mean(std::span<const double> x) {
  double sum = 0;
  std::size_t n = 0;
  for (double v : x) {
    if (std::isfinite(v)) sum += v, ++n;
  }
  return n ? sum / static_cast<double>(n) : NAN;
}

double finite_sum(const std::vector<double>& x) {
  double sum = 0;
  for (double v : x) sum += std::isfinite(v) ? v : 0;
  return sum;
}

double last_finite(const std::vector<double>& x) {
  for (auto it = x.rbegin(); it != x.rend(); ++it) {
    if (std::isfinite(*it)) return *it;
  }
  return NAN;
}

Table rule_summary_table(const SimulationData& d) {
  Table t{{"rule", "mean mm_corr", "second-half mean mm_corr", "mean effective_models", "mean gini",
           "final total_stake", "total paid"},
          {}};
  const std::size_t half = d.eras.size() / 2;
  for (std::size_t r = 0; r < d.rules.size(); ++r) {
    t.rows.push_back({d.rules[r], fixed(finite_mean(d.mm_corr[r]), 5),
                      fixed(finite_mean(std::span<const double>(d.mm_corr[r]).subspan(half)), 5),
                      fixed(finite_mean(d.effective[r]), 2), fixed(finite_mean(d.gini[r]), 4),
                      fixed(last_finite(d.stake[r]), 2), fixed(finite_sum(d.paid[r]), 2)});
  }
  return t;
}

}  // namespace

std::vector<std::string> simulation_plot_ids() {
  return {"sim-cum-mm-corr", "sim-effective-models", "sim-gini", "sim-total-stake"};
}

std::string simulation_section(const SimulationFileReader& sim) {
  const SimulationData d = load(sim);
  const SimulationHeader& h = sim.header();
  std::size_t burn_eras = 0;
  for (bool b : d.burn) burn_eras += b;
  std::string burn_rule =
      d.burn_from_store
          ? "the store's meta-model's numerai_corr &lt; 0"
          : "the store has no meta-model, so burn eras are those where the first rule's (" +
                esc(d.rules.empty() ? std::string("none") : d.rules[0]) +
                ") simulated meta-model has mm_corr &lt; 0";

  std::string s = "<h2 id=\"simulation\">Simulation of payout rules</h2>\n";
  s += "<p class=\"note\">Simulation <code>" + esc(sim.path().string()) +
       "</code> of the store <code>" + esc(h.store) + "</code> (target <code>" + esc(h.target) +
       "</code>, flows " + esc(h.flows) + ", payouts join the stake " +
       std::to_string(h.resolve_lag) + (h.resolve_lag == 1 ? " era" : " eras") +
       " later): " + std::to_string(h.models.size()) + " models, " + std::to_string(h.eras.size()) +
       " eras, " + std::to_string(burn_eras) + " burn eras (" + burn_rule +
       "). Each rule keeps its own stakes; the meta-model of each era is rebuilt from them, and "
       "the payouts feed back. Definitions: docs/FORMULAS.md, \"Simulation\".</p>\n";
  Table rules{{"rule", "expression"}, {}};
  for (std::size_t r = 0; r < d.rules.size(); ++r) rules.rows.push_back({d.rules[r], d.texts[r]});
  s += "<h3 id=\"sim-rules\">Rules</h3>\n" + html_table(rules, "text");  // expressions: left

  s += "<h3 id=\"sim-comparison\">Which rule grows the better meta-model</h3>\n"
       "<p class=\"note\">For each pair of rules, the per-era difference of the rebuilt "
       "meta-model's numerai_corr (mm_corr of b minus a; eras where either is NaN left out), its "
       "mean and 95% interval from Newey-West standard errors (Bartlett weights, lag floor(4 "
       "(n/100)^(2/9)) for n eras: " +
       std::to_string(newey_west_lag(d.eras.size())) +
       " for the whole history; each row's in its lag column). &quot;better&quot; names the rule "
       "the interval favours. The second half (the last " +
       std::to_string(d.eras.size() - d.eras.size() / 2) +
       " eras) shows the rules once the feedback of stakes has had time to act.</p>\n";
  s += html_table(comparison_table(d));
  s += "<h3 id=\"sim-rule-summary\">Per rule</h3>\n"
       "<p class=\"note\">Means over the eras with a value; final total_stake is the last era's; "
       "total paid in NMR (negative: burned).</p>\n";
  s += html_table(rule_summary_table(d));

  s += "<h3 id=\"sim-plots\">Over time</h3>\n<p class=\"note\">One line per rule; shaded: burn "
       "eras (" +
       burn_rule + ").</p>\n";
  const std::vector<std::string> ids = simulation_plot_ids();
  s += plot_rules(ids[0], "cumulative meta-model numerai_corr (mm_corr) per rule",
                  "cumulative mm_corr", d, d.mm_corr, true);
  s += plot_rules(ids[1], "effective number of models (1 / sum w^2) per rule", "effective_models",
                  d, d.effective, false);
  s += plot_rules(ids[2], "Gini coefficient of the stakes per rule", "gini", d, d.gini, false);
  s += plot_rules(ids[3], "total stake per rule (NMR)", "total_stake", d, d.stake, false);
  return s;
}

SimulationReportSummary write_simulation_report(const SimulationFileReader& sim,
                                                const std::filesystem::path& out) {
  std::string h = report_detail::page_head("backscore simulation report");
  h += "<h1>backscore report</h1>\n<p class=\"note\">Written by " +
       esc(std::string("backscore ") + kVersion) + ".</p>\n";
  h += simulation_section(sim);
  h += "</body></html>\n";
  write_file_atomically(out, h);
  return {sim.header().rules.size(), sim.header().eras.size(), simulation_plot_ids()};
}

}  // namespace backscore
