// Least-squares neutralization: the part of a vector outside the span of some exposure columns,
// as numerai-tools' neutralize() (np.linalg.lstsq on [features, 1], rcond 1e-6) and the 2020
// example-scripts MMC2 (lstsq on [uniform meta-model, constant], rcond None) compute it. The
// exposures are factorized once per era (shared read-only by every model) and each model then
// costs O(n * rank).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace backscore {

// Householder QR of the exposure matrix in column order, with rank detection: column j is
// dropped (gets no reflector, its coefficient is 0) when the norm of what remains of it after the
// earlier kept columns' reflectors is <= rcond * (largest column norm of the matrix).
//
// Why this agrees with lstsq: lstsq (SVD) projects onto the span of the singular vectors whose
// singular value exceeds rcond * s_max. With exactly collinear columns (a duplicated feature, a
// constant feature next to the intercept, f2 = f0 + f1) the redundant directions have singular
// value ~1e-16 * s_max, far below 1e-6 * s_max, so lstsq projects onto the span of the
// independent columns; the QR drops each redundant column (its remainder is rounding noise, far
// below rcond times the largest norm) and projects onto the span of the kept ones: the same
// subspace, hence the same residual up to rounding, although lstsq's minimum-norm coefficients
// differ from ours (only X beta matters). Where it could differ: nearly (not exactly) collinear
// columns with a remainder close to the cutoff. SVD then drops one singular direction (a mix of
// columns) while we drop one whole column, or one of the two keeps a direction the other drops;
// the cutoffs are also measured differently (column remainder vs singular value, which can
// differ by a factor up to sqrt(k)). Both residuals are then accurate only to about
// (cutoff / remainder) relative, so such data cannot be matched better than that anyway.
//
// The residual is formed as x - proportion * X_kept beta with beta from R beta = Q^T x, the way
// numpy forms df - proportion * X @ lstsq(...): rows with identical (x_i, X_i) get bit-identical
// residuals, which preserves the ties the next ranking step sees.
class LeastSquaresProjector {
 public:
  LeastSquaresProjector() = default;  // no rows, no columns: the residual is x itself
  // `columns`: k columns of n values, column-major (stock index fastest), k * n values.
  LeastSquaresProjector(std::span<const double> columns, std::size_t n, std::size_t k,
                        double rcond);

  std::size_t rows() const { return n_; }
  std::size_t columns() const { return k_; }
  std::size_t rank() const { return kept_.size(); }
  // Indices of the columns that got a reflector, ascending.
  std::span<const std::size_t> kept() const { return kept_; }

  // out = x - proportion * P x, P the orthogonal projection onto the kept columns' span.
  // x and out hold rows() values and must not overlap; `work` holds rank() doubles.
  void residual(const double* x, double proportion, double* out, double* work) const;
  // As above with a per-thread buffer (allocates only when a thread first needs a larger one).
  void residual(const double* x, double proportion, double* out) const;

 private:
  std::size_t n_ = 0, k_ = 0;
  std::vector<std::size_t> kept_;
  std::vector<double> reflectors_;    // n x rank: reflector r in rows r..n-1 of column r, v[r] = 1
  std::vector<double> tau_;           // rank
  std::vector<double> r_;             // rank x rank, upper triangle, column-major
  std::vector<double> kept_columns_;  // n x rank: the original kept columns
};

}  // namespace backscore
