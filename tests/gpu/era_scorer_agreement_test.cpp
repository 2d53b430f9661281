// CudaEraScorer against the CPU engine (score_model on an EraContext of all rows): every formula,
// random eras of several sizes (7, 500, 5000 on the block sort; 9000 and a forced segmented sort),
// tied predictions and features, collinear features, burn and non-burn eras, degenerate models and
// era vectors, edge sizes and top/bottom limits. Agreement to 1e-9 absolute, NaN exactly where the
// CPU gives NaN. Every test skips without a CUDA device.
#include <gtest/gtest.h>

#include "era_scorer_support.hpp"

namespace backscore {
namespace {

using namespace era_scorer_test;

TEST(CudaEraScorer, TinyEraOf7) {
  SKIP_WITHOUT_DEVICE();
  run_case(7, 16, 1, false, 0);
  run_case(7, 16, 2, true, 1);
}

TEST(CudaEraScorer, Era500AllFormulas) {
  SKIP_WITHOUT_DEVICE();
  run_case(500, 40, 3, false, 0);
  run_case(500, 40, 4, true, 0);
  run_case(500, 40, 5, false, 1);
  run_case(500, 40, 6, true, 2, {}, 0, false);  // real-valued target, no features
}

TEST(CudaEraScorer, Era5000BlockSort) {
  SKIP_WITHOUT_DEVICE();
  run_case(5000, 24, 7, false, 0);
  run_case(5000, 24, 8, true, 1);
}

TEST(CudaEraScorer, Era9000SegmentedSort) {
  SKIP_WITHOUT_DEVICE();
  run_case(9000, 16, 9, true, 0);
  run_case(9000, 16, 10, false, 1);
}

TEST(CudaEraScorer, ForcedSegmentedSortOnSmallEras) {
  SKIP_WITHOUT_DEVICE();
  cuda::EraScorerOptions opt;
  opt.sort_path = cuda::SortPath::segmented;
  run_case(7, 16, 11, false, 0, opt);
  run_case(500, 24, 12, true, 1, opt);
  run_case(5000, 16, 13, false, 0, opt);
}

TEST(CudaEraScorer, SubsetOfFormulas) {
  SKIP_WITHOUT_DEVICE();
  // Each formula alone, so every stage is also exercised without the others.
  const TestEra t = make_era(300, 16, 19, true, 1);
  for (const FormulaSpec& f : all_specs(2, 30)) {
    const std::vector<FormulaSpec> specs{f};
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::CudaEraScorer scorer(0, specs, 0);
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(16);
    scorer.score_full_columns(t.preds, 16, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, "alone: " + f.name());
  }
}

// n = 1 (every formula NaN, nothing on the device), 2 and 3 (K = 1 uses every row at n = 2),
// burn and non-burn, and a batch of one model. No features at n <= 3: with features the fnc
// residual of so few rows is rounding noise, which neither backend can score meaningfully.
TEST(CudaEraScorer, EdgeSizesOneTwoThreeRowsAndOneModel) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({1, 2});
  for (std::size_t n : {1u, 2u, 3u}) {
    for (bool burn : {false, true}) {
      const TestEra t = make_era(n, 8, static_cast<std::uint32_t>(30 + n), burn, 2);
      score_and_compare(t, specs, "n=" + std::to_string(n) + (burn ? " burn" : ""));
    }
  }
  score_and_compare(make_era(500, 1, 33, true, 0), all_specs(3, 125), "m=1 burn");
  score_and_compare(make_era(500, 1, 34, false, 1), all_specs(3, 125), "m=1");
}

// 2K = n takes every row, 2K > n is NaN (numerai-tools' assumption broken), K = 1 the extremes.
TEST(CudaEraScorer, TopBottomAtAndPastHalfTheRows) {
  SKIP_WITHOUT_DEVICE();
  score_and_compare(make_era(40, 16, 35, false, 0), specs_with_ks({1, 19, 20, 21}), "n=40");
  score_and_compare(make_era(40, 16, 36, true, 1), specs_with_ks({1, 19, 20, 21}), "n=40 burn");
  score_and_compare(make_era(41, 16, 37, false, 0), specs_with_ks({20, 21}), "n=41");
}

// Degenerate era vectors: a constant target (corr_v1/corr/fnc NaN, mmc 0, never a burn era), a
// constant meta-model and benchmark (m.m = 0: mmc/bmc NaN; xcorr NaN in a burn era), a target
// outside [0, 1] (mmc's x4 not applied). Dyadic constants, so both backends' means are exact.
TEST(CudaEraScorer, ConstantTargetMetaModelAndBenchmark) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 50);
  {
    TestEra t = make_era(200, 16, 38, false, 0);
    std::fill(t.era.targets.begin(), t.era.targets.end(), 0.5);
    score_and_compare(t, specs, "constant target");
  }
  for (bool burn : {false, true}) {
    TestEra t = make_era(200, 16, burn ? 39 : 40, burn, 0);
    std::fill(t.era.meta_model.begin(), t.era.meta_model.end(), 0.5);
    std::fill(t.era.benchmarks.begin(), t.era.benchmarks.end(), 0.25);
    score_and_compare(t, specs,
                      std::string("constant meta-model and benchmark") + (burn ? " burn" : ""));
  }
  {
    TestEra t = make_era(300, 16, 41, true, 1, false);
    for (double& v : t.era.targets) v = v * 1000 + 3;
    score_and_compare(t, specs, "target outside [0, 1]");
  }
}

// The block sort's two configurations (<= 1,024 rows, <= 8,192 rows) at and just past their
// limits: padding keys of a partial last thread, and the switch to the segmented sort.
TEST(CudaEraScorer, BlockSortSizeBoundaries) {
  SKIP_WITHOUT_DEVICE();
  std::uint32_t seed = 42;
  for (std::size_t n : {1023u, 1024u, 1025u, 8191u, 8192u, 8193u}) {
    const bool burn = n % 2 == 1;
    score_and_compare(make_era(n, 8, seed++, burn, n % 3 == 0 ? 1 : 0),
                      all_specs(3, static_cast<int>(n / 4)), "n=" + std::to_string(n));
  }
}

}  // namespace
}  // namespace backscore
