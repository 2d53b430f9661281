// Newey-West standard error of a mean (see newey_west.hpp).
#include "host/report/newey_west.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "host/era/stats.hpp"

namespace backscore {

std::size_t newey_west_lag(std::size_t n) {
  if (n < 2) return 0;
  const auto lag = static_cast<std::size_t>(
      std::floor(4.0 * std::pow(static_cast<double>(n) / 100.0, 2.0 / 9.0)));
  return std::min(lag, n - 1);
}

NeweyWestMean newey_west_mean(std::span<const double> x) {
  std::vector<double> v = finite_values(x);
  NeweyWestMean r;
  r.n = v.size();
  r.lag = newey_west_lag(r.n);
  if (r.n < 2) {
    r.mean = r.n == 1 ? v[0] : std::numeric_limits<double>::quiet_NaN();
    r.se = r.lo = r.hi = std::numeric_limits<double>::quiet_NaN();
    return r;
  }
  const double n = static_cast<double>(r.n);
  double sum = 0;
  for (double e : v) sum += e;
  r.mean = sum / n;
  for (double& e : v) e -= r.mean;
  auto gamma = [&](std::size_t j) {
    double s = 0;
    for (std::size_t t = j; t < v.size(); ++t) s += v[t] * v[t - j];
    return s / n;
  };
  double s = gamma(0);
  for (std::size_t j = 1; j <= r.lag; ++j) {
    s += 2.0 * (1.0 - static_cast<double>(j) / static_cast<double>(r.lag + 1)) * gamma(j);
  }
  constexpr double kZ975 = 1.959963984540054;  // the normal distribution's 97.5% quantile
  r.se = std::sqrt(std::max(s, 0.0) / n);
  r.lo = r.mean - kZ975 * r.se;
  r.hi = r.mean + kZ975 * r.se;
  return r;
}

}  // namespace backscore
