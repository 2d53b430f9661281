// Planning device memory under the cap (see memory_plan.hpp).
#include "host/run/cuda/memory_plan.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "core/error.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda {

std::size_t per_model_bytes(const BatchPlan& plan) {
  const std::size_t n = plan.n(), d = 8 * n, u = 4 * n;
  const BatchBufferNeeds& need = plan.needs;
  std::size_t b = u                              // the predictions (float)
                  + 2 * d + 2 * u                // sort keys in/out (64-bit), values, order
                  + 8 + 8 * plan.slots.stride    // segment offsets, results
                  + 8 * plan.coefficient_rows()  // GEMM coefficients
                  + 8 * plan.stages.meta_sums;   // the meta-model sums' weights
  if (need.first) b += d;
  if (need.gauss) b += d;
  if (need.powered) b += d;
  if (need.work) b += d;
  if (need.order2) b += u;
  if (need.fnc_ranks) b += 2 * d;
  return b;
}

std::string mib(std::size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

MemoryPlan plan_memory(const BatchPlan& plan, std::size_t era_bytes, const LaneBudget& budget,
                       const std::string& era_name) {
  const std::size_t n = plan.n();
  MemoryPlan mp;
  mp.era_bytes = era_bytes;
  mp.per_model_bytes = per_model_bytes(plan);
  const std::size_t base = era_bytes;
  // CUB's scratch, shared by both sorts; none when every sort of the era takes the block path.
  auto sort_temp = [&](std::size_t models) {
    return (plan.sort.block_float && (!plan.needs.order2 || plan.sort.block_double))
               ? std::size_t{0}
               : round_up(detail::segmented_sort_temp_bytes(n, models));
  };
  // One lane: its cuBLAS workspace and its batch buffers.
  mp.lane_sums_bytes = round_up(8 * n * plan.stages.meta_sums);
  auto lane_bytes = [&](std::size_t models) {
    return kCublasWorkspaceBytes + mp.lane_sums_bytes + mp.per_model_bytes * models +
           sort_temp(models) + kBatchSlackBytes;
  };
  const std::size_t max_models = plan.era.max_models;
  std::size_t lanes = std::min(budget.lanes_available, max_models), mb = 0;
  for (; lanes > 0; --lanes) {
    std::size_t share = (max_models + lanes - 1) / lanes;
    if (budget.max_batch_models > 0) share = std::min(share, budget.max_batch_models);
    share = std::min(share, kMaxInt / n);  // cuBLAS/CUB int sizes
    mb = share;
    // When the cap binds, step down to a width estimated with the sort's scratch per column
    // (CUB's temporary storage grows about linearly with the items), so the width is found in a
    // few CUB size queries rather than one per column.
    const std::size_t sort_per_model = mb > 0 ? (sort_temp(mb) + mb - 1) / mb : 0;
    while (mb > 0 && base + lanes * lane_bytes(mb) > budget.cap) {
      const std::size_t avail = budget.cap > base ? (budget.cap - base) / lanes : 0;
      const std::size_t lane_fixed = kCublasWorkspaceBytes + mp.lane_sums_bytes + kBatchSlackBytes;
      const std::size_t guess =
          avail > lane_fixed ? (avail - lane_fixed) / (mp.per_model_bytes + sort_per_model) : 0;
      mb = std::min(mb - 1, guess);
    }
    const std::size_t floor = std::min(share, std::max<std::size_t>(budget.min_lane_models, 1));
    if (mb >= floor || (lanes == 1 && mb > 0)) break;
  }
  if (mb == 0) {
    throw ResourceLimitError("the GPU memory cap of " + mib(budget.cap) +
                             " holds no model column of era " + era_name + " (" +
                             std::to_string(n) + " stocks; needs " + mib(base + lane_bytes(1)) +
                             "): raise the cap");
  }
  mp.lanes = lanes;
  mp.batch_models = mb;
  mp.sort_temp_bytes = sort_temp(mb);
  mp.fixed_bytes = lanes * kCublasWorkspaceBytes;
  return mp;
}

}  // namespace backscore::cuda
