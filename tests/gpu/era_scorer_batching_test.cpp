// CudaEraScorer's batches and lanes: batch splits forced by max_batch_models and by a small memory
// cap, fewer lanes when the cap holds fewer workspaces, 1 to 8 streams scoring the same bytes, the
// cuSOLVER scratch under a tight cap, and a cap too small for one model column. Every test that
// needs a CUDA device skips without one.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "era_scorer_support.hpp"

namespace backscore {
namespace {

using namespace era_scorer_test;

TEST(CudaEraScorer, BatchSplitByMaxBatchModels) {
  SKIP_WITHOUT_DEVICE();
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 3;  // 40 models: 14 batches, the last one short
  run_case(500, 40, 14, true, 0, opt);
}

TEST(CudaEraScorer, BatchSplitBySmallMemoryCap) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 15, true, 1);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  for (int streams : {1, 2}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    opt.min_lane_models = 1;  // keep both lanes under the small cap
    std::size_t cap = 0;
    {
      cuda::CudaEraScorer probe(0, specs, 0, opt);
      probe.begin_era(t.era, ctx);
      const cuda::MemoryPlan& p = probe.memory_plan();
      EXPECT_EQ(p.lanes, static_cast<std::size_t>(streams));
      EXPECT_EQ(p.batch_models * p.lanes, 40u);
      cap = cap_for(p, p.lanes, 7);
    }
    cuda::CudaEraScorer scorer(0, specs, cap, opt);
    EXPECT_EQ(scorer.streams(), static_cast<std::size_t>(streams));
    scorer.begin_era(t.era, ctx);
    const cuda::MemoryPlan& p = scorer.memory_plan();
    EXPECT_EQ(p.lanes, static_cast<std::size_t>(streams));
    EXPECT_GE(p.batch_models, 1u);
    EXPECT_LE(p.batch_models, 7u);
    EXPECT_LE(p.total_bytes(), cap);
    EXPECT_LE(scorer.peak_device_bytes(), cap);
    score_under_cap(scorer, t, ctx, specs, cap,
                    "small cap, " + std::to_string(streams) + " streams");
  }
}

// A cap that holds one lane's workspace and a few models but not two workspaces: the era runs on
// one lane (of the two asked for) rather than failing.
TEST(CudaEraScorer, FewerLanesWhenTheCapHoldsOneWorkspace) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 16, false, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::EraScorerOptions one;
  one.streams = 1;
  std::size_t cap = 0;
  {
    cuda::CudaEraScorer probe(0, specs, 0, one);
    probe.begin_era(t.era, ctx);
    cap = cap_for(probe.memory_plan(), 1, 5);
  }
  cuda::CudaEraScorer scorer(0, specs, cap);  // 2 streams asked for
  EXPECT_EQ(scorer.streams(), 2u);
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 1u);
  EXPECT_LE(scorer.memory_plan().batch_models, 5u);
  score_under_cap(scorer, t, ctx, specs, cap, "one lane under the cap");
  EXPECT_EQ(scorer.most_streams_used(), 1u);
  EXPECT_LE(scorer.largest_batch_models(), 5u);
}

// Under the same small cap with the default floor (32 models per lane), the era takes one lane
// and every model in one batch rather than two lanes of 7.
TEST(CudaEraScorer, OneWideLaneRatherThanTwoNarrowOnes) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 17, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  std::size_t cap = 0;
  {
    cuda::CudaEraScorer probe(0, specs, 0);
    probe.begin_era(t.era, ctx);
    ASSERT_EQ(probe.memory_plan().lanes, 2u);
    cap = cap_for(probe.memory_plan(), 2, 7);
  }
  cuda::CudaEraScorer scorer(0, specs, cap);
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 1u);
  EXPECT_EQ(scorer.memory_plan().batch_models, 40u);  // a workspace's worth of room: ~200 models
  score_under_cap(scorer, t, ctx, specs, cap, "one wide lane");
}

