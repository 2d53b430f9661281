// The factorization (the rank decision and its factors) and the residuals of a projector on all
// its rows, through LAPACK (see least_squares.hpp); subsets of rows: least_squares_subset.cpp.
#include "host/era/least_squares.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "host/era/blas.hpp"

namespace backscore {
struct LeastSquaresProjector::SigmaBound {
  std::once_flag once;
  double value = 0;
};

LeastSquaresProjector LeastSquaresProjector::pivoted(std::span<const double> columns,
                                                    std::size_t n, std::size_t k, double rcond) {
  LeastSquaresProjector p;
  p.n_ = n;
  p.k_ = k;
  p.rcond_ = rcond;
  if (n == 0 || k == 0) return p;
  p.decision_ = Decision::pivoted_x;
  p.factorize_pivoted(columns);
  return p;
}

void LeastSquaresProjector::factorize_pivoted(std::span<const double> columns) {
  const std::size_t n = n_, k = k_;
  const double rcond = rcond_;
  const int ni = blas::dim(n), ki = blas::dim(k);
  blas::dim(n * k);
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

namespace {

std::vector<double> gather_columns(std::span<const double> columns, std::size_t n,
                                   std::span<const std::size_t> which) {
  std::vector<double> out(n * which.size());
  for (std::size_t j = 0; j < which.size(); ++j) {
    std::memcpy(out.data() + j * n, columns.data() + which[j] * n, n * sizeof(double));
  }
  return out;
}

// dgeqrf of the n x m matrix a (in place); R's upper rows x m trapezoid (rows = min(n, m)) into r.
void unpivoted_qr(std::vector<double>& a, std::size_t n, std::size_t m, std::vector<double>& tau,
                  std::vector<double>& r) {
  const int ni = blas::dim(n), mi = blas::dim(m);
  tau.assign(std::min(n, m), 0.0);
  if (blas::geqrf(ni, mi, a.data(), ni, tau.data()) != 0) {
    throw std::runtime_error("LeastSquaresProjector: dgeqrf failed");
  }
  const std::size_t rows = std::min(n, m);
  r.assign(rows * m, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    for (std::size_t i = 0; i <= std::min(j, rows - 1); ++i) r[j * rows + i] = a[j * n + i];
  }
}

}  // namespace

namespace {

// sigma_min(R) = 1 / |R^-1|_2 >= 1 / sqrt(|R^-1|_1 |R^-1|_inf), from R^-1 (r x r, upper
// triangle read).
double sigma_bound_of_inverse(const std::vector<double>& inv, std::size_t r) {
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
  const double norm_inf = r > 0 ? *std::max_element(row_sum.begin(), row_sum.end()) : 0.0;
  const double bound = 1.0 / std::sqrt(norm1 * norm_inf);
  return std::isfinite(bound) ? bound : 0.0;
}

}  // namespace

LeastSquaresProjector::LeastSquaresProjector(std::span<const double> columns, std::size_t n,
                                             std::size_t k, double rcond)
    : n_(n), k_(k), rcond_(rcond) {
  if (n == 0 || k == 0) return;
  blas::dim(n * k);
  const bool finite =
      std::all_of(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(n * k),
                  [](double v) { return std::isfinite(v); });
  if (!finite) {
    decision_ = Decision::pivoted_x;
    factorize_pivoted(columns);
    return;
  }
  // 1. Exact copies and constants out (their remainders are exactly 0 once their twin is in).
  const QrCandidates c = candidate_columns(columns, n, k);
  const std::size_t m = c.order.size();
  if (m == 0) return;  // every column zero: nothing kept, as dgeqp3 decides
  // 2. The candidates' QR without pivoting, and the certificate from R^-1.
  std::vector<double> a = gather_columns(columns, n, c.order), tau, r;
  unpivoted_qr(a, n, m, tau, r);
  std::vector<std::size_t> pivot;
  double r00 = 0, dropped = 0;
  std::vector<double> inv;  // R^-1 of the certificate, kept for sigma_min_lower_bound
  if (n >= m) {
    inv = r;
    if (blas::trtri_upper(blas::dim(m), inv.data(), blas::dim(m)) == 0 &&
        keeps_every_column(inv, m, rcond, c.max_norm)) {
      decision_ = Decision::certificate;
      pivot = c.order;
      r00 = std::abs(r[0]);
    }
  }
  if (decision_ != Decision::certificate) {
    // 3. dgeqp3 of R (min(n, m) x m) decides; the kept columns are factorized again.
    decision_ = Decision::pivoted_r;
    PivotedRank p = pivoted_rank_of_r(r, std::min(n, m), c.order, rcond);
    if (p.pivot.empty()) return;
    pivot = std::move(p.pivot);
    r00 = p.r00;
    dropped = p.dropped;
    a = gather_columns(columns, n, pivot);
    unpivoted_qr(a, n, pivot.size(), tau, r);
  }
  const std::size_t rank = pivot.size();
  const int ni = blas::dim(n), ri = blas::dim(rank);
  if (blas::orgqr(ni, ri, ri, a.data(), ni, tau.data()) != 0) {
    throw std::runtime_error("LeastSquaresProjector: dorgqr failed");
  }
  a.resize(n * rank);
  const Decision decided = decision_;
  *this = from_factors(columns, n, k, rcond, pivot, std::move(a), std::move(r), r00, dropped);
  decision_ = decided;
  if (decided == Decision::certificate) {  // R is the certificate's: its bound is at hand
    std::call_once(sigma_->once, [&] { sigma_->value = sigma_bound_of_inverse(inv, rank); });
  }
}

double LeastSquaresProjector::sigma_min_lower_bound() const {
  std::call_once(sigma_->once, [this] {
    const std::size_t r = kept_.size();
    std::vector<double> inv = r_;
    if (blas::trtri_upper(static_cast<int>(r), inv.data(), static_cast<int>(r)) != 0) return;
    sigma_->value = sigma_bound_of_inverse(inv, r);
  });
  return sigma_->value;
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

// ---- Factors computed elsewhere, and the rank decision from an unpivoted QR (see the header) ----

LeastSquaresProjector LeastSquaresProjector::from_factors(
    std::span<const double> columns, std::size_t n, std::size_t k, double rcond,
    std::span<const std::size_t> pivot, std::vector<double> q, std::vector<double> r, double r00,
    double dropped) {
  const std::size_t rank = pivot.size();
  if (columns.size() < n * k || rank > std::min(n, k) || q.size() != n * rank ||
      r.size() != rank * rank) {
    throw std::invalid_argument("LeastSquaresProjector::from_factors: inconsistent sizes");
  }
  std::vector<char> seen(k, 0);
  for (std::size_t p : pivot) {
    if (p >= k || seen[p]) {
      throw std::invalid_argument("LeastSquaresProjector::from_factors: bad pivot");
    }
    seen[p] = 1;
  }
  LeastSquaresProjector out;
  out.n_ = n;
  out.k_ = k;
  out.rcond_ = rcond;
  if (n == 0 || k == 0 || rank == 0) return out;
  blas::dim(n * rank);
  // The constructor's members, in its order of computation.
  out.r00_ = r00;
  out.dropped_ = dropped;
  out.sigma_ = std::make_shared<SigmaBound>();
  out.kept_.assign(pivot.begin(), pivot.end());
  std::sort(out.kept_.begin(), out.kept_.end());
  out.r_ = std::move(r);
  for (std::size_t j = 0; j < rank; ++j) {  // the strict lower triangle is zero, as the copy's
    for (std::size_t i = j + 1; i < rank; ++i) out.r_[j * rank + i] = 0.0;
  }
  out.kept_columns_.resize(n * rank);
  for (std::size_t j = 0; j < rank; ++j) {
    std::memcpy(out.kept_columns_.data() + j * n, columns.data() + pivot[j] * n,
                n * sizeof(double));
  }
  for (std::size_t i = 0; i < n; ++i)
    out.norm2_first_ += out.kept_columns_[i] * out.kept_columns_[i];
  out.q_ = std::move(q);
  return out;
}

QrCandidates candidate_columns(std::span<const double> columns, std::size_t n, std::size_t k) {
  if (columns.size() < n * k) {
    throw std::invalid_argument("candidate_columns: columns hold fewer than n * k values");
  }
  QrCandidates out;
  if (n == 0 || k == 0) return out;
  auto col = [&](std::size_t j) { return columns.data() + j * n; };
  auto constant = [&](std::size_t j) {
    const double* c = col(j);
    for (std::size_t i = 1; i < n; ++i) {
      if (std::memcmp(&c[i], &c[0], sizeof(double)) != 0) return false;
    }
    return true;
  };
  // Exact duplicates: a hash of each column's bytes, then a full comparison within a bucket.
  std::unordered_map<std::uint64_t, std::vector<std::size_t>> buckets;
  std::vector<char> drop(k, 0);
  std::size_t best_constant = k;  // the constant column of largest magnitude, the first of equals
  for (std::size_t j = 0; j < k; ++j) {
    const double* c = col(j);
    // FNV-1a over the values' 64-bit patterns, a word at a time (a byte at a time cost 10% of a
    // 20-feature run: every model with missing ids factorizes mmc2's two columns).
    std::uint64_t h = 1469598103934665603ull;
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t w;
      std::memcpy(&w, &c[i], sizeof w);
      h = (h ^ w ^ (w >> 29)) * 1099511628211ull;
    }
    std::vector<std::size_t>& same = buckets[h];
    for (std::size_t e : same) {
      if (std::memcmp(col(e), c, n * sizeof(double)) == 0) {
        drop[j] = 1;
        break;
      }
    }
    if (drop[j]) continue;
    same.push_back(j);
    if (constant(j)) {
      if (best_constant == k || std::abs(c[0]) > std::abs(col(best_constant)[0])) {
        if (best_constant != k) drop[best_constant] = 1;
        best_constant = j;
      } else {
        drop[j] = 1;
      }
    }
  }
  if (best_constant != k && col(best_constant)[0] == 0.0) drop[best_constant] = 1;  // all zero
  std::size_t first = k;
  for (std::size_t j = 0; j < k; ++j) {
    if (drop[j]) continue;
    double s = 0;
    const double* c = col(j);
    for (std::size_t i = 0; i < n; ++i) s += c[i] * c[i];
    const double norm = std::sqrt(s);
    if (first == k || norm > out.max_norm) {
      first = j;
      out.max_norm = norm;
    }
    out.order.push_back(j);
  }
  if (first != k) {
    out.order.erase(std::find(out.order.begin(), out.order.end(), first));
    out.order.insert(out.order.begin(), first);
  }
  if (!(out.max_norm > 0)) out.order.clear();
  return out;
}

bool keeps_every_column(std::span<const double> r_inverse, std::size_t m, double rcond,
                        double max_norm) {
  if (m == 0 || r_inverse.size() < m * m) return false;
  std::vector<double> row2(m, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    for (std::size_t i = 0; i <= j; ++i) row2[i] += r_inverse[j * m + i] * r_inverse[j * m + i];
  }
  const double need = kKeepAllMargin * rcond * max_norm;
  for (std::size_t i = 0; i < m; ++i) {
    // 1 / |row i| > need  <=>  |row i|^2 * need^2 < 1 (finite, no division by zero)
    if (!std::isfinite(row2[i]) || !(row2[i] * need * need < 1.0)) return false;
  }
  return std::isfinite(need);
}

PivotedRank pivoted_rank_of_r(std::span<const double> r, std::size_t rows,
                              std::span<const std::size_t> order, double rcond) {
  const std::size_t m = order.size();
  PivotedRank out;
  if (rows == 0 || m == 0) return out;
  if (r.size() < rows * m) throw std::invalid_argument("pivoted_rank_of_r: R too small");
  const int ri = blas::dim(rows), mi = blas::dim(m);
  std::vector<double> a(rows * m, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    for (std::size_t i = 0; i <= std::min(j, rows - 1); ++i) a[j * rows + i] = r[j * rows + i];
  }
  std::vector<int> jpvt(m, 0);
  std::vector<double> tau(std::min(rows, m));
  if (blas::geqp3(ri, mi, a.data(), ri, jpvt.data(), tau.data()) != 0) {
    throw std::runtime_error("pivoted_rank_of_r: dgeqp3 failed");
  }
  // The constructor's decision, on this R.
  const double tol = rcond * std::abs(a[0]);
  std::size_t kept = 0;
  const std::size_t steps = std::min(rows, m);
  while (kept < steps && std::abs(a[kept * rows + kept]) > tol &&
         std::isfinite(a[kept * rows + kept])) {
    ++kept;
  }
  if (kept == 0) return out;
  out.r00 = std::abs(a[0]);
  if (kept < steps) {
    const double d = std::abs(a[kept * rows + kept]);
    out.dropped = std::isfinite(d) ? d : std::numeric_limits<double>::infinity();
  }
  out.pivot.resize(kept);
  for (std::size_t j = 0; j < kept; ++j)
    out.pivot[j] = order[static_cast<std::size_t>(jpvt[j] - 1)];
  return out;
}

}  // namespace backscore
