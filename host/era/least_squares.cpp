// Column-pivoted QR with rank detection through LAPACK (see least_squares.hpp).
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
  const int ni = as_int(n), mi = as_int(m);
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
  as_int(n * k);
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
    if (blas::trtri_upper(as_int(m), inv.data(), as_int(m)) == 0 &&
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
  const int ni = as_int(n), ri = as_int(rank);
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
  const int Ni = as_int(N), ri = as_int(r), w = static_cast<int>(kBlock);
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
  as_int(n * rank);
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
  const int ri = as_int(rows), mi = as_int(m);
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
