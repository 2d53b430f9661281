// Least-squares neutralization: the part of a vector outside the span of some exposure columns,
// as numerai-tools' neutralize() (np.linalg.lstsq on [features, 1], rcond 1e-6) and the 2020
// example-scripts MMC2 (lstsq on [uniform meta-model, constant], rcond None) compute it. The
// exposures are factorized once per era through LAPACK (shared read-only by every model); one
// model then costs O(n * rank) (residual), a batch of models a few matrix products (residuals).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace backscore {

// Column-pivoted Householder QR of the exposure matrix X (LAPACK dgeqp3: blocked, BLAS-3),
// X P = Q R, with rank detection: the rank is the number of leading diagonal entries of R with
// |R_ii| > rcond * |R_00|. With pivoting |R_00| is the largest column norm and |R_ii| the largest
// norm of what remains of any column after the i columns before it are projected out, so a
// column is kept exactly when its remainder exceeds rcond * (largest column norm).
//
// Why this agrees with lstsq: lstsq (SVD) projects onto the span of the singular vectors whose
// singular value exceeds rcond * s_max. With exactly collinear columns (a duplicated feature, a
// constant feature next to the intercept, f2 = f0 + f1) the redundant directions have singular
// value ~1e-16 * s_max, far below 1e-6 * s_max, and the pivoted QR sees them as remainders of
// ~1e-16 times the largest norm, far below the cutoff: both keep every direction the columns
// span and drop only the redundant ones, so both project onto the same subspace and the residuals
// agree up to rounding, although lstsq's minimum-norm coefficients differ from ours (only X beta
// matters). Which of two duplicated columns the QR keeps does not matter (same span). Pivoting
// makes the decision rank-revealing: the trailing |R_ii| track the small singular values (within
// factors of the dimension), so a QR in column order's failure mode (a small remainder accepted
// early, a larger one rejected later) does not arise. Where it could differ: nearly (not exactly)
// collinear columns with a remainder close to the cutoff. SVD then drops one singular direction
// (a mix of columns) while we drop one whole column, or one of the two keeps a direction the
// other drops; the cutoffs are also measured differently (column remainder vs singular value,
// which can differ by a factor up to sqrt(k)). Both residuals are then accurate only to about
// (cutoff / remainder) relative, so such data cannot be matched better than that anyway.
//
// The residual is formed as x - proportion * X_kept beta with beta = R^-1 Q^T x, the way numpy
// forms df - proportion * X @ lstsq(...): rows with identical (x_i, X_i) get bit-identical
// residuals (each row's sum runs over the same products in the same order), which preserves the
// ties the next ranking step sees.
//
// Threads: the constructor and residual() may be called on any thread; residuals() calls BLAS
// with the thread count the caller set (see blas.hpp). Every output column of residuals() is
// computed in fixed-width blocks of kBlock columns (the last one zero-padded), so it is the same
// bytes whatever the number of columns, their order or the block a column falls in.
class LeastSquaresProjector {
 public:
  // Columns per BLAS call in residuals().
  static constexpr std::size_t kBlock = 32;

  LeastSquaresProjector() = default;  // no rows, no columns: the residual is x itself
  // `columns`: k columns of n values, column-major (stock index fastest), k * n values.
  LeastSquaresProjector(std::span<const double> columns, std::size_t n, std::size_t k,
                        double rcond);

  std::size_t rows() const { return n_; }
  std::size_t columns() const { return k_; }
  std::size_t rank() const { return kept_.size(); }
  // Indices of the original columns that span the space (those the pivoted QR kept), ascending.
  std::span<const std::size_t> kept() const { return kept_; }

  // out = x - proportion * P x, P the orthogonal projection onto the kept columns' span.
  // x and out hold rows() values and must not overlap; `work` holds rank() doubles.
  void residual(const double* x, double proportion, double* out, double* work) const;
  // As above with a per-thread buffer (allocates only when a thread first needs a larger one).
  void residual(const double* x, double proportion, double* out) const;
  // The same for `count` columns at once (x and out: count columns of rows() values), by matrix
  // products: B = R^-1 (Q^T X_block), out = X_block - proportion * X_kept B.
  void residuals(const double* x, std::size_t count, double proportion, double* out) const;

 private:
  std::size_t n_ = 0, k_ = 0;
  std::vector<std::size_t> kept_;     // ascending
  std::vector<double> q_;             // n x rank: Q's first rank columns
  std::vector<double> r_;             // rank x rank, upper triangle, column-major (pivot order)
  std::vector<double> kept_columns_;  // n x rank: the original kept columns, pivot order
};

}  // namespace backscore
