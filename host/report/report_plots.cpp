// The plots of `backscore report` (see report_plots.hpp).
#include "host/report/report_plots.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "host/report/svg.hpp"

namespace backscore::svg {

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

namespace {

// A heat-map cell: red for positive, blue for negative, paler towards 0; grey for NaN.
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

}  // namespace

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

}  // namespace backscore::svg
