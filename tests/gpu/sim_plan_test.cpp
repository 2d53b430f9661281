// simulate's extras in the CUDA scorer's plans, host-only (run without a device, in CI's CUDA
// build): what the batch computes (BatchPlan), the memory it plans (MemoryPlan: the weights per
// model, each lane's partial sums) and that a lane's buffers, carved as the device's are, fit in
// what the plan allocates, with the cap binding or not.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "host/run/cuda/batch_plan.hpp"
#include "host/run/cuda/lane.hpp"
#include "host/run/cuda/memory_plan.hpp"
#include "kernels/result_layout.hpp"

namespace backscore::cuda {
namespace {

EraFacts facts(std::size_t n, std::size_t models, bool meta) {
  EraFacts e;
  e.n = n;
  e.max_models = models;
  e.meta = meta;
  e.meta_gauss = meta;
  e.meta_corr_v1 = 0.1;
  e.mmc2_rank = meta ? 2 : 0;
  return e;
}

// Block sorts for every n here: no CUB size query, so no device is needed.
constexpr BlockSortLimits kLimits{8192, 8192};

TEST(SimBatchPlan, MetaSumsAskForTheGaussianizedRanksOnly) {
  FormulaAsks asks = FormulaAsks::of({});
  asks.meta_sums = 3;
  const BatchPlan p = BatchPlan::make(asks, facts(5000, 2000, true), SortPath::automatic, kLimits);
  EXPECT_EQ(p.stages.meta_sums, 3u);
  EXPECT_TRUE(p.needs.gauss);
  EXPECT_FALSE(p.needs.first || p.needs.powered || p.needs.work || p.needs.order2);
  EXPECT_FALSE(p.stages.meta_pearson);
  EXPECT_EQ(p.slots.meta_pearson, layout::kNoSlot);
  EXPECT_EQ(p.slots.stride, layout::kFixedSlots);
}

TEST(SimBatchPlan, XcorrIsAPairBlockWhenTheEraHasAMetaModel) {
  FormulaAsks asks = FormulaAsks::of(std::vector<FormulaSpec>{{Builtin::mmc2, 0}});
  asks.meta_pearson = true;
  const BatchPlan with =
      BatchPlan::make(asks, facts(3000, 100, true), SortPath::automatic, kLimits);
  EXPECT_TRUE(with.stages.meta_pearson);
  EXPECT_TRUE(with.needs.gauss);
  ASSERT_NE(with.slots.meta_pearson, layout::kNoSlot);
  EXPECT_LE(with.slots.meta_pearson + layout::kPairSlots, with.slots.stride);
  EXPECT_NE(with.slots.meta_pearson, with.slots.mmc2_plus);
  const BatchPlan without =
      BatchPlan::make(asks, facts(3000, 100, false), SortPath::automatic, kLimits);
  EXPECT_FALSE(without.stages.meta_pearson);
  EXPECT_EQ(without.slots.meta_pearson, layout::kNoSlot);
}

// The plan counts the weights per model and each lane's n x k sums, stays under the cap, and a
// lane's buffers carved from lane_batch_bytes hold them (the carving throws when they do not).
TEST(SimBatchPlan, LaneBuffersHoldTheSumsUnderTheCap) {
  FormulaAsks asks = FormulaAsks::of(std::vector<FormulaSpec>{{Builtin::corr, 0}});
  asks.meta_sums = 4;
  const std::size_t n = 5000;
  const BatchPlan p = BatchPlan::make(asks, facts(n, 600, true), SortPath::automatic, kLimits);
  FormulaAsks plain_asks = FormulaAsks::of(std::vector<FormulaSpec>{{Builtin::corr, 0}});
  const BatchPlan plain =
      BatchPlan::make(plain_asks, facts(n, 2000, true), SortPath::automatic, kLimits);
  EXPECT_GE(per_model_bytes(p), per_model_bytes(plain) + 8 * 4);
  for (const std::size_t cap : {std::size_t{1} << 34, std::size_t{150} << 20}) {
    LaneBudget budget;
    budget.cap = cap;
    budget.lanes_available = 2;
    budget.min_lane_models = 1;
    const std::size_t era_bytes = std::size_t{1} << 20;
    const MemoryPlan mp = plan_memory(p, era_bytes, budget, "era");
    EXPECT_EQ(mp.lane_sums_bytes, round_up(8 * n * 4));
    EXPECT_LE(mp.total_bytes(), cap) << cap;
    // What the scorer allocates: the era's buffers, each lane's workspace and batch buffers.
    EXPECT_LE(era_bytes + mp.lanes * (kCublasWorkspaceBytes + lane_batch_bytes(mp)), cap) << cap;
    EXPECT_GE(mp.batch_models, 1u);
    if (cap < (std::size_t{1} << 30)) {
      EXPECT_LT(mp.batch_models, 300u) << "the cap binds";
    }
    // Lane memory as the scorer allocates it, on the host: only pointers are carved.
    std::vector<std::byte> memory(lane_batch_bytes(mp) + kAlign);
    std::byte* base = memory.data();
    while (reinterpret_cast<std::uintptr_t>(base) % kAlign != 0) ++base;
    LaneBuffers b;
    ASSERT_NO_THROW(b.carve(base, lane_batch_bytes(mp), p, mp.batch_models, mp.sort_temp_bytes));
    ASSERT_NE(b.weights, nullptr);
    ASSERT_NE(b.sums, nullptr);
    ASSERT_NE(b.gauss, nullptr);
    EXPECT_LE(reinterpret_cast<std::byte*>(b.sums + n * 4), base + lane_batch_bytes(mp));
    EXPECT_LE(reinterpret_cast<std::byte*>(b.weights + mp.batch_models * 4),
              base + lane_batch_bytes(mp));
  }
}

}  // namespace
}  // namespace backscore::cuda
