// cuda::DeviceFactorizer (the era's fnc factorization on the device) against the CPU's
// LeastSquaresProjector: the same rank, the same kept columns (exactly on full-rank eras; up to
// which of tied columns, compared by span, with exact dependencies), the same residuals (1e-12),
// subsets derived from it as from the CPU's; which path decided (the certificate on full-rank
// eras, dgeqp3 of R with linear combinations); two threads at once; and CudaEraScorer fed an
// EraContext built through it against the CPU's scores at 1e-9. Skips without a device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "era_scorer_support.hpp"
#include "exposures_support.hpp"
#include "host/era/least_squares.hpp"
#include "host/run/cuda/fnc_factorizer.hpp"

namespace backscore {
namespace {

using namespace era_scorer_test;
using testing::outside_span;
using Vec = std::vector<double>;

// testing::exposures from a seed of its own.
Vec exposures(std::size_t n, std::size_t f, bool deficient, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  return testing::exposures(n, f, deficient, rng);
}

constexpr double kRcond = 1e-6;

void expect_same_projector(const LeastSquaresProjector& gpu, const LeastSquaresProjector& cpu,
                           const Vec& x, std::size_t n, bool exact_kept, const std::string& what) {
  ASSERT_EQ(gpu.rank(), cpu.rank()) << what;
  if (exact_kept) {
    EXPECT_TRUE(std::equal(gpu.kept().begin(), gpu.kept().end(), cpu.kept().begin())) << what;
  }
  EXPECT_EQ(outside_span(x, n, gpu.kept(), cpu), 0u) << what;
  EXPECT_EQ(outside_span(x, n, cpu.kept(), gpu), 0u) << what;
  EXPECT_NEAR(gpu.cutoff(), cpu.cutoff(), 1e-12 * cpu.cutoff()) << what;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> normal;
  const std::size_t cols = 40;
  Vec g(n * cols), a(n * cols), b(n * cols);
  for (double& v : g) v = normal(rng);
  gpu.residuals(g.data(), cols, 1.0, a.data());
  cpu.residuals(g.data(), cols, 1.0, b.data());
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
  EXPECT_LE(worst, 1e-12) << what;
  std::vector<std::uint32_t> rows;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (i % 40 != 7) rows.push_back(i);
  }
  const auto dg = LeastSquaresProjector::derive_subset(gpu, rows);
  const auto dc = LeastSquaresProjector::derive_subset(cpu, rows);
  EXPECT_EQ(dg.has_value(), dc.has_value()) << what;
  if (dg && dc) {
    Vec e1(rows.size()), e2(rows.size());
    dg->residual(g.data(), 1.0, e1.data());
    dc->residual(g.data(), 1.0, e2.data());
    for (std::size_t i = 0; i < rows.size(); ++i) ASSERT_NEAR(e1[i], e2[i], 1e-12) << what;
  }
}

TEST(FncFactorizer, KeepsTheCpusColumns) {
  SKIP_WITHOUT_DEVICE();
  cuda::DeviceFactorizer f(0, 0);
  struct Shape {
    std::size_t n, features;
  };
  std::uint32_t seed = 1;
  for (const Shape s : {Shape{500, 60}, Shape{2000, 300}, Shape{5000, 300}, Shape{120, 300}}) {
    for (bool deficient : {false, true}) {
      const std::size_t n = s.n, k = s.features + 1;
      const Vec x = exposures(n, s.features, deficient, seed++);
      const cuda::FactorizerStats before = f.stats();
      const LeastSquaresProjector gpu = f(x, n, k, kRcond);
      const LeastSquaresProjector cpu(x, n, k, kRcond);
      const cuda::FactorizerStats after = f.stats();
      const std::string what = "n=" + std::to_string(n) +
                               " features=" + std::to_string(s.features) +
                               (deficient ? " deficient" : "");
      expect_same_projector(gpu, cpu, x, n, !deficient && n > k, what);
      EXPECT_EQ(after.on_host, before.on_host) << what;
      if (n > k) {
        // Full rank: the certificate; linear combinations: dgeqp3 of R.
        EXPECT_EQ(after.certified - before.certified, deficient ? 0u : 1u) << what;
        EXPECT_EQ(after.pivoted_on_r - before.pivoted_on_r, deficient ? 1u : 0u) << what;
      }
    }
  }
  EXPECT_GT(f.stats().peak_bytes, 0u);
}

TEST(FncFactorizer, OnlyExactCopiesAndConstantsStayOnTheCertificate) {
  SKIP_WITHOUT_DEVICE();
  // Duplicates and constants (no combination): the candidates are full rank.
  const std::size_t n = 3000, f = 200, k = f + 1;
  Vec x = exposures(n, f, false, 77);
  for (std::size_t j : {10u, 50u, 120u}) std::copy_n(x.data() + (j + 1) * n, n, x.data() + j * n);
  for (std::size_t j : {30u, 31u, 199u}) std::fill_n(x.data() + j * n, n, j == 31 ? 2.0 : 0.75);
  cuda::DeviceFactorizer fz(0, 0);
  const LeastSquaresProjector gpu = fz(x, n, k, kRcond);
  const LeastSquaresProjector cpu(x, n, k, kRcond);
  expect_same_projector(gpu, cpu, x, n, false, "copies and constants");
  EXPECT_EQ(fz.stats().certified, 1u);
}

TEST(FncFactorizer, SmallMemoryCapFallsBackToLapack) {
  SKIP_WITHOUT_DEVICE();
  const std::size_t n = 1000, f = 50, k = f + 1;
  const Vec x = exposures(n, f, true, 9);
  cuda::DeviceFactorizer fz(0, 4096);
  const LeastSquaresProjector gpu = fz(x, n, k, kRcond);
  const LeastSquaresProjector cpu(x, n, k, kRcond);
  expect_same_projector(gpu, cpu, x, n, true, "on the host");
  EXPECT_EQ(fz.stats().on_host, 1u);
  EXPECT_EQ(fz.stats().peak_bytes, 0u);
}

TEST(FncFactorizer, TwoThreadsAtOnce) {
  SKIP_WITHOUT_DEVICE();
  cuda::DeviceFactorizer fz(0, 0);
  const std::size_t n = 2000, f = 150, k = f + 1;
  const Vec x1 = exposures(n, f, false, 21), x2 = exposures(n, f, true, 22);
  std::vector<LeastSquaresProjector> out(8);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < out.size(); i += 2) out[i] = fz(i % 2 ? x2 : x1, n, k, kRcond);
    });
  }
  for (std::thread& t : threads) t.join();
  const LeastSquaresProjector c1(x1, n, k, kRcond), c2(x2, n, k, kRcond);
  for (std::size_t i = 0; i < out.size(); ++i) {
    expect_same_projector(out[i], i % 2 ? c2 : c1, i % 2 ? x2 : x1, n, i % 2 == 0,
                          "call " + std::to_string(i));
  }
}

