// The HTML report (see report.hpp). Numbers come from compare.hpp and audit.hpp; this file only
// lays them out. SVG coordinates are printed with 2 decimals and every choice (models shown,
// points sampled) is deterministic, so the same inputs give the same bytes.
#include "host/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>
#include <optional>

#include "host/report/compare.hpp"
#include "host/report/payout_rule.hpp"
#include "core/error.hpp"
#include "version.hpp"

namespace backscore {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                    "#8c564b", "#e377c2", "#17becf", "#7f7f7f"};
constexpr const char* kBurn = "#d62728";
constexpr const char* kOther = "#1f77b4";

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      case '\'':
        o += "&#39;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string c2(double v) { return fmt("%.2f", v); }  // an SVG coordinate

// A plot area: data ranges mapped onto a W x H canvas inside the margins.
struct Frame {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double W = 760, H = 300, L = 64, R = 150, T = 30, B = 44;
  double px(double x) const { return L + (x - x0) / (x1 - x0) * (W - L - R); }
  double py(double y) const { return H - B - (y - y0) / (y1 - y0) * (H - T - B); }
};

// Widens [lo, hi] a little (and a degenerate or empty range to something drawable).
void pad_range(double& lo, double& hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = -1, hi = 1;
  // A range of a few ulps (scores that differ only in the last bits) is drawn as a flat one:
  // ticks need a step that changes the value when added.
  if (hi - lo <= std::max(std::fabs(lo), std::fabs(hi)) * 1e-9) {
    const double d = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= d, hi += d;
  }
  const double pad = (hi - lo) * 0.05;
  lo -= pad, hi += pad;
}

