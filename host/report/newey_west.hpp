// The mean of a time series with a 95% confidence interval from Newey-West (HAC) standard
// errors: the serial correlation of per-era quantities (a meta-model's corr this era and the
// next) would make the plain standard error too small. `backscore report --simulation` uses it
// for the per-era difference of two rules' meta-model corr. Internal to host/report.
#pragma once

#include <cstddef>
#include <span>

namespace backscore {

struct NeweyWestMean {
  std::size_t n = 0;                        // finite observations used
  std::size_t lag = 0;                      // Bartlett lags L
  double mean = 0, se = 0, lo = 0, hi = 0;  // NaN when n < 2
};

// The usual automatic lag for n observations: floor(4 (n / 100)^(2/9)) (Newey and West 1994),
// at most n - 1; 0 when n < 2.
std::size_t newey_west_lag(std::size_t n);

// Mean of the finite values of `x` (NaN ones dropped, the rest kept in order) and its HAC
// standard error: u = x - mean, gamma_j = (1/n) sum_t u_t u_{t-j}, S = gamma_0 + 2 sum_{j=1..L}
// (1 - j/(L+1)) gamma_j (Bartlett weights, so S >= 0), se = sqrt(S / n); the interval is
// mean -/+ 1.959964 se (normal quantile). L = newey_west_lag(n).
NeweyWestMean newey_west_mean(std::span<const double> x);

}  // namespace backscore
