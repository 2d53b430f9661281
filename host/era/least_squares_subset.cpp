// Projectors on subsets of rows derived from the era's factorization, and their residuals one at a
// time and in batches (see "Subsets of rows" in least_squares.hpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include "host/era/blas.hpp"
#include "host/era/least_squares.hpp"

namespace backscore {

std::optional<LeastSquaresProjector> LeastSquaresProjector::derive_subset(
    const LeastSquaresProjector& full, std::span<const std::uint32_t> rows) {
  const std::size_t N = full.n_, r = full.kept_.size();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] >= N || (i > 0 && rows[i] <= rows[i - 1])) {
      throw std::invalid_argument("LeastSquaresProjector::derive_subset: bad rows");
    }
  }
  if (full.full_ != nullptr || r == 0 || rows.empty()) return std::nullopt;
  const std::size_t m = N - rows.size();
  if (m > r) return std::nullopt;  // the m x m system would cost as much as a fresh QR
  std::vector<std::uint32_t> missing;
  missing.reserve(m);
  for (std::size_t i = 0, next = 0; i < N; ++i) {
    if (next < rows.size() && rows[next] == i) {
      ++next;
    } else {
      missing.push_back(static_cast<std::uint32_t>(i));
    }
  }
  // Rank <= r: the dropped columns stay far below the subset's cutoff (see the header).
  // The first pivot column's norm on S (the largest on all rows, and m << n rows removed) is a
  // lower bound of the subset's largest column norm: O(m), not O(m r) scattered reads.
  double s00 = 0;
  {
    const double* c = full.kept_columns_.data();
    double s = full.norm2_first_;
    for (std::uint32_t i : missing) s -= c[i] * c[i];
    s00 = std::sqrt(std::max(s, 0.0));
  }
  const double dropped = std::sqrt(static_cast<double>(full.k_ - r)) * full.dropped_;
  if (!(dropped <= kDroppedMargin * full.rcond_ * s00)) return std::nullopt;

  LeastSquaresProjector p;
  p.n_ = rows.size();
  p.k_ = full.k_;
  p.rcond_ = full.rcond_;
  p.kept_ = full.kept_;
  p.full_ = &full;
  p.rows_.assign(rows.begin(), rows.end());
  p.missing_ = std::move(missing);
  p.a_.resize(m * r);
  for (std::size_t j = 0; j < r; ++j) {
    const double* q = full.q_.data() + j * N;
    for (std::size_t i = 0; i < m; ++i) p.a_[j * m + i] = q[p.missing_[i]];
  }
  double lambda_min = 1.0;  // of G = I - A^T A (= K's for m <= r; 1 when m = 0)
  if (m > 0) {
    const int mi = static_cast<int>(m), ri = static_cast<int>(r);
    p.chol_.assign(m * m, 0.0);
    for (std::size_t i = 0; i < m; ++i) p.chol_[i * m + i] = 1.0;
    blas::syrk_lower(mi, ri, -1.0, p.a_.data(), mi, 1.0, p.chol_.data(), mi);
    std::vector<double> k = p.chol_, w(m);
    if (blas::syev_values_lower(mi, k.data(), mi, w.data()) != 0) return std::nullopt;
    lambda_min = w[0];
    if (!(lambda_min >= kMinGram)) return std::nullopt;
    if (blas::potrf_lower(mi, p.chol_.data(), mi) != 0) return std::nullopt;
  }
  // Rank >= r: sigma_min(X_S) clears the largest possible subset cutoff (see the header).
  const double sigma = std::sqrt(lambda_min) * full.sigma_min_lower_bound();
  if (!(sigma > kRankMargin * std::sqrt(static_cast<double>(r)) * full.rcond_ * full.r00_)) {
    return std::nullopt;
  }
  return p;
}

