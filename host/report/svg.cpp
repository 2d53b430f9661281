// The report's drawing primitives (see svg.hpp).
#include "host/report/svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace backscore::svg {

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

std::vector<double> nice_ticks(double lo, double hi, int target) {
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
                 const std::vector<std::string>* x_labels) {
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
                     const std::string& color, double width) {
  if (pts.empty()) return "";
  std::string s = "<polyline fill=\"none\" stroke=\"" + color + "\" stroke-width=\"" + c2(width) +
                  "\" points=\"";
  for (const auto& [x, y] : pts) s += c2(f.px(x)) + "," + c2(f.py(y)) + " ";
  s.back() = '"';
  return s + "/>\n";
}

std::string html_table(const Table& t, const std::string& cls) {
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

}  // namespace backscore::svg
