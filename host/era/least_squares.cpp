// Column-pivoted QR with rank detection through LAPACK (see least_squares.hpp).
#include "host/era/least_squares.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "host/era/blas.hpp"

namespace backscore {
namespace {

int as_int(std::size_t v) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error("LeastSquaresProjector: dimension too large for LAPACK");
  }
  return static_cast<int>(v);
}

}  // namespace

struct LeastSquaresProjector::SigmaBound {
  std::once_flag once;
  double value = 0;
};

LeastSquaresProjector::LeastSquaresProjector(std::span<const double> columns, std::size_t n,
                                             std::size_t k, double rcond)
    : n_(n), k_(k), rcond_(rcond) {
  if (n == 0 || k == 0) return;
  const int ni = as_int(n), ki = as_int(k);
  as_int(n * k);
  std::vector<double> a(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(n * k));
  std::vector<int> jpvt(k, 0);
  std::vector<double> tau(std::min(n, k));
  if (blas::geqp3(ni, ki, a.data(), ni, jpvt.data(), tau.data()) != 0) {
    throw std::runtime_error("LeastSquaresProjector: dgeqp3 failed");
  }
  // |R_00| is the largest column norm; keep the leading columns whose remainder exceeds the
  // cutoff (with pivoting the remainders are non-increasing, so the first one at or below it
  // ends the kept set). A zero or non-finite matrix keeps nothing, as lstsq's beta = 0.
  const double tol = rcond * std::abs(a[0]);
  std::size_t r = 0;
  const std::size_t steps = std::min(n, k);
  while (r < steps && std::abs(a[r * n + r]) > tol && std::isfinite(a[r * n + r])) ++r;
  if (r == 0) return;
  r00_ = std::abs(a[0]);
  if (r < steps) {
    const double d = std::abs(a[r * n + r]);
    dropped_ = std::isfinite(d) ? d : std::numeric_limits<double>::infinity();
  }
  sigma_ = std::make_shared<SigmaBound>();
  std::vector<std::size_t> pivot(r);
  for (std::size_t j = 0; j < r; ++j) pivot[j] = static_cast<std::size_t>(jpvt[j] - 1);
  kept_ = pivot;
  std::sort(kept_.begin(), kept_.end());
  r_.assign(r * r, 0.0);
  for (std::size_t j = 0; j < r; ++j) {
    for (std::size_t i = 0; i <= j; ++i) r_[j * r + i] = a[j * n + i];
  }
  kept_columns_.resize(n * r);
  for (std::size_t j = 0; j < r; ++j) {
    std::memcpy(kept_columns_.data() + j * n, columns.data() + pivot[j] * n, n * sizeof(double));
  }
  for (std::size_t i = 0; i < n; ++i) norm2_first_ += kept_columns_[i] * kept_columns_[i];
  const int ri = static_cast<int>(r);
  if (blas::orgqr(ni, ri, ri, a.data(), ni, tau.data()) != 0) {
    throw std::runtime_error("LeastSquaresProjector: dorgqr failed");
  }
  a.resize(n * r);
  q_ = std::move(a);
}

double LeastSquaresProjector::sigma_min_lower_bound() const {
  std::call_once(sigma_->once, [this] {
    // sigma_min(R) = 1 / |R^-1|_2 >= 1 / sqrt(|R^-1|_1 |R^-1|_inf).
    const std::size_t r = kept_.size();
    std::vector<double> inv = r_;
    if (blas::trtri_upper(static_cast<int>(r), inv.data(), static_cast<int>(r)) != 0) return;
    std::vector<double> row_sum(r, 0.0);
    double norm1 = 0;
    for (std::size_t j = 0; j < r; ++j) {
      double col = 0;
      for (std::size_t i = 0; i <= j; ++i) {
        const double v = std::abs(inv[j * r + i]);
        col += v;
        row_sum[i] += v;
      }
      norm1 = std::max(norm1, col);
    }
    const double norm_inf = *std::max_element(row_sum.begin(), row_sum.end());
    const double bound = 1.0 / std::sqrt(norm1 * norm_inf);
    sigma_->value = std::isfinite(bound) ? bound : 0.0;
  });
  return sigma_->value;
}

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

void LeastSquaresProjector::residual(const double* x, double proportion, double* out,
                                     double* work) const {
  if (full_ != nullptr) {
    derived_residual(x, proportion, out);
    return;
  }
  const std::size_t n = n_, rank = kept_.size();
  if (rank == 0) {
    // Nothing to project on: P x = 0 (numpy: lstsq of a zero matrix gives beta = 0).
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - proportion * 0.0;
    return;
  }
  const int ni = static_cast<int>(n), ri = static_cast<int>(rank);
  // beta = R^-1 Q^T x
  double* beta = work;
  blas::gemv('T', ni, ri, 1.0, q_.data(), ni, x, 0.0, beta);
  for (std::size_t jj = rank; jj-- > 0;) {
    double s = beta[jj];
    for (std::size_t l = jj + 1; l < rank; ++l) s -= r_[l * rank + jj] * beta[l];
    beta[jj] = s / r_[jj * rank + jj];
  }
  // out = x - proportion * X_kept beta, each row summed over the columns in the same order.
  const double* c0 = kept_columns_.data();
  for (std::size_t i = 0; i < n; ++i) out[i] = c0[i] * beta[0];
  for (std::size_t jj = 1; jj < rank; ++jj) {
    const double* c = kept_columns_.data() + jj * n;
    const double b = beta[jj];
    for (std::size_t i = 0; i < n; ++i) out[i] += c[i] * b;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - proportion * out[i];
}

void LeastSquaresProjector::residual(const double* x, double proportion, double* out) const {
  thread_local std::vector<double> work;
  if (work.size() < kept_.size()) work.resize(kept_.size());
  residual(x, proportion, out, work.data());
}

void LeastSquaresProjector::residuals(const double* x, std::size_t count, double proportion,
                                      double* out) const {
  const std::size_t n = n_, rank = kept_.size();
  if (rank == 0 || full_ != nullptr) {
    for (std::size_t c = 0; c < count; ++c) residual(x + c * n, proportion, out + c * n);
    return;
  }
  const int ni = static_cast<int>(n), ri = static_cast<int>(rank);
  const int w = static_cast<int>(kBlock);
  thread_local std::vector<double> xb, ob, coef;
  xb.resize(n * kBlock);
  ob.resize(n * kBlock);
  coef.resize(rank * kBlock);
  for (std::size_t c0 = 0; c0 < count; c0 += kBlock) {
    const std::size_t width = std::min(kBlock, count - c0);
    // Always a full block (zero columns past the end), so every call has the same shapes.
    std::memcpy(xb.data(), x + c0 * n, width * n * sizeof(double));
    std::fill(xb.begin() + static_cast<std::ptrdiff_t>(width * n), xb.end(), 0.0);
    blas::gemm('T', 'N', ri, w, ni, 1.0, q_.data(), ni, xb.data(), ni, 0.0, coef.data(), ri);
    blas::trsm_upper_left(ri, w, r_.data(), ri, coef.data(), ri);
    std::memcpy(ob.data(), xb.data(), n * kBlock * sizeof(double));
    blas::gemm('N', 'N', ni, w, ri, -proportion, kept_columns_.data(), ni, coef.data(), ri, 1.0,
               ob.data(), ni);
    std::memcpy(out + c0 * n, ob.data(), width * n * sizeof(double));
  }
}

}  // namespace backscore