// Every stream count scores the same bytes when the device batches have the same sizes (each
// column's arithmetic depends on its batch's size only, never on the lane), and matches the CPU.
TEST(CudaEraScorer, StreamCountsAgreeBitForBit) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  for (std::size_t n : {500u, 9000u}) {  // block sort, segmented sort
    const TestEra t = make_era(n, 40, static_cast<std::uint32_t>(70 + n), true, 1);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    const std::vector<double> cpu = cpu_scores(t, ctx, specs);
    std::vector<double> first;
    for (int streams : {1, 2, 3, 8}) {
      cuda::EraScorerOptions opt;
      opt.streams = streams;
      opt.max_batch_models = 5;  // 8 batches of 5 on every stream count
      cuda::CudaEraScorer scorer(0, specs, 0, opt);
      scorer.begin_era(t.era, ctx);
      EXPECT_EQ(scorer.memory_plan().lanes, static_cast<std::size_t>(streams)) << streams;
      std::vector<double> gpu(t.m * specs.size());
      scorer.score_full_columns(t.preds, t.m, gpu);
      const std::string what =
          "n=" + std::to_string(n) + ", " + std::to_string(streams) + " streams";
      expect_match(gpu, cpu, specs, what);
      if (first.empty()) {
        first = gpu;
      } else {
        EXPECT_TRUE(bit_identical(first, gpu)) << what;
      }
    }
  }
}

// More lanes than models: only as many lanes as models are planned; a one-model era on 8 streams.
TEST(CudaEraScorer, MoreStreamsThanModels) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 50);
  cuda::EraScorerOptions opt;
  opt.streams = 8;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  for (std::size_t m : {1u, 3u, 17u}) {
    const TestEra t = make_era(400, m, static_cast<std::uint32_t>(80 + m), false, 0);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    scorer.begin_era(t.era, ctx);
    EXPECT_EQ(scorer.memory_plan().lanes, std::min<std::size_t>(m, 8)) << m;
    std::vector<double> gpu(m * specs.size());
    scorer.score_full_columns(t.preds, m, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, std::to_string(m) + " models");
  }
}

// The stream count is checked before any CUDA call (so this runs without a device too).
TEST(CudaEraScorer, StreamCountOutOfRangeThrows) {
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  for (int streams : {0, -1, cuda::kMaxStreams + 1}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    EXPECT_THROW(cuda::CudaEraScorer(0, specs, 0, opt), std::invalid_argument) << streams;
  }
}

// Many features (a larger cuSOLVER workspace) under a cap just above the plan of a few models: the
// factorization's scratch must stay inside the accounted memory.
TEST(CudaEraScorer, ManyFeaturesUnderATightCap) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 300);
  const TestEra t = make_era(3000, 24, 63, true, 0, true, 150);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  for (int streams : {1, 2}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    opt.min_lane_models = 1;  // keep both lanes under the small cap
    std::size_t cap = 0;
    {
      cuda::CudaEraScorer probe(0, specs, 0, opt);
      probe.begin_era(t.era, ctx);
      cap = cap_for(probe.memory_plan(), probe.memory_plan().lanes, 5);
    }
    cuda::CudaEraScorer scorer(0, specs, cap, opt);
    scorer.begin_era(t.era, ctx);
    EXPECT_LE(scorer.peak_device_bytes(), cap);
    EXPECT_LE(scorer.memory_plan().batch_models, 5u);
    score_under_cap(scorer, t, ctx, specs, cap,
                    "150 features, tight cap, " + std::to_string(streams) + " streams");
  }
}

// A cap below the era's buffers plus one lane's cuBLAS workspace (32 MiB) and one model column:
// a ResourceLimitError (the user's to fix, not a bug) naming the era and saying to raise the cap.
TEST(CudaEraScorer, CapTooSmallForOneModelColumnIsAResourceLimit) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 4, 65, false, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer scorer(0, specs, std::size_t{16} << 20);
  try {
    scorer.begin_era(t.era, ctx);
    ADD_FAILURE() << "begin_era accepted a 16 MiB cap";
  } catch (const ResourceLimitError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("era " + t.era.name), std::string::npos) << what;
    EXPECT_NE(what.find("raise the cap"), std::string::npos) << what;
  }
  EXPECT_LE(scorer.peak_device_bytes(), scorer.memory_cap());
}

}  // namespace
}  // namespace backscore
