// Least-squares neutralization: the part of a vector outside the span of some exposure columns,
// as numerai-tools' neutralize() (np.linalg.lstsq on [features, 1], rcond 1e-6) and the 2020
// example-scripts MMC2 (lstsq on [uniform meta-model, constant], rcond None) compute it. The
// exposures are factorized once per era through LAPACK (shared read-only by every model); one
// model then costs O(n * rank) (residual), a batch of models a few matrix products (residuals).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
// Subsets of rows (derive_subset): numerai-tools neutralizes a model with missing ids on the rows
// S it submitted, i.e. projects onto the span of X's columns restricted to S. Instead of a fresh
// factorization of X_S (O(n r^2)), the subset's projector is derived from the full one: with
// X_kept = Q R on all n rows and A = Q_M (m x r) the rows of Q of the m missing ids,
// Q_S^T Q_S = G = I - A^T A, and by Woodbury G^-1 = I + A^T (I_m - A A^T)^-1 A, an m x m SPD
// system (Cholesky). For x on S: y = Q_S^T x, c = G^-1 y = y + A^T K^-1 (A y) with
// K = I_m - A A^T, beta = R^-1 c (= the least-squares coefficients of X_kept,S), and the residual
// is x - proportion * X_kept,S beta row by row as above (identical rows stay bit-identical).
// O(n r + m^2 r + m^3) per subset instead of O(n r^2).
//
// The subset's span is X_kept,S's: a column dropped on all rows is (within its remainder) a
// combination of the kept ones on every subset too. The derivation is used only when a fresh
// pivoted QR of X_S would keep exactly the same r directions, decided conservatively (else
// std::nullopt, and the caller factorizes X_S afresh):
//   - rank >= r: every remainder of a pivoted QR of X_S exceeds sigma_min(X_S) / sqrt(r) (if all
//     r kept columns had a remainder <= t after some i < r pivots, X_S would be within
//     sqrt(r) t of a rank-i matrix), and its cutoff is rcond * (largest column norm on S) <=
//     rcond * |R_00|. sigma_min(X_S) >= sqrt(lambda_min(G)) sigma_min(R), lambda_min(G) =
//     lambda_min(K) for m <= r (dsyev), and sigma_min(R) >= 1 / sqrt(|R^-1|_1 |R^-1|_inf)
//     (dtrtri, once per era, on first use). Required: sqrt(lambda_min(G)) sigma_lb(R) >
//     kRankMargin * sqrt(r) * rcond * |R_00|. A subset on which a feature becomes constant, or two
//     features equal, or one a combination of others, makes G singular and fails this.
//   - rank <= r: the columns dropped on all rows have remainders <= |R_rr| (dgeqp3's first
//     dropped diagonal) from span(X_kept) on all rows, so <= |R_rr| on S, and X_S is within
//     sqrt(k - r) |R_rr| of rank r. Required: that is below kDroppedMargin times the subset's
//     cutoff (measured from below by the first pivot column's norm on S). Exact duplicates,
//     constants next to the intercept and exact combinations have remainders ~1e-16 |R_00|, far
//     below; columns dropped near the cutoff (nearly collinear) fall back.
//   - lambda_min(G) >= kMinGram: the Woodbury solve loses accuracy as 1 / lambda_min(K); at 1e-3
//     the residual stays within ~1e-13 relative of a fresh factorization's (ordinary subsets with
//     1-20% of the rows missing and r well below n have lambda_min(G) of ~0.3-0.9).
//   - m <= r (else the m x m system is no cheaper than a fresh factorization).
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
  // Decides as pivoted() (dgeqp3 of all the columns) decides, at a fraction of its cost, by the
  // chain "The constructor's rank decision from an unpivoted QR" at the end of this header, on
  // LAPACK: exact copies and constants dropped by comparison, dgeqrf of the rest, the
  // keep-everything certificate from R^-1 (dtrtri), else dgeqp3 of R only; then dgeqrf + dorgqr
  // of the kept columns. The cuda backend runs the same chain with cuSOLVER (fnc_factorizer.cpp).
  // Non-finite values go to pivoted(). At 5,000 x 2,377 (Numerai's features and the intercept)
  // on one core: ~2.7 s against pivoted()'s ~5.9 s (bench/RESULTS.md).
  LeastSquaresProjector(std::span<const double> columns, std::size_t n, std::size_t k,
                        double rcond);
  // The definition of the rank decision: LAPACK's column-pivoted QR (dgeqp3) of all the columns,
  // as described at the top. The constructor's reference in the tests.
  static LeastSquaresProjector pivoted(std::span<const double> columns, std::size_t n,
                                       std::size_t k, double rcond);
  // How the projector's rank was decided.
  enum class Decision {
    none,         // default-constructed, no columns, from_factors or derived
    certificate,  // every candidate kept: 1 / |row of R^-1| above the cutoff
    pivoted_r,    // dgeqp3 of the candidates' R
    pivoted_x,    // dgeqp3 of all the columns (pivoted(), or non-finite values)
  };
  Decision decision() const { return decision_; }

  // See "Subsets of rows" above. The thresholds of the safety checks:
  static constexpr double kRankMargin = 2.0;
  static constexpr double kDroppedMargin = 1e-3;
  static constexpr double kMinGram = 1e-3;
  // The projector of full's columns on the rows `rows` (ascending, unique, < full.rows()),
  // derived from full's factorization (same rcond), or std::nullopt when that is not safe (the
  // caller then factorizes the subset's columns). full must be a factorization (not itself
  // derived) and must outlive the result. Throws std::invalid_argument on bad rows.
  static std::optional<LeastSquaresProjector> derive_subset(const LeastSquaresProjector& full,
                                                            std::span<const std::uint32_t> rows);
  bool derived() const { return full_ != nullptr; }

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
  // The residuals of `count` columns each on its own projector derived from the same full
  // factorization (derive_subset): column c's values are x[c] (projs[c]->rows() values, on its
  // rows) and its residual goes to out[c]. By matrix products over all the full factorization's
  // rows in fixed-width blocks of kBlock columns (zero on a column's missing rows, the last block
  // zero-padded): Y = Q^T X_block, each column's Woodbury correction, B = R^-1 C, then
  // X_kept B. A column's result depends only on its own values and projector, not on the block it
  // falls in. Threads: as residuals().
  static void derived_residuals(std::span<const LeastSquaresProjector* const> projs,
                                std::span<const double* const> x, double proportion,
                                std::span<double* const> out);

  // ---- Factors computed elsewhere (the cuda backend's device factorization) ----
  // The projector of `columns` (k columns of n values, as the constructor's) from factors of its
  // kept columns that were computed elsewhere: pivot holds the kept column indices in pivot order
  // (rank entries, distinct, < k), q is n x rank with orthonormal columns and r rank x rank upper
  // triangular (column-major) with columns[:, pivot] = q r, r00 is |R_00| of the pivoted QR (the
  // largest column norm) and dropped |R_rr| (the largest remainder of a dropped column; 0 when
  // none, or when the dropped columns' remainders are exactly 0). No factorization is done: given
  // LAPACK's own factors it builds what the constructor builds (the same bytes out of residual(),
  // residuals() and derive_subset()). Throws std::invalid_argument on inconsistent sizes.
  static LeastSquaresProjector from_factors(std::span<const double> columns, std::size_t n,
                                            std::size_t k, double rcond,
                                            std::span<const std::size_t> pivot,
                                            std::vector<double> q, std::vector<double> r,
                                            double r00, double dropped);
  // The factors (empty for rank 0 and for a derived projector): Q's first rank columns
  // (n x rank), R (rank x rank, upper triangle, column-major) and the kept columns, all in pivot
  // order (kept_columns() = q_factor() r_factor()).
  std::span<const double> q_factor() const { return q_; }
  std::span<const double> r_factor() const { return r_; }
  std::span<const double> kept_columns() const { return kept_columns_; }
  // The rank cutoff: rcond * |R_00| (0 for rank 0).
  double cutoff() const { return rcond_ * r00_; }
  double dropped_remainder() const { return dropped_; }

 private:
  std::size_t n_ = 0, k_ = 0;
  std::vector<std::size_t> kept_;     // ascending
  std::vector<double> q_;             // n x rank: Q's first rank columns
  std::vector<double> r_;             // rank x rank, upper triangle, column-major (pivot order)
  std::vector<double> kept_columns_;  // n x rank: the original kept columns, pivot order
  double rcond_ = 0;
  Decision decision_ = Decision::none;
  double r00_ = 0;          // |R_00|: the largest column norm
  double dropped_ = 0;      // |R_rr|: the largest remainder of a dropped column (0: none)
  double norm2_first_ = 0;  // the first pivot column's squared norm
  struct SigmaBound;        // sigma_min(R)'s lower bound, computed on first use
  std::shared_ptr<SigmaBound> sigma_;
  double sigma_min_lower_bound() const;
  // pivoted()'s factorization of columns into this (n_, k_, rcond_ set).
  void factorize_pivoted(std::span<const double> columns);

  // Derived (derive_subset): full_'s factorization, rows_ its rows on which this one projects,
  // missing_ the others, a_ = Q's missing rows (m x rank), chol_ = Cholesky (lower) of
  // I_m - a_ a_^T.
  const LeastSquaresProjector* full_ = nullptr;
  std::vector<std::uint32_t> rows_, missing_;
  std::vector<double> a_, chol_;
  void derived_residual(const double* x, double proportion, double* out) const;
};