std::vector<double> nice_ticks(double lo, double hi, int target = 5) {
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> t;
  // Ticks by index, not by accumulation: v + step == v can never loop, and at most a few dozen.
  const double first = std::ceil(lo / step);
  for (int k = 0; k <= 4 * target; ++k) {
    const double v = (first + k) * step;
    if (v > hi + step * 1e-9) break;
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

// Vertical grid lines with their labels at nice ticks of [f.x0, f.x1] (horizontal bar charts).
std::string x_grid(const Frame& f) {
  std::string s;
  for (double x : nice_ticks(f.x0, f.x1)) {
    s += "<line x1=\"" + c2(f.px(x)) + "\" x2=\"" + c2(f.px(x)) + "\" y1=\"" + c2(f.T) +
         "\" y2=\"" + c2(f.H - f.B) + "\" class=\"g\"/><text x=\"" + c2(f.px(x)) + "\" y=\"" +
         c2(f.H - f.B + 16) + "\" text-anchor=\"middle\">" + fmt("%g", x) + "</text>";
  }
  return s;
}

std::string svg_open(const std::string& id, const Frame& f, const std::string& title) {
  return "<svg id=\"" + esc(id) + "\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + c2(f.W) +
         "\" height=\"" + c2(f.H) + "\" viewBox=\"0 0 " + c2(f.W) + " " + c2(f.H) +
         "\" role=\"img\"><title>" + esc(title) + "</title>\n<text x=\"" + c2(f.L) +
         "\" y=\"18\" class=\"t\">" + esc(title) + "</text>\n";
}

// Axes, grid and tick labels. x_labels: when given, x is an era index labelled by name.
std::string axes(const Frame& f, const std::string& xlabel, const std::string& ylabel,
                 const std::vector<std::string>* x_labels = nullptr) {
  std::string s = "<g class=\"ax\">";
  for (double y : nice_ticks(f.y0, f.y1)) {
    s += "<line x1=\"" + c2(f.L) + "\" x2=\"" + c2(f.W - f.R) + "\" y1=\"" + c2(f.py(y)) +
         "\" y2=\"" + c2(f.py(y)) + "\" class=\"g\"/><text x=\"" + c2(f.L - 4) + "\" y=\"" +
         c2(f.py(y) + 4) + "\" text-anchor=\"end\">" + fmt("%g", y) + "</text>";
  }
  std::vector<double> xt;
  if (x_labels) {
    const std::size_t n = x_labels->size();
    const std::size_t step = std::max<std::size_t>(1, (n + 5) / 6);
    for (std::size_t j = 0; j < n; j += step) xt.push_back(static_cast<double>(j));
  } else {
    xt = nice_ticks(f.x0, f.x1);
  }
  for (double x : xt) {
    const std::string label = x_labels ? (*x_labels)[static_cast<std::size_t>(x)] : fmt("%g", x);
    s += "<line x1=\"" + c2(f.px(x)) + "\" x2=\"" + c2(f.px(x)) + "\" y1=\"" + c2(f.H - f.B) +
         "\" y2=\"" + c2(f.H - f.B + 4) + "\"/><text x=\"" + c2(f.px(x)) + "\" y=\"" +
         c2(f.H - f.B + 16) + "\" text-anchor=\"middle\">" + esc(label) + "</text>";
  }
  s += "<rect x=\"" + c2(f.L) + "\" y=\"" + c2(f.T) + "\" width=\"" + c2(f.W - f.L - f.R) +
       "\" height=\"" + c2(f.H - f.T - f.B) + "\" class=\"fr\"/>";
  s += "<text x=\"" + c2((f.L + f.W - f.R) / 2) + "\" y=\"" + c2(f.H - 6) +
       "\" text-anchor=\"middle\">" + esc(xlabel) + "</text>";
  s += "<text transform=\"translate(14 " + c2((f.T + f.H - f.B) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + esc(ylabel) + "</text></g>\n";
  return s;
}

std::string legend(const Frame& f, std::size_t k, const std::string& color,
                   const std::string& label) {
  const double y = f.T + 8 + 16 * static_cast<double>(k);
  return "<rect x=\"" + c2(f.W - f.R + 10) + "\" y=\"" + c2(y - 8) +
         "\" width=\"10\" height=\"10\" fill=\"" + color + "\"/><text x=\"" + c2(f.W - f.R + 24) +
         "\" y=\"" + c2(y + 1) + "\">" + esc(label) + "</text>\n";
}

std::string polyline(const std::vector<std::pair<double, double>>& pts, const Frame& f,
                     const std::string& color, double width = 1.5) {
  if (pts.empty()) return "";
  std::string s = "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + c2(width) +
                  "\" points=\"";
  for (const auto& [x, y] : pts) s += c2(f.px(x)) + "," + c2(f.py(y)) + " ";
  s.back() = '"';
  return s + "/>\n";
}

std::string html_table(const Table& t, const std::string& cls = "") {
  std::string s = "<table" + (cls.empty() ? "" : " class=\"" + cls + "\"") + "><thead><tr>";
  for (const std::string& h : t.header) s += "<th>" + esc(h) + "</th>";
  s += "</tr></thead><tbody>\n";
  for (const auto& row : t.rows) {
    s += "<tr>";
    for (const std::string& c : row) s += "<td>" + esc(c) + "</td>";
    s += "</tr>\n";
  }
  return s + "</tbody></table>\n";
}

// Cumulative score of the selected models under one formula (a missing era adds nothing).
std::string plot_cumulative(const ScoreMatrix& m, const std::vector<std::size_t>& rows,
                            const std::vector<std::string>& models,
                            const std::vector<std::string>& eras) {
  Frame f;
  double lo = 0, hi = 0;
  std::vector<std::vector<std::pair<double, double>>> lines;
  for (std::size_t i : rows) {
    std::vector<std::pair<double, double>> pts;
    double cum = 0;
    for (std::size_t j = 0; j < m.n_eras; ++j) {
      const double v = m.at(i, j);
      if (!std::isfinite(v)) continue;
      cum += v;
      pts.emplace_back(static_cast<double>(j), cum);
      lo = std::min(lo, cum), hi = std::max(hi, cum);
    }
    lines.push_back(std::move(pts));
  }
  pad_range(lo, hi);
  f.x0 = -0.5, f.x1 = static_cast<double>(std::max<std::size_t>(m.n_eras, 1)) - 0.5;
  f.y0 = lo, f.y1 = hi;
  std::string s =
      svg_open("cum-" + m.formula, f, "cumulative " + m.formula + " of selected models");
  s += axes(f, "era", "cumulative " + m.formula, &eras);
  for (std::size_t k = 0; k < rows.size(); ++k) {
    const std::string color = kPalette[k % std::size(kPalette)];
    s += polyline(lines[k], f, color);
    s += legend(f, k, color, models[rows[k]]);
  }
  return s + "</svg>\n";
}

// Score against xcorr, burn and other eras: a deterministic sample of the points (every k-th
// model-era in era-then-model order, at most ~1200 per class) and the mean score per xcorr bin.
std::string plot_scatter(const ScoreMatrix& m, const AuditQuantities& q) {
  Frame f;
  std::vector<std::pair<double, double>> pts[2];  // [0] other, [1] burn
  for (std::size_t j = 0; j < q.n_eras; ++j) {
    for (std::size_t i = 0; i < q.n_models; ++i) {
      const double x = q.xcorr[i * q.n_eras + j], y = m.at(i, j);
      if (std::isfinite(x) && std::isfinite(y)) pts[q.burn(j) ? 1 : 0].emplace_back(x, y);
    }
  }
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& cls : pts) {
    for (const auto& [x, y] : cls) {
      xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y),
      yhi = std::max(yhi, y);
    }
  }
  pad_range(xlo, xhi);
  pad_range(ylo, yhi);
  f.x0 = xlo, f.x1 = xhi, f.y0 = ylo, f.y1 = yhi;
  std::string s = svg_open("scatter-" + m.formula, f,
                           m.formula + " vs correlation with the meta-model (xcorr)");
  s += axes(f, "xcorr (Spearman with the meta-model)", m.formula);
  constexpr int kBins = 12;
  for (int c = 0; c < 2; ++c) {
    const char* color = c ? kBurn : kOther;
    const std::size_t stride = std::max<std::size_t>(1, (pts[c].size() + 1199) / 1200);
    s += "<g fill=\"" + std::string(color) + "\" fill-opacity=\"0.25\">";
    for (std::size_t k = 0; k < pts[c].size(); k += stride) {
      s += "<circle cx=\"" + c2(f.px(pts[c][k].first)) + "\" cy=\"" + c2(f.py(pts[c][k].second)) +
           "\" r=\"1.6\"/>";
    }
    s += "</g>\n";
    double sum[kBins] = {}, count[kBins] = {}, xs[kBins] = {};
    for (const auto& [x, y] : pts[c]) {
      const int b = std::clamp(static_cast<int>((x - xlo) / (xhi - xlo) * kBins), 0, kBins - 1);
      sum[b] += y, xs[b] += x, count[b] += 1;
    }
    std::vector<std::pair<double, double>> means;
    for (int b = 0; b < kBins; ++b) {
      if (count[b] >= 5) means.emplace_back(xs[b] / count[b], sum[b] / count[b]);
    }
    s += polyline(means, f, color, 2.5);
    s += legend(f, static_cast<std::size_t>(c), color,
                (c ? "burn eras (" : "other eras (") + std::to_string(pts[c].size()) + ")");
  }
  s += "<text x=\"" + c2(f.W - f.R + 10) + "\" y=\"" + c2(f.T + 48) +
       "\" class=\"n\">lines: mean per xcorr bin</text>\n";
  return s + "</svg>\n";
}

// Per-era distribution of a formula across models: min-max and quartile bands, the median;
// burn eras shaded.
std::string plot_distribution(const ScoreMatrix& m, const AuditQuantities& q,
                              const std::vector<std::string>& eras) {
  Frame f;
  std::vector<Distribution> d(m.n_eras);
  std::vector<double> col(m.n_models);
  double lo = INFINITY, hi = -INFINITY;
  for (std::size_t j = 0; j < m.n_eras; ++j) {
    for (std::size_t i = 0; i < m.n_models; ++i) col[i] = m.at(i, j);
    d[j] = distribution(col);
    if (d[j].n) lo = std::min(lo, d[j].min), hi = std::max(hi, d[j].max);
  }
  pad_range(lo, hi);
  f.x0 = -0.5, f.x1 = static_cast<double>(std::max<std::size_t>(m.n_eras, 1)) - 0.5;
  f.y0 = lo, f.y1 = hi;
  std::string s = svg_open("dist-" + m.formula, f, "per-era distribution of " + m.formula);
  for (std::size_t j = 0; j < m.n_eras; ++j) {
    if (!q.burn(j)) continue;
    const double x = static_cast<double>(j);
    s += "<rect x=\"" + c2(f.px(x - 0.5)) + "\" y=\"" + c2(f.T) + "\" width=\"" +
         c2(f.px(x + 0.5) - f.px(x - 0.5)) + "\" height=\"" + c2(f.H - f.T - f.B) +
         "\" class=\"burn\"/>";
  }
  s += "\n" + axes(f, "era", m.formula, &eras);
  auto band = [&](double Distribution::*top, double Distribution::*bottom, const char* cls) {
    std::string pts;
    for (std::size_t j = 0; j < m.n_eras; ++j) {
      if (d[j].n) pts += c2(f.px(static_cast<double>(j))) + "," + c2(f.py(d[j].*top)) + " ";
    }
    for (std::size_t j = m.n_eras; j-- > 0;) {
      if (d[j].n) pts += c2(f.px(static_cast<double>(j))) + "," + c2(f.py(d[j].*bottom)) + " ";
    }
    if (pts.empty()) return std::string();
    pts.pop_back();
    return "<polygon class=\"" + std::string(cls) + "\" points=\"" + pts + "\"/>\n";
  };
  s += band(&Distribution::max, &Distribution::min, "b1");
  s += band(&Distribution::q3, &Distribution::q1, "b2");
  std::vector<std::pair<double, double>> med;
  for (std::size_t j = 0; j < m.n_eras; ++j) {
    if (d[j].n) med.emplace_back(static_cast<double>(j), d[j].median);
  }
  s += polyline(med, f, "#08306b", 1.5);
  s += legend(f, 0, "#c6dbef", "min - max");
  s += legend(f, 1, "#6baed6", "quartiles");
  s += legend(f, 2, "#08306b", "median");
  s += legend(f, 3, "#fbe3e3", "burn era");
  return s + "</svg>\n";
}

std::string cell_color(double v) {
  if (!std::isfinite(v)) return "#eeeeee";
  const double a = std::clamp(std::fabs(v), 0.0, 1.0);
  const int fade = static_cast<int>(std::lround(255 - 175 * a));
  char buf[16];
  if (v >= 0) {
    std::snprintf(buf, sizeof buf, "#ff%02x%02x", fade, fade);
  } else {
    std::snprintf(buf, sizeof buf, "#%02x%02xff", fade, fade);
  }
  return buf;
}

std::string plot_corr_matrix(const std::vector<std::string>& names,
                             const std::vector<std::vector<double>>& v) {
  const double cell = 64, left = 120, top = 40;
  const auto K = static_cast<double>(names.size());
  Frame f;
  f.W = left + cell * K + 20, f.H = top + cell * K + 20, f.L = 10;
  std::string s = svg_open("corr-matrix", f, "mean per-era Spearman between formulas");
  for (std::size_t a = 0; a < names.size(); ++a) {
    const double y = top + cell * static_cast<double>(a);
    s += "<text x=\"" + c2(left - 6) + "\" y=\"" + c2(y + cell / 2 + 4) +
         "\" text-anchor=\"end\">" + esc(names[a]) + "</text>";
    for (std::size_t b = 0; b < names.size(); ++b) {
      const double x = left + cell * static_cast<double>(b);
      s += "<rect x=\"" + c2(x) + "\" y=\"" + c2(y) + "\" width=\"" + c2(cell - 2) +
           "\" height=\"" + c2(cell - 2) + "\" fill=\"" + cell_color(v[a][b]) + "\"/><text x=\"" +
           c2(x + cell / 2 - 1) + "\" y=\"" + c2(y + cell / 2 + 4) + "\" text-anchor=\"middle\">" +
           (std::isfinite(v[a][b]) ? fmt("%.2f", v[a][b]) : "-") + "</text>";
    }
    s += "\n";
  }
  for (std::size_t b = 0; b < names.size(); ++b) {
    const double x = left + cell * static_cast<double>(b) + cell / 2;
    s += "<text x=\"" + c2(x) + "\" y=\"" + c2(top + cell * K + 14) +
         "\" text-anchor=\"middle\" class=\"n\">" + esc(names[b]) + "</text>";
  }
  return s + "\n</svg>\n";
}

// Slopes on xcorr with their intervals, burn and other eras, one pair of rows per formula.
std::string plot_slopes(const std::vector<AuditResult>& results) {
  Frame f;
  const double row = 18;
  f.L = 150, f.R = 150, f.T = 30, f.B = 44;
  f.H = f.T + f.B + row * 2 * static_cast<double>(results.size());
  double lo = 0, hi = 0;
  for (const AuditResult& r : results) {
    for (const auto* fit : {&r.burn, &r.other}) {
      if (fit->ok) lo = std::min(lo, fit->lo2), hi = std::max(hi, fit->hi2);
    }
  }
  pad_range(lo, hi);
  f.x0 = lo, f.x1 = hi, f.y0 = 0, f.y1 = 1;
  std::string s = svg_open("audit-slopes", f, "slope of the score on xcorr (95% CI by era)");
  s += x_grid(f);
  s += "<line x1=\"" + c2(f.px(0)) + "\" x2=\"" + c2(f.px(0)) + "\" y1=\"" + c2(f.T) + "\" y2=\"" +
       c2(f.H - f.B) + "\" stroke=\"#000\"/>\n";
  s += "<text x=\"" + c2((f.L + f.W - f.R) / 2) + "\" y=\"" + c2(f.H - 6) +
       "\" text-anchor=\"middle\">slope (&gt; 0: closeness to the meta-model pays)</text>\n";
  double y = f.T + row / 2;
  for (const AuditResult& r : results) {
    for (int k = 0; k < 2; ++k, y += row) {
      const EraFixedEffectsOls::Fit& fit = k == 0 ? r.burn : r.other;
      const char* color = k == 0 ? kBurn : kOther;
      s += "<text x=\"" + c2(f.L - 6) + "\" y=\"" + c2(y + 4) + "\" text-anchor=\"end\">" +
           esc(r.formula) + (k == 0 ? " burn" : " other") + "</text>";
      if (fit.ok) {
        s += "<line x1=\"" + c2(f.px(fit.lo2)) + "\" x2=\"" + c2(f.px(fit.hi2)) + "\" y1=\"" +
             c2(y) + "\" y2=\"" + c2(y) + "\" stroke=\"" + color +
             "\" stroke-width=\"2\"/><circle cx=\"" + c2(f.px(fit.b2)) + "\" cy=\"" + c2(y) +
             "\" r=\"4\" fill=\"" + color + "\"/>";
      }
      s += "\n";
    }
  }
  s += legend(f, 0, kBurn, "burn eras");
  s += legend(f, 1, kOther, "other eras");
  return s + "</svg>\n";
}

std::string plot_payouts(const std::vector<std::pair<std::string, double>>& bars) {
  Frame f;
  const double row = 22;
  f.L = 170, f.R = 40;
  f.H = f.T + f.B + row * static_cast<double>(bars.size());
  double lo = 0, hi = 0;
  for (const auto& b : bars) lo = std::min(lo, b.second), hi = std::max(hi, b.second);
  pad_range(lo, hi);
  f.x0 = lo, f.x1 = hi, f.y0 = 0, f.y1 = 1;
  std::string s = svg_open("payout-totals", f, "total payout (stake x rule) per formula");
  s += x_grid(f);
  double y = f.T + 3;
  for (std::size_t k = 0; k < bars.size(); ++k, y += row) {
    const double v = bars[k].second;
    const double x0 = f.px(std::min(0.0, v)), x1 = f.px(std::max(0.0, v));
    s += "<text x=\"" + c2(f.L - 6) + "\" y=\"" + c2(y + 12) + "\" text-anchor=\"end\">" +
         esc(bars[k].first) + "</text><rect x=\"" + c2(x0) + "\" y=\"" + c2(y) + "\" width=\"" +
         c2(x1 - x0) + "\" height=\"" + c2(row - 6) + "\" fill=\"" +
         (k == 0   ? "#7f7f7f"
          : v >= 0 ? "#2ca02c"
                   : kBurn) +
         "\"/>\n";
  }
  s += "<line x1=\"" + c2(f.px(0)) + "\" x2=\"" + c2(f.px(0)) + "\" y1=\"" + c2(f.T) + "\" y2=\"" +
       c2(f.H - f.B) + "\" stroke=\"#000\"/>\n";
  return s + "</svg>\n";
}

constexpr const char* kStyle = R"(<style>
body{font-family:sans-serif;margin:24px;color:#222;max-width:1100px}
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}
td:first-child,th:first-child{text-align:left}
svg{display:block;margin:8px 0;font-size:11px}
svg .t{font-size:13px;font-weight:bold}svg .n{font-size:10px;fill:#555}
svg .g{stroke:#e5e5e5}svg .fr{fill:none;stroke:#999}svg .ax line{stroke:#999}
svg .burn{fill:#fbe3e3}svg .b1{fill:#c6dbef}svg .b2{fill:#6baed6}
p.note{font-size:13px;color:#444}code{background:#f3f3f3;padding:0 3px}
</style>
)";

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

ReportSummary write_report(const ScoresFileReader& file, const StoreReader& store,
                           const ReportOptions& o, const std::filesystem::path& out) {
  // Every name is checked before the pass over the store.
  ReportSummary sum;
  sum.formulas = o.formulas.empty() ? file.formulas() : o.formulas;
  if (sum.formulas.empty()) throw InputError(file.path().string() + ": the file has no formulas");
  std::vector<ScoreMatrix> m;
  for (const std::string& f : sum.formulas) m.push_back(load_scores(file, f, "--formulas"));
  const ScoreMatrix corr = load_scores(file, o.audit.corr_formula, "--corr-formula");
  const std::vector<std::string>& models = file.models();
  const std::vector<std::string>& eras = file.eras();

  std::vector<std::size_t> shown;
  for (const std::string& name : o.models) {
    const auto it = std::find(models.begin(), models.end(), name);
    if (it == models.end()) {
      throw InputError("--models: " + file.path().string() + " has no model '" + name + "'");
    }
    shown.push_back(static_cast<std::size_t>(it - models.begin()));
  }
  if (shown.empty()) {
    std::vector<std::size_t> order(models.size());
    std::vector<std::size_t> scored(models.size(), 0);
    for (std::size_t i = 0; i < models.size(); ++i) {
      order[i] = i;
      for (double v : m[0].row(i)) scored[i] += std::isfinite(v);
    }
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return scored[a] > scored[b]; });
    for (std::size_t k = 0; k < order.size() && shown.size() < o.n_models; ++k) {
      if (scored[order[k]] > 0) shown.push_back(order[k]);
    }
  }

  // Payouts: the rule, its formulas and the stakes, checked before any heavy work.
  std::optional<PayoutRule> rule;
  std::vector<ScoreMatrix> rule_scores;
  PayoutInput payout;
  if (o.payout == "none") {
    sum.payout_note = "no payout section (--payout none)";
  } else {
    rule = PayoutRule::parse(o.payout);
    for (const std::string& name : rule->names()) {
      if (!file.has_formula(name)) {
        throw InputError("--payout: the rule '" + rule->text() + "' uses '" + name + "' but " +
                         file.path().string() + " has no such formula");
      }
    }
    if (std::find(rule->names().begin(), rule->names().end(), o.baseline) == rule->names().end()) {
      throw InputError("--baseline: the payout rule '" + rule->text() + "' does not use '" +
                       o.baseline + "', so no formula could replace it");
    }
    if (!store.schema().has_stakes) {
      sum.payout_note = "no payout section: the store has no stakes";
      rule.reset();
    } else {
      payout.rule = *rule;
      payout.stakes = read_stakes(store, file);
      for (const std::string& name : rule->names())
        rule_scores.push_back(load_scores(file, name, "--payout"));
      for (const ScoreMatrix& s : rule_scores) payout.baseline_scores.push_back(&s);
    }
  }
  sum.payouts = rule.has_value();
  sum.plot_ids = report_plot_ids(sum.formulas, sum.payouts);

  const AuditQuantities q = audit_quantities(file, store, o.audit);
  std::vector<AuditResult> audits;
  for (const ScoreMatrix& s : m) audits.push_back(audit_formula(s, corr, q, o.audit));

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

  // ---- the page
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>"
      "backscore report</title>\n";
  h += kStyle;
  h += "</head><body>\n<h1>backscore report</h1>\n<p class=\"note\">Scores <code>" +
       esc(file.path().string()) + "</code> (" + esc(file.attribute("program")) +
       ", target <code>" + esc(file.attribute("target")) + "</code>), store <code>" +
       esc(store.path().string()) + "</code>: " + std::to_string(models.size()) + " models, " +
       std::to_string(eras.size()) + " eras, " + std::to_string(q.burn_eras()) +
       " burn eras (the meta-model's " + esc(o.audit.corr_formula) + " &lt; 0). Written by " +
       esc(std::string("backscore ") + kVersion) + ".</p>\n";

  h += "<h2>Cumulative score of selected models</h2>\n<p class=\"note\">Models: " +
       std::string(o.models.empty() ? "the ones scored in the most eras" : "chosen with --models") +
       ". An era a model did not submit adds nothing.</p>\n";
  for (const ScoreMatrix& s : m) h += plot_cumulative(s, shown, models, eras);

  h += "<h2>Score vs correlation with the meta-model</h2>\n<p class=\"note\">xcorr = Spearman "
       "correlation of a model's predictions with the meta-model on the ids it submitted. A "
       "rising red line means that in burn eras, models closer to the meta-model score more: "
       "originality is punished.</p>\n";
  for (const ScoreMatrix& s : m) h += plot_scatter(s, q);

  h += "<h2>Per-era distribution of each formula</h2>\n";
  for (const ScoreMatrix& s : m) h += plot_distribution(s, q, eras);

  h += "<h2>Formula-to-formula correlation</h2>\n<p class=\"note\">Spearman correlation of two "
       "formulas' scores across the models of an era, averaged over eras (cells); overall = over "
       "all model-eras at once.</p>\n";
  h += plot_corr_matrix(sum.formulas, era_rho);
  h += html_table(agreement);

  char tol[160];
  std::snprintf(tol, sizeof tol, "|%s diff| &lt; %g for (a), |xcorr diff| &lt; %g for (b)",
                o.audit.corr_formula.c_str(), o.audit.corr_tol, o.audit.xcorr_tol);
  h += "<h2>Audit of the incentive properties</h2>\n<p class=\"note\">(a) at similar " +
       esc(o.audit.corr_formula) +
       ", the model less correlated with the meta-model should not "
       "score lower; (b) at similar xcorr, the model with the higher " +
       esc(o.audit.corr_formula) + " - meta-model " + esc(o.audit.corr_formula) +
       " should not score lower (pairs within one era, " + tol +
       "). Slopes: the score on xcorr controlling for " + esc(o.audit.corr_formula) +
       " with era fixed effects, 95% intervals clustered by era. Definitions in "
       "docs/FORMULAS.md.</p>\n";
  h += plot_slopes(audits);
  h += html_table(audit_summary_table(audits, false));
  for (const std::string& line : burn_punishment_lines(audits)) {
    h += "<p class=\"note\"><b>" + esc(line) + "</b></p>\n";
  }
  for (const AuditResult& r : audits) {
    for (int p = 0; p < 2; ++p) {
      const PairCheck& c = p == 0 ? r.originality : r.relative;
      if (c.worst.empty()) continue;
      h += "<h3>" + esc(r.formula) + ": worst violations of (" + (p == 0 ? "a" : "b") + ")</h3>\n" +
           html_table(violations_table(r, c, models, eras, false));
    }
  }

  h += "<h2>Payout comparison</h2>\n";
  if (!rule) {
    h += "<p class=\"note\">" + esc(sum.payout_note) + ".</p>\n";
  } else {
    h += "<p class=\"note\">Rule <code>" + esc(rule->text()) +
         "</code>, paid stake x rule per "
         "model-era with the store's stakes; each row puts that formula in place of <code>" +
         esc(o.baseline) + "</code>. A model-era with a NaN score in the rule pays 0.</p>\n";
    const ScoreMatrix& base = rule_scores[static_cast<std::size_t>(
        std::find(rule->names().begin(), rule->names().end(), o.baseline) - rule->names().begin())];
    Table t{{"formula", "staked_model_eras", "total", "change", "change_pct", "models_up",
             "models_down", "nan_model_eras"},
            {}};
    std::vector<std::pair<std::string, double>> bars;
    for (const ScoreMatrix& cand : m) {
      const CompareResult r = compare(base, cand, &payout);
      if (bars.empty()) {
        bars.emplace_back(o.baseline + " (as paid)", r.payout_total.baseline);
        t.rows.push_back({o.baseline + " (as paid)", std::to_string(r.payout_total.staked_eras),
                          fixed(r.payout_total.baseline, 4), fixed(0, 4), fixed(0, 2), "0", "0",
                          std::to_string(r.payout_total.baseline_nan)});
      }
      if (cand.formula == o.baseline) continue;
      std::size_t up = 0, down = 0;
      for (const ModelPayout& p : *r.payouts) {
        up += p.candidate > p.baseline, down += p.candidate < p.baseline;
      }
      const double change = r.payout_total.candidate - r.payout_total.baseline;
      t.rows.push_back({cand.formula, std::to_string(r.payout_total.staked_eras),
                        fixed(r.payout_total.candidate, 4), fixed(change, 4),
                        fixed(100 * change / std::fabs(r.payout_total.baseline), 2),
                        std::to_string(up), std::to_string(down),
                        std::to_string(r.payout_total.candidate_nan)});
      bars.emplace_back(cand.formula, r.payout_total.candidate);
    }
    h += plot_payouts(bars);
    h += html_table(t);
  }
  h += "</body></html>\n";
  write_file_atomically(out, h);
  return sum;
}

}  // namespace backscore