// The scorer fed a context whose fnc projector came from the device factorizer (the cuda
// backend's setup) against the CPU's scores on a LAPACK context, 1e-9: full rank and rank
// deficient features (duplicates, constants, combinations) of 60 to 300 features.
TEST(FncFactorizer, ScorerOnADeviceFactorizedContextAgreesWithTheCpu) {
  SKIP_WITHOUT_DEVICE();
  cuda::DeviceFactorizer fz(0, 0);
  const Factorizer factorizer = [&](std::span<const double> c, std::size_t n, std::size_t k,
                                    double rcond) { return fz(c, n, k, rcond); };
  const std::vector<FormulaSpec> specs = all_specs(3, 200);
  std::uint32_t seed = 40;
  for (std::size_t features : {60u, 300u}) {
    for (bool deficient : {false, true}) {
      const std::size_t n = 2500;
      TestEra t = make_era(n, 24, seed++, features == 60, 0, true, 1);
      const Vec x = exposures(n, features, deficient, seed++);
      t.era.features.assign(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n * features));
      const EraContext cpu_ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
      const EraContext gpu_ctx(t.era, {}, ContextNeeds::of(specs), 0, 0, nullptr, factorizer);
      ASSERT_EQ(gpu_ctx.fnc_projector().rank(), cpu_ctx.fnc_projector().rank());
      const std::vector<double> cpu = cpu_scores(t, cpu_ctx, specs);
      cuda::CudaEraScorer scorer(0, specs, 0);
      scorer.begin_era(t.era, gpu_ctx);
      std::vector<double> gpu(t.m * specs.size());
      scorer.score_full_columns(t.preds, t.m, gpu);
      expect_match(gpu, cpu, specs,
                   "features=" + std::to_string(features) + (deficient ? " deficient" : ""));
      EXPECT_EQ(scorer.borderline_rank_columns(), 0u);
    }
  }
}

}  // namespace
}  // namespace backscore
