// LeastSquaresProjector::from_factors and the rank decision from an unpivoted QR (the
// constructor's chain, which the cuda backend's device factorization, host/run/cuda/
// fnc_factorizer.*, runs with cuSOLVER), against pivoted() (dgeqp3 of all the columns):
//   - from_factors given pivoted()'s own LAPACK factors builds what pivoted() builds (the same
//     bytes out of residual, residuals and derive_subset);
//   - the decision from an unpivoted QR's R (candidate_columns, keeps_every_column,
//     pivoted_rank_of_r) keeps pivoted()'s columns (up to which of two equal columns) on eras
//     with duplicated, constant, zero and dependent features, takes the certificate path when the
//     candidates are well separated, and its projector (a QR of the kept columns in pivot order)
//     gives pivoted()'s residuals to 1e-12 and derives subsets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "host/era/blas.hpp"
#include "exposures_support.hpp"
#include "host/era/least_squares.hpp"

namespace backscore {
namespace {

using testing::exposures;
using testing::outside_span;
using Vec = std::vector<double>;
constexpr double kRcond = 1e-6;

// The constructor runs the chain the device factorizer runs (LAPACK in place of cuSOLVER).
// certified: whether the certificate (keep every candidate) decided.
LeastSquaresProjector factor_like_the_device(const Vec& x, std::size_t n, std::size_t k,
                                             bool& certified) {
  LeastSquaresProjector p(x, n, k, kRcond);
  certified = p.decision() == LeastSquaresProjector::Decision::certificate;
  return p;
}

// The kept columns with each replaced by the first column bitwise equal to it, sorted: which of
// two equal columns dgeqp3 keeps is decided by rounding in its blocked updates (OpenBLAS keeps a
// later copy at times), and the span is the same whichever it keeps.
std::vector<std::size_t> kept_modulo_copies(const Vec& x, std::size_t n,
                                            std::span<const std::size_t> kept) {
  std::vector<std::size_t> out;
  for (std::size_t j : kept) {
    std::size_t first = j;
    for (std::size_t e = 0; e < j; ++e) {
      if (std::memcmp(x.data() + e * n, x.data() + j * n, n * sizeof(double)) == 0) {
        first = e;
        break;
      }
    }
    out.push_back(first);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// "" when a and b keep the same columns up to copies, else the differences ("12 (a)": kept by a
// only).
std::string kept_difference(const Vec& x, std::size_t n, std::span<const std::size_t> a,
                            std::span<const std::size_t> b) {
  const std::vector<std::size_t> ca = kept_modulo_copies(x, n, a), cb = kept_modulo_copies(x, n, b);
  std::string out;
  for (std::size_t j : ca) {
    if (!std::binary_search(cb.begin(), cb.end(), j)) out += std::to_string(j) + " (a) ";
  }
  for (std::size_t j : cb) {
    if (!std::binary_search(ca.begin(), ca.end(), j)) out += std::to_string(j) + " (b) ";
  }
  return out;
}

bool same_bytes(const Vec& a, const Vec& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

TEST(LeastSquaresFactors, FromLapackFactorsIsPivoted) {
  std::mt19937_64 rng(41);
  std::normal_distribution<double> normal;
  for (bool deficient : {false, true}) {
    const std::size_t n = 300, f = 40, k = f + 1;
    const Vec x = exposures(n, f, deficient, rng);
    const LeastSquaresProjector ref = LeastSquaresProjector::pivoted(x, n, k, kRcond);
    // LAPACK's factors, as the constructor computes them.
    Vec a = x;
    std::vector<int> jpvt(k, 0);
    Vec tau(k);
    ASSERT_EQ(blas::geqp3(static_cast<int>(n), static_cast<int>(k), a.data(), static_cast<int>(n),
                          jpvt.data(), tau.data()),
              0);
    const std::size_t r = ref.rank();
    ASSERT_GT(r, 0u);
    std::vector<std::size_t> pivot(r);
    for (std::size_t j = 0; j < r; ++j) pivot[j] = static_cast<std::size_t>(jpvt[j] - 1);
    Vec rr(r * r, 0.0);
    for (std::size_t j = 0; j < r; ++j) {
      for (std::size_t i = 0; i <= j; ++i) rr[j * r + i] = a[j * n + i];
    }
    const double dropped = r < k ? std::abs(a[r * n + r]) : 0.0;
    ASSERT_EQ(blas::orgqr(static_cast<int>(n), static_cast<int>(r), static_cast<int>(r), a.data(),
                          static_cast<int>(n), tau.data()),
              0);
    a.resize(n * r);
    const LeastSquaresProjector p = LeastSquaresProjector::from_factors(
        x, n, k, kRcond, pivot, a, rr, std::abs(rr[0]), dropped);
    ASSERT_EQ(p.rank(), ref.rank());
    EXPECT_TRUE(std::equal(p.kept().begin(), p.kept().end(), ref.kept().begin()));
    EXPECT_EQ(p.cutoff(), ref.cutoff());
    EXPECT_EQ(p.dropped_remainder(), ref.dropped_remainder());
    EXPECT_EQ(deficient, r < k);
    const std::size_t cols = 37;
    Vec g(n * cols);
    for (double& v : g) v = normal(rng);
    Vec o1(n * cols), o2(n * cols);
    p.residuals(g.data(), cols, 1.0, o1.data());
    ref.residuals(g.data(), cols, 1.0, o2.data());
    EXPECT_TRUE(same_bytes(o1, o2)) << "residuals, deficient=" << deficient;
    Vec s1(n), s2(n);
    p.residual(g.data(), 0.5, s1.data());
    ref.residual(g.data(), 0.5, s2.data());
    EXPECT_TRUE(same_bytes(s1, s2)) << "residual, deficient=" << deficient;
    // A subset derived from each: same decision, same bytes.
    std::vector<std::uint32_t> rows;
    for (std::uint32_t i = 0; i < n; ++i) {
      if (i % 37 != 5) rows.push_back(i);
    }
    const auto d1 = LeastSquaresProjector::derive_subset(p, rows);
    const auto d2 = LeastSquaresProjector::derive_subset(ref, rows);
    ASSERT_EQ(d1.has_value(), d2.has_value());
    if (d1) {
      Vec e1(rows.size()), e2(rows.size());
      d1->residual(g.data(), 1.0, e1.data());
      d2->residual(g.data(), 1.0, e2.data());
      EXPECT_TRUE(same_bytes(e1, e2)) << "derived, deficient=" << deficient;
    }
  }
}

TEST(LeastSquaresFactors, RejectsInconsistentFactors) {
  const Vec x(10 * 2, 1.0);
  const std::vector<std::size_t> bad = {2};
  EXPECT_THROW(LeastSquaresProjector::from_factors(x, 10, 2, kRcond, bad, Vec(10), Vec(1), 1, 0),
               std::invalid_argument);
  const std::vector<std::size_t> twice = {0, 0};
  EXPECT_THROW(LeastSquaresProjector::from_factors(x, 10, 2, kRcond, twice, Vec(20), Vec(4), 1, 0),
               std::invalid_argument);
  const std::vector<std::size_t> one = {0};
  EXPECT_THROW(LeastSquaresProjector::from_factors(x, 10, 2, kRcond, one, Vec(9), Vec(1), 1, 0),
               std::invalid_argument);
}

TEST(LeastSquaresFactors, CandidatesDropExactDependencies) {
  const std::size_t n = 6;
  // 0: x, 1: dup of 0, 2: const 2, 3: const -3, 4: const 3 (same magnitude, later), 5: zero,
  // 6: y (largest norm), 7: const 1 (the intercept)
  Vec x = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6, 2, 2, 2, 2, 2, 2, -3, -3, -3, -3, -3, -3,
           3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0, 9, 1, 8, 2, 7, 3, 1,  1,  1,  1,  1,  1};
  const QrCandidates c = candidate_columns(x, n, 8);
  EXPECT_EQ(c.order, (std::vector<std::size_t>{6, 0, 3}));
  EXPECT_DOUBLE_EQ(c.max_norm, std::sqrt(81.0 + 1 + 64 + 4 + 49 + 9));
  const QrCandidates none = candidate_columns(Vec(12, 0.0), 6, 2);
  EXPECT_TRUE(none.order.empty());
}

// The decision from R against the constructor's, on full-rank and deficient eras of several
// shapes (n < k included): the same kept columns; the certificate decides the full-rank ones;
// residuals within 1e-12 of the constructor's; subsets derive.
TEST(LeastSquaresFactors, DecisionFromRKeepsPivotedsColumns) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  struct Shape {
    std::size_t n, f;
  };
  int certified_count = 0;
  for (const Shape s : {Shape{200, 10}, Shape{500, 60}, Shape{1000, 300}, Shape{40, 60}}) {
    for (bool deficient : {false, true}) {
      const std::size_t n = s.n, k = s.f + 1;
      const Vec x = exposures(n, s.f, deficient, rng);
      const LeastSquaresProjector ref = LeastSquaresProjector::pivoted(x, n, k, kRcond);
      bool certified = false;
      const LeastSquaresProjector p = factor_like_the_device(x, n, k, certified);
      const std::string what =
          "n=" + std::to_string(n) + " f=" + std::to_string(s.f) + (deficient ? " deficient" : "");
      ASSERT_EQ(p.rank(), ref.rank()) << what;
      // n < k: both keep n columns spanning every vector of n values (the projection is the
      // identity whichever columns), and which n is a matter of near-ties; n > k: the same ones.
      if (n > k) {
        // Exact dependencies make ties (equal columns; f107 = f106 - 0.5 f104 has f106's
        // remainder once f104 is in), broken by rounding: compare what the kept columns span.
        EXPECT_EQ(outside_span(x, n, p.kept(), ref), 0u) << what;
        EXPECT_EQ(outside_span(x, n, ref.kept(), p), 0u) << what;
        if (!deficient) {
          EXPECT_EQ(kept_difference(x, n, p.kept(), ref.kept()), "") << what;
        }
      }
      EXPECT_NEAR(p.cutoff(), ref.cutoff(), 1e-12 * ref.cutoff()) << what;
      if (n > k && !deficient) {
        EXPECT_TRUE(certified) << what;
      }
      certified_count += certified;
      const std::size_t cols = 5;
      Vec g(n * cols), o1(n * cols), o2(n * cols);
      for (double& v : g) v = normal(rng);
      p.residuals(g.data(), cols, 1.0, o1.data());
      ref.residuals(g.data(), cols, 1.0, o2.data());
      double scale = 0, worst = 0;
      for (std::size_t i = 0; i < g.size(); ++i) {
        scale = std::max(scale, std::abs(g[i]));
        worst = std::max(worst, std::abs(o1[i] - o2[i]));
      }
      EXPECT_LE(worst, 1e-12 * scale) << what;
      if (n > k) {
        std::vector<std::uint32_t> rows;
        for (std::uint32_t i = 0; i < n; ++i) {
          if (i % 50 != 3) rows.push_back(i);
        }
        const auto d = LeastSquaresProjector::derive_subset(p, rows);
        const auto d_ref = LeastSquaresProjector::derive_subset(ref, rows);
        EXPECT_EQ(d.has_value(), d_ref.has_value()) << what;
        if (d && d_ref) {
          Vec e1(rows.size()), e2(rows.size());
          d->residual(g.data(), 1.0, e1.data());
          d_ref->residual(g.data(), 1.0, e2.data());
          for (std::size_t i = 0; i < rows.size(); ++i) EXPECT_NEAR(e1[i], e2[i], 1e-12) << what;
        }
      }
    }
  }
  EXPECT_GE(certified_count, 3);
}

// A near (not exact) dependency among the candidates: the certificate cannot decide, dgeqp3 of
// R does, as the constructor does (one column dropped; a dependency well above the cutoff kept).
TEST(LeastSquaresFactors, NearDependenciesGoThroughThePivotedQrOfR) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  const std::size_t n = 400, f = 30, k = f + 1;
  for (double eps : {1e-9, 1e-4}) {
    Vec x = exposures(n, f, false, rng);
    for (std::size_t i = 0; i < n; ++i) {
      x[20 * n + i] = x[3 * n + i] + 2 * x[4 * n + i] + eps * normal(rng);
    }
    const LeastSquaresProjector ref = LeastSquaresProjector::pivoted(x, n, k, kRcond);
    bool certified = true;
    const LeastSquaresProjector p = factor_like_the_device(x, n, k, certified);
    EXPECT_EQ(p.rank(), ref.rank()) << eps;
    EXPECT_EQ(ref.rank(), eps < 1e-6 ? k - 1 : k) << eps;
    EXPECT_EQ(kept_difference(x, n, p.kept(), ref.kept()), "") << eps;
    if (eps < 1e-6) {
      EXPECT_FALSE(certified);
    }
  }
}

}  // namespace
}  // namespace backscore