// Computes the projector of k columns of n values (column-major) with cutoff rcond. The default,
// an empty function, is the LAPACK constructor above; the cuda backend supplies one that factorizes
// on the device (ColumnScorer::set_fnc_factorizer). It is called on the thread building the era's
// context.
using Factorizer = std::function<LeastSquaresProjector(std::span<const double> columns,
                                                       std::size_t n, std::size_t k, double rcond)>;

// ---- The constructor's rank decision from an unpivoted QR (host/run/cuda/fnc_factorizer.*) ----
// The cuda backend factorizes X = [features, 1] on the device without pivoting (cuSOLVER has no
// pivoted QR) and decides the rank as the constructor's dgeqp3 of X would, from host steps that
// do not grow with n. Why they agree:
//   1. Exact dependencies first (candidate_columns): a column bitwise equal to an earlier one,
//      and a constant column next to a constant column of larger magnitude (or an equal one
//      earlier), have a remainder of exactly 0 once their twin is pivoted, so dgeqp3 keeps one
//      column of each such group and drops the others: candidate_columns keeps the first of
//      equal columns and the largest constant. dgeqp3 keeps the larger of two multiples of one
//      vector (its remainder is larger at every step); which of two EQUAL columns it keeps is
//      decided by rounding in its blocked updates (OpenBLAS keeps a later copy at times), and
//      whichever it keeps spans the same space: the same projection, the same residuals. So the
//      kept sets agree up to which of two equal columns (the tests compare them so).
//   2. The candidates (the largest column norm first, as dgeqp3's first pivot) are factorized
//      without pivoting, X_c = Q R. Every remainder of a pivoted QR of X_c is at least
//      min_j d_j, d_j = dist(x_j, span of the other candidates) = 1 / |row j of R^-1| (a column's
//      remainder after any pivots is at least its remainder after all the others). When
//      min_j d_j > kKeepAllMargin * rcond * (largest norm) (keeps_every_column), dgeqp3 keeps
//      every candidate: rank = the candidates, pivot order = theirs (any order spans the same
//      space; the constructor's own pivot order is not needed for the projection).
//   3. Otherwise (near or exact dependencies among the candidates) the pivoted QR is run on R
//      (pivoted_rank_of_r: dgeqp3 of the m x m R, cost m^3, independent of n): R^T R = X_c^T X_c,
//      so column norms and inner products, hence pivots and |R_ii|, are dgeqp3's of X_c, and the
//      constructor's threshold |R_ii| > rcond |R_00| is applied to them. Rounding differs (R is
//      exact for X_c + E, |E| ~ eps |X|): decisions can differ only for remainders within
//      rounding of the cutoff, where lstsq and the constructor disagree anyway (see the top).
// The candidates of a pivoted QR of `columns` (k columns of n values, column-major): every column
// except those of step 1 above, the one of largest norm first (the first of equal norms), then
// the others in ascending order; and that largest norm (0: no candidate with a nonzero norm).
struct QrCandidates {
  std::vector<std::size_t> order;
  double max_norm = 0;
};
QrCandidates candidate_columns(std::span<const double> columns, std::size_t n, std::size_t k);
// Step 2's certificate: r_inverse is R^-1 (m x m, upper triangle read, column-major) of the
// candidates' unpivoted QR. True when every row's norm is finite and
// 1 / |row j| > kKeepAllMargin * rcond * max_norm.
inline constexpr double kKeepAllMargin = 2.0;
bool keeps_every_column(std::span<const double> r_inverse, std::size_t m, double rcond,
                        double max_norm);
// Step 3: the kept columns in pivot order (indices into the original columns through `order`),
// |R_00| and the largest dropped remainder, decided as the constructor decides, by dgeqp3 of R
// (rows x m, column-major, rows = min(n, m); the upper trapezoid is read). Throws
// std::runtime_error when LAPACK fails.
struct PivotedRank {
  std::vector<std::size_t> pivot;
  double r00 = 0, dropped = 0;
};
PivotedRank pivoted_rank_of_r(std::span<const double> r, std::size_t rows,
                              std::span<const std::size_t> order, double rcond);

}  // namespace backscore
