// FP64 reductions with numpy's summation order, so means and sums match numpy and pandas bit for
// bit and every result is independent of thread count: pairwise summation, mean, dot product,
// Pearson correlation (np.corrcoef), covariance (np.cov, ddof 1) and population std (np.std).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>
#include <vector>

namespace backscore {

// np.corrcoef from the centered sums of squares and cross products of `count` pairs, in the
// order numpy forms it: c * (1 / (count - 1)), divided by the two standard deviations in turn,
// clipped to [-1, 1]. NaN when count < 2 or either side has zero variance.
inline double pearson_from_sums(double sxx, double syy, double sxy, std::size_t count) {
  if (count < 2) return std::numeric_limits<double>::quiet_NaN();
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();
  const double inv = 1.0 / static_cast<double>(count - 1);
  const double r = sxy * inv / std::sqrt(sxx * inv) / std::sqrt(syy * inv);
  return std::clamp(r, -1.0, 1.0);
}

// np.cov (ddof 1) from the centered sum of cross products of `count` pairs.
inline double covariance_from_sum(double sxy, std::size_t count) {
  if (count < 2) return std::numeric_limits<double>::quiet_NaN();
  return sxy * (1.0 / static_cast<double>(count - 1));
}

namespace stats_detail {
// numpy's pairwise_sum (umath loops, PW_BLOCKSIZE 128, 8-way unrolled leaves), over term(i).
template <class Term>
double pairwise(std::size_t first, std::size_t n, const Term& term) {
  if (n < 8) {
    double res = -0.0;
    for (std::size_t i = 0; i < n; ++i) res += term(first + i);
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (std::size_t j = 0; j < 8; ++j) r[j] = term(first + j);
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (std::size_t j = 0; j < 8; ++j) r[j] += term(first + i + j);
    }
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += term(first + i);
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise(first, n2, term) + pairwise(first + n2, n - n2, term);
}
}  // namespace stats_detail

// sum over i < n of term(i), in numpy's pairwise order. np.add.reduce starts from the identity
// 0.0, hence the leading 0.0 + (which also turns a -0.0 sum into 0.0, as numpy does).
template <class Term>
double pairwise_sum_of(std::size_t n, const Term& term) {
  return 0.0 + stats_detail::pairwise(0, n, term);
}

// np.sum(x): bit-identical to numpy for contiguous float64.
double pairwise_sum(std::span<const double> x);
// np.mean(x) and pandas Series.mean() (sum / count) bit for bit; NaN for an empty span.
double mean(std::span<const double> x);
// sum of x_i * y_i in pairwise order (numpy uses BLAS here, so this agrees to rounding only).
double dot(std::span<const double> x, std::span<const double> y);
// np.corrcoef(x, y)[0, 1]: center by the means, c = X X^T * (1/(n-1)), divide by the two
// standard deviations in that order, clip to [-1, 1]. NaN when n < 2 or either side has zero
// variance (every centered value exactly 0: the case where numpy divides 0 by 0).
double pearson(std::span<const double> x, std::span<const double> y);
// One side of pearson: its mean and centered sum of squares. pearson(x, cx, y, cy) with
// cx = Centered::of(x), cy = Centered::of(y) is pearson(x, y) bit for bit, so a vector
// correlated with many others is centered once (simulate's xcorr).
struct Centered {
  double mean = 0, ss = 0;
  static Centered of(std::span<const double> x);
};
double pearson(std::span<const double> x, const Centered& cx, std::span<const double> y,
               const Centered& cy);
// np.cov(x, y)[0, 1] (ddof 1); NaN when n < 2.
double covariance(std::span<const double> x, std::span<const double> y);
// np.std(x) (ddof 0), = pandas std(ddof=0).
double std_population(std::span<const double> x);
// The finite values of x, in order, into out (cleared first; its capacity is reused): what the
// report's statistics take of a model's or an era's scores (NaN: not scored).
void finite_values(std::span<const double> x, std::vector<double>& out);
std::vector<double> finite_values(std::span<const double> x);
// pandas `std() == 0` (any ddof, n >= 2): every value equals the (pairwise) mean exactly.
bool zero_std(std::span<const double> x);

}  // namespace backscore
