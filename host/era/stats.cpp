// FP64 reductions in numpy's summation order (see stats.hpp).
#include "host/era/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace backscore {

double pairwise_sum(std::span<const double> x) {
  return pairwise_sum_of(x.size(), [&](std::size_t i) { return x[i]; });
}

double mean(std::span<const double> x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  return pairwise_sum(x) / static_cast<double>(x.size());
}

double dot(std::span<const double> x, std::span<const double> y) {
  return pairwise_sum_of(x.size(), [&](std::size_t i) { return x[i] * y[i]; });
}

Centered Centered::of(std::span<const double> x) {
  Centered c;
  c.mean = backscore::mean(x);
  c.ss = pairwise_sum_of(x.size(), [&](std::size_t i) {
    const double d = x[i] - c.mean;
    return d * d;
  });
  return c;
}

double pearson(std::span<const double> x, const Centered& cx, std::span<const double> y,
               const Centered& cy) {
  const std::size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  if (cx.ss == 0 || cy.ss == 0) return std::numeric_limits<double>::quiet_NaN();
  const double sxy =
      pairwise_sum_of(n, [&](std::size_t i) { return (x[i] - cx.mean) * (y[i] - cy.mean); });
  return pearson_from_sums(cx.ss, cy.ss, sxy, n);
}

double pearson(std::span<const double> x, std::span<const double> y) {
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  return pearson(x, Centered::of(x), y, Centered::of(y));
}

double covariance(std::span<const double> x, std::span<const double> y) {
  const std::size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = mean(x), my = mean(y);
  const double sxy = pairwise_sum_of(n, [&](std::size_t i) { return (x[i] - mx) * (y[i] - my); });
  return covariance_from_sum(sxy, n);
}

void finite_values(std::span<const double> x, std::vector<double>& out) {
  out.clear();
  for (double v : x) {
    if (std::isfinite(v)) out.push_back(v);
  }
}

std::vector<double> finite_values(std::span<const double> x) {
  std::vector<double> out;
  out.reserve(x.size());
  finite_values(x, out);
  return out;
}

double std_population(std::span<const double> x) {
  if (x.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double m = mean(x);
  const double ss = pairwise_sum_of(x.size(), [&](std::size_t i) {
    const double d = x[i] - m;
    return d * d;
  });
  return std::sqrt(ss / static_cast<double>(x.size()));
}

bool zero_std(std::span<const double> x) {
  if (x.size() < 2) return false;  // pandas std of one value is NaN, and NaN == 0 is false
  const double m = mean(x);
  return std::all_of(x.begin(), x.end(), [m](double v) { return v == m; });
}

}  // namespace backscore
