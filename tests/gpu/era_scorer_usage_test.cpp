// CudaEraScorer's contract with its caller: pinned and unpinned input, several eras on one scorer,
// caller blocks of varying width, bit-identical repeats, refused NaN columns (and a usable scorer
// afterwards), moves, and misuse. Every test that needs a CUDA device skips without one.
#include <gtest/gtest.h>

#include "era_scorer_support.hpp"

namespace backscore {
namespace {

using namespace era_scorer_test;

TEST(CudaEraScorer, PinnedInputAndSeveralEras) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(5, 40);
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 8;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  for (std::uint32_t seed : {16u, 17u, 18u}) {  // eras of different sizes on one scorer
    const std::size_t n = seed == 17 ? 3000 : 800;
    const TestEra t = make_era(n, 20, seed, seed == 16, 0);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::PinnedBuffer<float> pinned(t.preds.size());
    std::copy(t.preds.begin(), t.preds.end(), pinned.data());
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(20 * specs.size());
    scorer.score_full_columns(std::span<const float>(pinned.data(), pinned.size()), 20, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, "pinned seed " + std::to_string(seed));
  }
}

TEST(CudaEraScorer, NaNColumnIsRefused) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  TestEra t = make_era(100, 4, 20, false, 0);
  t.preds[2 * 100 + 17] = std::nanf("");
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer scorer(0, specs, 0);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(4 * specs.size());
  EXPECT_THROW(scorer.score_full_columns(t.preds, 4, gpu), std::invalid_argument);
}

TEST(CudaEraScorer, BadDeviceIndexThrows) {
  SKIP_WITHOUT_DEVICE();
  EXPECT_THROW(cuda::CudaEraScorer(1000, all_specs(3, 10), 0), std::invalid_argument);
}

// The same block on the same scorer (and after a second begin_era of the same era) gives the same
// bits: fixed reduction orders, no atomics, one cuBLAS stream. Another batch split agrees to
// rounding only (cuBLAS may block a GEMM differently for another number of columns).
TEST(CudaEraScorer, RepeatedScoringIsBitIdentical) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  for (std::size_t n : {3000u, 9000u}) {  // block sort, segmented sort
    const TestEra t = make_era(n, 24, static_cast<std::uint32_t>(50 + n), true, 1);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::EraScorerOptions opt;
    opt.max_batch_models = 7;
    cuda::CudaEraScorer scorer(0, specs, 0, opt);
    const std::size_t F = specs.size();
    std::vector<double> a(t.m * F), b(t.m * F), c(t.m * F), d(t.m * F);
    scorer.begin_era(t.era, ctx);
    scorer.score_full_columns(t.preds, t.m, a);
    scorer.score_full_columns(t.preds, t.m, b);
    scorer.begin_era(t.era, ctx);
    scorer.score_full_columns(t.preds, t.m, c);
    EXPECT_TRUE(bit_identical(a, b)) << "n=" << n;
    EXPECT_TRUE(bit_identical(a, c)) << "n=" << n;
    cuda::CudaEraScorer whole(0, specs, 0);
    whole.begin_era(t.era, ctx);
    whole.score_full_columns(t.preds, t.m, d);
    for (std::size_t x = 0; x < a.size(); ++x) {
      EXPECT_TRUE((std::isnan(a[x]) && std::isnan(d[x])) || std::fabs(a[x] - d[x]) <= 1e-12)
          << "n=" << n << " model " << x / F << " " << specs[x % F].name() << ": " << a[x] << " vs "
          << d[x];
    }
  }
}

// A NaN column in the fourth device batch of a pinned block: the scorer throws, has finished every
// copy out of the caller's block when it does (the block is freed right after), and scores the
// next block correctly.
TEST(CudaEraScorer, NaNInALaterBatchOfPinnedInputLeavesTheScorerUsable) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  const TestEra t = make_era(100, 12, 60, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 3;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(t.m * specs.size());
  {
    cuda::PinnedBuffer<float> pinned(t.preds.size());
    std::copy(t.preds.begin(), t.preds.end(), pinned.data());
    pinned[10 * 100 + 5] = std::nanf("");
    EXPECT_THROW(
        scorer.score_full_columns(std::span<const float>(pinned.data(), pinned.size()), t.m, gpu),
        std::invalid_argument);
  }
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "after a refused NaN column");
}

// run_eras hands the scorer --batch columns at a time, fewer than the device batch planned for the
// era's models: blocks of varying width (the internal pinned staging grows on demand).
TEST(CudaEraScorer, CallerBlocksOfVaryingWidthOnOneEra) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 200);
  const TestEra t = make_era(800, 40, 61, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer scorer(0, specs, 0);  // 2 lanes: device batches of up to 20
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 2u);
  EXPECT_EQ(scorer.memory_plan().batch_models, 20u);
  const std::size_t n = 800, F = specs.size();
  std::vector<double> gpu(t.m * F);
  std::size_t first = 0;
  for (std::size_t w : {5u, 30u, 2u, 3u}) {
    scorer.score_full_columns(std::span<const float>(t.preds.data() + first * n, w * n), w,
                              std::span<double>(gpu.data() + first * F, w * F));
    first += w;
  }
  ASSERT_EQ(first, t.m);
  expect_match(gpu, cpu_scores(t, ctx, specs), specs, "varying widths");
}

// Move construction and move assignment (the assigned-over scorer is released safely).
TEST(CudaEraScorer, MovedScorersKeepWorking) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(500, 16, 62, false, 1);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  std::vector<double> gpu(t.m * specs.size());
  cuda::CudaEraScorer a(0, specs, 0);
  a.begin_era(t.era, ctx);
  a.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "before the moves");
  a = cuda::CudaEraScorer(0, specs, 0);
  a.begin_era(t.era, ctx);
  cuda::CudaEraScorer b(std::move(a));
  b.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "after the moves");
}

TEST(CudaEraScorer, MisuseThrows) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  cuda::CudaEraScorer fresh(0, specs, 0);
  std::vector<float> block(100);
  std::vector<double> out(specs.size());
  EXPECT_THROW(fresh.score_full_columns(block, 1, out), std::logic_error);  // before begin_era
  cuda::EraScorerOptions opt;
  opt.sort_path = cuda::SortPath::block;  // 9,000 rows do not fit one block
  const TestEra t = make_era(9000, 2, 64, false, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer forced(0, specs, 0, opt);
  EXPECT_THROW(forced.begin_era(t.era, ctx), std::invalid_argument);
}

}  // namespace
}  // namespace backscore