void LeastSquaresProjector::derived_residual(const double* x, double proportion,
                                             double* out) const {
  const LeastSquaresProjector& f = *full_;
  const std::size_t N = f.n_, n = n_, r = kept_.size(), m = missing_.size();
  const int Ni = static_cast<int>(N), ri = static_cast<int>(r), mi = static_cast<int>(m);
  thread_local std::vector<double> buf;
  buf.resize(N + r + m);
  double* xf = buf.data();  // x on all rows (0 on the missing ones), later X_kept beta
  double* y = xf + N;       // Q_S^T x, then c, then beta
  double* z = y + r;        // A y, then K^-1 A y
  std::fill(xf, xf + N, 0.0);
  for (std::size_t i = 0; i < n; ++i) xf[rows_[i]] = x[i];
  blas::gemv('T', Ni, ri, 1.0, f.q_.data(), Ni, xf, 0.0, y);
  if (m > 0) {
    blas::gemv('N', mi, ri, 1.0, a_.data(), mi, y, 0.0, z);
    if (blas::potrs_lower(mi, 1, chol_.data(), mi, z, mi) != 0) {
      throw std::runtime_error("LeastSquaresProjector: dpotrs failed");
    }
    blas::gemv('T', mi, ri, 1.0, a_.data(), mi, z, 1.0, y);
  }
  double* beta = y;
  for (std::size_t jj = r; jj-- > 0;) {
    double s = beta[jj];
    for (std::size_t l = jj + 1; l < r; ++l) s -= f.r_[l * r + jj] * beta[l];
    beta[jj] = s / f.r_[jj * r + jj];
  }
  // X_kept beta on every row, each row summed over the columns in the same order (as residual();
  // four columns per pass over the rows, the same operations in the same order).
  const double* c0 = f.kept_columns_.data();
  for (std::size_t i = 0; i < N; ++i) xf[i] = c0[i] * beta[0];
  std::size_t jj = 1;
  for (; jj + 4 <= r; jj += 4) {
    const double* c = f.kept_columns_.data() + jj * N;
    const double b0 = beta[jj], b1 = beta[jj + 1], b2 = beta[jj + 2], b3 = beta[jj + 3];
    for (std::size_t i = 0; i < N; ++i) {
      double v = xf[i];
      v += c[i] * b0;
      v += c[N + i] * b1;
      v += c[2 * N + i] * b2;
      v += c[3 * N + i] * b3;
      xf[i] = v;
    }
  }
  for (; jj < r; ++jj) {
    const double* c = f.kept_columns_.data() + jj * N;
    const double b = beta[jj];
    for (std::size_t i = 0; i < N; ++i) xf[i] += c[i] * b;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - proportion * xf[rows_[i]];
}

void LeastSquaresProjector::derived_residuals(std::span<const LeastSquaresProjector* const> projs,
                                              std::span<const double* const> x,
                                              double proportion, std::span<double* const> out) {
  const std::size_t count = projs.size();
  if (x.size() != count || out.size() != count) {
    throw std::invalid_argument("LeastSquaresProjector::derived_residuals: sizes differ");
  }
  if (count == 0) return;
  const LeastSquaresProjector* full = projs[0]->full_;
  for (const LeastSquaresProjector* p : projs) {
    if (p->full_ == nullptr || p->full_ != full) {
      throw std::invalid_argument(
          "LeastSquaresProjector::derived_residuals: projectors not derived from one factorization");
    }
  }
  const LeastSquaresProjector& f = *full;
  const std::size_t N = f.n_, r = f.kept_.size();
  const int Ni = blas::dim(N), ri = blas::dim(r), w = static_cast<int>(kBlock);
  thread_local std::vector<double> xf, coef, xb, z;
  xf.resize(N * kBlock);
  coef.resize(r * kBlock);
  xb.resize(N * kBlock);
  for (std::size_t c0 = 0; c0 < count; c0 += kBlock) {
    const std::size_t width = std::min(kBlock, count - c0);
    std::fill(xf.begin(), xf.end(), 0.0);
    for (std::size_t j = 0; j < width; ++j) {
      const LeastSquaresProjector& p = *projs[c0 + j];
      double* col = xf.data() + j * N;
      for (std::size_t i = 0; i < p.n_; ++i) col[p.rows_[i]] = x[c0 + j][i];
    }
    // Y = Q^T X_block; then per column c = y + A^T K^-1 (A y) (see derived_residual).
    blas::gemm('T', 'N', ri, w, Ni, 1.0, f.q_.data(), Ni, xf.data(), Ni, 0.0, coef.data(), ri);
    for (std::size_t j = 0; j < width; ++j) {
      const LeastSquaresProjector& p = *projs[c0 + j];
      const std::size_t m = p.missing_.size();
      if (m == 0) continue;
      const int mi = static_cast<int>(m);
      double* y = coef.data() + j * r;
      z.resize(m);
      blas::gemv('N', mi, ri, 1.0, p.a_.data(), mi, y, 0.0, z.data());
      if (blas::potrs_lower(mi, 1, p.chol_.data(), mi, z.data(), mi) != 0) {
        throw std::runtime_error("LeastSquaresProjector: dpotrs failed");
      }
      blas::gemv('T', mi, ri, 1.0, p.a_.data(), mi, z.data(), 1.0, y);
    }
    // B = R^-1 C, X_kept B on every row; each column's residual on its rows.
    blas::trsm_upper_left(ri, w, f.r_.data(), ri, coef.data(), ri);
    blas::gemm('N', 'N', Ni, w, ri, 1.0, f.kept_columns_.data(), Ni, coef.data(), ri, 0.0,
               xb.data(), Ni);
    for (std::size_t j = 0; j < width; ++j) {
      const LeastSquaresProjector& p = *projs[c0 + j];
      const double* fitted = xb.data() + j * N;
      const double* in = x[c0 + j];
      double* o = out[c0 + j];
      for (std::size_t i = 0; i < p.n_; ++i) o[i] = in[i] - proportion * fitted[p.rows_[i]];
    }
  }
}

}  // namespace backscore
