// The cases issue 18's reading of the GPU suite found missing: more than 500 columns of more than
// 8,192 stocks on the segmented sort (the path whose sort once synchronized the host), a target
// and a benchmark other than the first, NaN detection on the segmented path, a realistic feature
// count for fnc (1,200), an era sequence that needs fewer lanes and then more, and a scorer that
// keeps working after begin_era refused an era for the cap. Each against the CPU engine (1e-9,
// NaN where the CPU gives NaN). Every test skips without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "era_scorer_support.hpp"

namespace backscore {
namespace {

using namespace era_scorer_test;

TEST(CudaEraScorerGaps, MoreThan500ColumnsOnTheSegmentedSort) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({3, 2000});
  const TestEra t = make_era(9000, 600, 81, false, 1);
  cuda::EraScorerOptions opt;
  opt.streams = 2;
  score_and_compare(t, specs, "9000 stocks x 600 columns", opt);
}

// Two targets and two benchmarks: the context's second of each must be the one scored.
TEST(CudaEraScorerGaps, SecondTargetAndSecondBenchmark) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({5});
  TestEra t = make_era(700, 24, 82, true, 0);
  std::mt19937_64 rng(82);
  std::normal_distribution<double> z;
  const std::size_t n = t.era.n_stocks();
  for (std::size_t i = 0; i < n; ++i) t.era.targets.push_back(std::round(z(rng)) * 0.25);
  for (std::size_t i = 0; i < n; ++i) t.era.benchmarks.push_back(z(rng));
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 1, 1);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  const EraContext first(t.era, {}, ContextNeeds::of(specs), 0, 0);
  ASSERT_NE(cpu, cpu_scores(t, first, specs)) << "the second target must change the scores";
  cuda::CudaEraScorer scorer(0, specs, 0);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(t.m * specs.size());
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "target 1, benchmark 1");
}

TEST(CudaEraScorerGaps, NaNColumnIsRefusedOnTheSegmentedPath) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  for (const std::size_t n : {300u, 9000u}) {
    TestEra t = make_era(n, 6, 83, false, 0);
    t.preds[4 * n + n / 2] = std::nanf("");
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::EraScorerOptions opt;
    opt.sort_path = cuda::SortPath::segmented;
    cuda::CudaEraScorer scorer(0, specs, 0, opt);
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(6 * specs.size());
    EXPECT_THROW(scorer.score_full_columns(t.preds, 6, gpu), std::invalid_argument) << n;
    // The scorer stays usable: the same era without the NaN column.
    const TestEra clean = make_era(n, 6, 84, false, 0);
    const EraContext clean_ctx(clean.era, {}, ContextNeeds::of(specs), 0, 0);
    scorer.begin_era(clean.era, clean_ctx);
    scorer.score_full_columns(clean.preds, 6, gpu);
    expect_match(gpu, cpu_scores(clean, clean_ctx, specs), specs, "after a refused NaN column");
  }
}

TEST(CudaEraScorerGaps, FncAt1200Features) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = {{Builtin::fnc, 0}, {Builtin::fnc, 100},
                                          {Builtin::corr, 0}};
  const TestEra t = make_era(3000, 16, 85, false, 1, true, 1200);
  score_and_compare(t, specs, "fnc, 3000 stocks x 1200 features (+3 collinear)");
}

// Era 1 needs one lane (2 columns), era 2 all four, era 3 one again: every lane's buffers are
// grown when first used and the results do not depend on which lane scored a column.
TEST(CudaEraScorerGaps, FewerLanesThenMoreThenFewer) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({3, 50});
  cuda::EraScorerOptions opt;
  opt.streams = 4;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  std::uint32_t seed = 86;
  for (const std::size_t m : {2u, 64u, 3u}) {
    const TestEra t = make_era(1200, m, seed++, m == 64, 0);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(m * specs.size());
    scorer.score_full_columns(t.preds, m, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, std::to_string(m) + " columns");
  }
  EXPECT_GE(scorer.most_streams_used(), 2u);
}

// A cap that holds the small era but not the large one: begin_era of the large one throws, and
// the scorer then scores the small era as if nothing had happened.
TEST(CudaEraScorerGaps, RecoversAfterBeginEraRefusedForTheCap) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({3});
  const TestEra small = make_era(400, 8, 89, false, 0);
  const TestEra large = make_era(9000, 8, 90, false, 0, true, 400);
  const EraContext small_ctx(small.era, {}, ContextNeeds::of(specs), 0, 0);
  const EraContext large_ctx(large.era, {}, ContextNeeds::of(specs), 0, 0);
  std::size_t cap = 0;
  {
    cuda::CudaEraScorer probe(0, specs, 0);
    probe.begin_era(small.era, small_ctx);
    cap = cap_for(probe.memory_plan(), probe.memory_plan().lanes, 8);
  }
  cuda::CudaEraScorer scorer(0, specs, cap);
  EXPECT_THROW(scorer.begin_era(large.era, large_ctx), ResourceLimitError);
  scorer.begin_era(small.era, small_ctx);
  score_under_cap(scorer, small, small_ctx, specs, cap, "after a refused era");
}

}  // namespace
}  // namespace backscore
