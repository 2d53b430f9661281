// Column-pivoted QR with rank detection through LAPACK (see least_squares.hpp).
#include "host/era/least_squares.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
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

LeastSquaresProjector::LeastSquaresProjector(std::span<const double> columns, std::size_t n,
                                             std::size_t k, double rcond)
    : n_(n), k_(k) {
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
  const int ri = static_cast<int>(r);
  if (blas::orgqr(ni, ri, ri, a.data(), ni, tau.data()) != 0) {
    throw std::runtime_error("LeastSquaresProjector: dorgqr failed");
  }
  a.resize(n * r);
  q_ = std::move(a);
}

void LeastSquaresProjector::residual(const double* x, double proportion, double* out,
                                     double* work) const {
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
  if (rank == 0) {
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
