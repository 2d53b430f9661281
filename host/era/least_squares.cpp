// Householder QR with rank detection (see least_squares.hpp).
#include "host/era/least_squares.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "host/era/stats.hpp"

namespace backscore {

LeastSquaresProjector::LeastSquaresProjector(std::span<const double> columns, std::size_t n,
                                             std::size_t k, double rcond)
    : n_(n), k_(k) {
  std::vector<double> a(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(n * k));
  auto col = [&](std::size_t j) { return a.data() + j * n; };
  double max_norm = 0;
  for (std::size_t j = 0; j < k; ++j) {
    const std::span<const double> c(col(j), n);
    max_norm = std::max(max_norm, std::sqrt(dot(c, c)));
  }
  const double tol = rcond * max_norm;
  std::vector<double> r_full;  // column jj of R (jj + 1 entries) for kept column jj, packed
  std::size_t r = 0;           // reflectors so far = current rank
  for (std::size_t j = 0; j < k && r < n; ++j) {
    double* c = col(j);
    const std::size_t m = n - r;  // length of the part below the first r rows
    const std::span<const double> tail(c + r, m);
    const double rem = std::sqrt(dot(tail, tail));
    if (rem <= tol) continue;  // (numerically) in the span of the kept columns: drop it
    const double alpha = c[r];
    const double beta = -std::copysign(rem, alpha);
    const double scale = 1.0 / (alpha - beta);
    const double tau = (beta - alpha) / beta;
    reflectors_.resize((r + 1) * n, 0.0);
    double* v = reflectors_.data() + r * n;
    v[r] = 1.0;
    for (std::size_t i = r + 1; i < n; ++i) v[i] = c[i] * scale;
    tau_.push_back(tau);
    for (std::size_t i = 0; i < r; ++i) r_full.push_back(c[i]);
    r_full.push_back(beta);
    // Apply H = I - tau v v^T to the columns not processed yet.
    const std::span<const double> vt(v + r, m);
    for (std::size_t jj = j + 1; jj < k; ++jj) {
      double* d = col(jj);
      const double w = tau * dot(vt, std::span<const double>(d + r, m));
      for (std::size_t i = r; i < n; ++i) d[i] -= w * v[i];
    }
    kept_.push_back(j);
    kept_columns_.insert(kept_columns_.end(), columns.begin() + static_cast<std::ptrdiff_t>(j * n),
                         columns.begin() + static_cast<std::ptrdiff_t>((j + 1) * n));
    ++r;
  }
  // Unpack R into a square column-major matrix.
  r_.assign(r * r, 0.0);
  std::size_t at = 0;
  for (std::size_t jj = 0; jj < r; ++jj) {
    for (std::size_t i = 0; i <= jj; ++i) r_[jj * r + i] = r_full[at++];
  }
}

void LeastSquaresProjector::residual(const double* x, double proportion, double* out,
                                     double* work) const {
  const std::size_t n = n_, rank = kept_.size();
  if (rank == 0) {
    // Nothing to project on: P x = 0 (numpy: lstsq of a zero matrix gives beta = 0).
    for (std::size_t i = 0; i < n; ++i) out[i] = x[i] - proportion * 0.0;
    return;
  }
  // z = Q^T x, in out.
  std::memcpy(out, x, n * sizeof(double));
  for (std::size_t r = 0; r < rank; ++r) {
    const double* v = reflectors_.data() + r * n;
    const std::size_t m = n - r;
    const double w =
        tau_[r] * dot(std::span<const double>(v + r, m), std::span<const double>(out + r, m));
    for (std::size_t i = r; i < n; ++i) out[i] -= w * v[i];
  }
  // Solve R beta = z[0:rank] by back substitution.
  double* beta = work;
  for (std::size_t jj = rank; jj-- > 0;) {
    double s = out[jj];
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

}  // namespace backscore
