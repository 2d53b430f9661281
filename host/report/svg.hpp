// The drawing primitives of `backscore report`'s page: HTML escaping, number formatting, a plot
// frame mapping data onto an SVG canvas, axes with nice ticks, legends, polylines and HTML tables.
// Coordinates are printed with 2 decimals so the same inputs give the same bytes. Internal to
// host/report.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "host/report/compare.hpp"

namespace backscore::svg {

inline constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd",
                                           "#8c564b", "#e377c2", "#17becf", "#7f7f7f"};
inline constexpr const char* kBurn = "#d62728";
inline constexpr const char* kOther = "#1f77b4";

// Escapes & < > " ' for HTML text and attributes.
std::string esc(const std::string& s);
// printf of one double with format `f`.
std::string fmt(const char* f, double v);
std::string c2(double v);  // an SVG coordinate

// A plot area: data ranges mapped onto a W x H canvas inside the margins.
struct Frame {
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  double W = 760, H = 300, L = 64, R = 150, T = 30, B = 44;
  double px(double x) const { return L + (x - x0) / (x1 - x0) * (W - L - R); }
  double py(double y) const { return H - B - (y - y0) / (y1 - y0) * (H - T - B); }
};

// Widens [lo, hi] a little (and a degenerate or empty range to something drawable).
void pad_range(double& lo, double& hi);
std::vector<double> nice_ticks(double lo, double hi, int target = 5);
// Vertical grid lines with their labels at nice ticks of [f.x0, f.x1] (horizontal bar charts).
std::string x_grid(const Frame& f);
std::string svg_open(const std::string& id, const Frame& f, const std::string& title);
// Axes, grid and tick labels. x_labels: when given, x is an era index labelled by name.
std::string axes(const Frame& f, const std::string& xlabel, const std::string& ylabel,
                 const std::vector<std::string>* x_labels = nullptr);
// The k-th entry of the legend right of the plot.
std::string legend(const Frame& f, std::size_t k, const std::string& color,
                   const std::string& label);
std::string polyline(const std::vector<std::pair<double, double>>& pts, const Frame& f,
                     const std::string& color, double width = 1.5);
std::string html_table(const Table& t, const std::string& cls = "");

}  // namespace backscore::svg
