// The model diagnostics (see diagnostics.hpp).
#include "host/report/diagnostics.hpp"

#include <cmath>
#include <limits>

#include "host/era/stats.hpp"
#include "host/report/compare.hpp"

namespace backscore {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

double autocorrelation_lag1(std::span<const double> x) {
  if (x.size() < 3) return kNaN;
  return pearson(x.first(x.size() - 1), x.subspan(1));
}

double autocorrelation_penalty(std::size_t n, double rho) {
  if (std::isnan(rho) || n == 0) return kNaN;
  const double N = static_cast<double>(n);
  double sum = 0, power = 1;
  for (std::size_t i = 1; i < n; ++i) {
    power *= rho;
    sum += (N - static_cast<double>(i)) / N * power;
  }
  const double radicand = 1 + 2 * sum;
  return radicand > 0 ? std::sqrt(radicand) : kNaN;
}

double smart_sharpe(std::span<const double> x) {
  if (x.size() < 3) return kNaN;
  const double sd = std::sqrt(covariance(x, x));  // np.std(x, ddof=1)
  const double penalty = autocorrelation_penalty(x.size(), autocorrelation_lag1(x));
  if (!(sd > 0) || std::isnan(penalty)) return kNaN;
  return mean(x) / (sd * penalty);
}

double calmar_ratio(double mean_score, double max_drawdown, double eras_per_year) {
  if (!(max_drawdown > 0)) return kNaN;
  return eras_per_year * mean_score / max_drawdown;
}

double annualized_return(double growth, std::size_t eras, double eras_per_year) {
  if (eras == 0 || std::isnan(growth)) return kNaN;
  return std::pow(growth, eras_per_year / static_cast<double>(eras)) - 1;
}

std::vector<double> mean_by_model(const ScoreMatrix& m) {
  std::vector<double> out(m.n_models, kNaN), finite;
  for (std::size_t i = 0; i < m.n_models; ++i) {
    finite_values(m.row(i), finite);
    if (!finite.empty()) out[i] = mean(finite);
  }
  return out;
}

}  // namespace backscore
