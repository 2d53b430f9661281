// What an era's device batches compute (see batch_plan.hpp).
#include "host/run/cuda/batch_plan.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "host/era/era_context.hpp"
#include "host/era/formula_parts.hpp"
#include "host/era/stats.hpp"
#include "io/store.hpp"
#include "kernels/result_layout.hpp"

namespace backscore::cuda {

FormulaAsks FormulaAsks::of(std::span<const FormulaSpec> specs) {
  FormulaAsks a;
  auto add_k = [](std::vector<std::size_t>& ks, std::size_t k) {
    if (k > 0 && std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
  };
  for (const FormulaSpec& f : specs) {
    if (f.is_defined()) continue;
    const std::size_t k = static_cast<std::size_t>(std::max(f.top_bottom, 0));
    if (k > 0 && !builtin_info(f.builtin).has_top_bottom) continue;  // NaN
    switch (f.builtin) {
      case Builtin::corr_v1:
        a.corr_v1 = true;
        break;
      case Builtin::corr:
        a.corr = true;
        add_k(a.corr_tb, k);
        break;
      case Builtin::mmc:
        a.mmc = true;
        add_k(a.mmc_tb, k);
        break;
      case Builtin::bmc:
        a.bmc = true;
        add_k(a.bmc_tb, k);
        break;
      case Builtin::mmc2:
        a.mmc2 = true;
        break;
      case Builtin::mmc2_burnflip:
        a.mmc2_burnflip = true;
        break;
      case Builtin::fnc:
        a.fnc = true;
        add_k(a.fnc_tb, k);
        break;
      case Builtin::neutral_corr:  // on the CPU (BuiltinInfo::on_gpu): never in the GPU's specs
      case Builtin::neutral_mmc:
      case Builtin::alpha:
      case Builtin::mpc:
      case Builtin::max_feature_corr:
        break;
    }
  }
  return a;
}

EraFacts EraFacts::of(const Era& era, const EraContext& ctx) {
  EraFacts e;
  e.n = ctx.size();
  e.meta = ctx.has_meta_model();
  e.meta_gauss = e.meta && !ctx.meta_gaussian().empty();
  e.bench = ctx.has_benchmark();
  e.features = ctx.has_features();
  e.meta_corr_v1 = e.meta ? ctx.meta_corr_v1() : formula_parts::kNaN;
  e.burn = e.meta && formula_parts::is_burn_era(e.meta_corr_v1);
  e.corr_target_ok = ctx.corr_target_ok();
  e.meta_norm2 = e.meta_gauss ? ctx.meta_norm2() : 0;
  e.bench_norm2 = e.bench ? ctx.benchmark_norm2() : 0;
  // The CPU's dot, so mmc's era-level term is the CPU's to the bit.
  e.target_dot_meta = e.meta_gauss ? dot(ctx.mmc_target(), ctx.meta_gaussian()) : 0;
  e.target_dot_bench = e.bench ? dot(ctx.mmc_target(), ctx.benchmark_gaussian()) : 0;
  e.mmc2_rank = e.meta ? ctx.mmc2_projector().rank() : 0;
  e.fnc_rank = e.features ? ctx.fnc_projector().rank() : 0;
  e.max_models = std::max<std::size_t>(era.n_submitted(), 1);
  return e;
}

std::size_t ResultSlotMap::find(const std::vector<TopBottomSlot>& v, std::size_t k) {
  for (const TopBottomSlot& s : v) {
    if (s.k == k) return s.slot;
  }
  throw std::logic_error("CudaEraScorer: top/bottom slot missing");
}

namespace {

BatchStages stages_of(const FormulaAsks& asks, const EraFacts& era) {
  auto valid_ks = [&](const std::vector<std::size_t>& ks) {
    std::vector<std::size_t> v;
    for (std::size_t k : ks) {
      if (formula_parts::top_bottom_fits(k, era.n)) v.push_back(k);
    }
    return v;
  };
  BatchStages st;
  const bool mmc2_any = asks.mmc2 && era.meta;
  const bool burn_any = asks.mmc2_burnflip && era.meta;
  st.corr_v1 = asks.corr_v1 || (burn_any && era.burn);
  st.xcorr = burn_any && era.burn;
  st.mmc2_plus = mmc2_any || (burn_any && !era.burn);
  st.mmc2_minus = burn_any && era.burn;
  st.corr = asks.corr;
  st.corr_tb = valid_ks(asks.corr_tb);
  const bool mmc_ok = asks.mmc && era.meta_gauss, bmc_ok = asks.bmc && era.bench;
  st.dots = mmc_ok || bmc_ok;
  if (mmc_ok) st.mmc_tb = valid_ks(asks.mmc_tb);
  if (bmc_ok) st.bmc_tb = valid_ks(asks.bmc_tb);
  st.fnc = asks.fnc && era.features;
  st.meta_sums = asks.meta_sums;
  st.meta_pearson = asks.meta_pearson && era.meta;
  if (st.fnc) st.fnc_tb = valid_ks(asks.fnc_tb);
  st.mmc2_rank = st.mmc2_plus || st.mmc2_minus ? era.mmc2_rank : 0;
  st.fnc_rank = st.fnc ? era.fnc_rank : 0;
  return st;
}

BatchBufferNeeds needs_of(const BatchStages& st) {
  BatchBufferNeeds b;
  const bool tb_perp = !st.mmc_tb.empty() || !st.bmc_tb.empty();
  b.first = st.corr_v1 || st.xcorr || st.mmc2_plus || st.mmc2_minus;
  b.gauss = st.corr || st.dots || st.fnc || st.meta_sums > 0 || st.meta_pearson;
  b.powered = st.corr;
  b.work = st.mmc2_plus || st.mmc2_minus || st.fnc || tb_perp;
  b.order2 = st.fnc || tb_perp;
  b.fnc_ranks = st.fnc;
  return b;
}

// Slots in a fixed order: the fixed ones, then a block per stage that runs.
ResultSlotMap slots_of(const BatchStages& st) {
  constexpr std::size_t kNone = layout::kNoSlot;
  ResultSlotMap s;
  s.stride = layout::kFixedSlots;
  auto block = [&](bool on, std::size_t len) {
    if (!on) return kNone;
    const std::size_t at = s.stride;
    s.stride += len;
    return at;
  };
  auto pair = [&](bool on) { return block(on, layout::kPairSlots); };
  auto tb = [&](const std::vector<std::size_t>& ks, std::vector<TopBottomSlot>& out) {
    for (std::size_t k : ks) out.push_back({k, pair(true)});
  };
  s.corr_v1 = pair(st.corr_v1);
  s.xcorr = pair(st.xcorr);
  s.mmc2_plus = pair(st.mmc2_plus);
  s.mmc2_minus = pair(st.mmc2_minus);
  s.meta_pearson = pair(st.meta_pearson);
  s.corr_power = pair(st.corr);
  s.corr = pair(st.corr);
  tb(st.corr_tb, s.corr_tb);
  s.dots = block(st.dots, layout::kDotSlots);
  tb(st.mmc_tb, s.mmc_tb);
  tb(st.bmc_tb, s.bmc_tb);
  s.fnc_resid = pair(st.fnc);
  s.fnc_power = pair(st.fnc);
  s.fnc = pair(st.fnc);
  tb(st.fnc_tb, s.fnc_tb);
  return s;
}

}  // namespace

BatchPlan BatchPlan::make(const FormulaAsks& asks, const EraFacts& era, SortPath path,
                          BlockSortLimits limits) {
  BatchPlan p;
  p.era = era;
  p.stages = stages_of(asks, era);
  p.needs = needs_of(p.stages);
  p.slots = slots_of(p.stages);
  const std::size_t n = era.n;
  const bool double_sort = p.needs.order2;
  if (path == SortPath::block) {
    if (n > limits.float_rows || (double_sort && n > limits.double_rows)) {
      throw std::invalid_argument(
          "CudaEraScorer: SortPath::block cannot sort " + std::to_string(n) +
          " rows on this device (at most " +
          std::to_string(double_sort ? std::min(limits.float_rows, limits.double_rows)
                                     : limits.float_rows) +
          ")");
    }
  }
  p.sort.block_float = path != SortPath::segmented && n <= limits.float_rows;
  p.sort.block_double = path != SortPath::segmented && n <= limits.double_rows;
  return p;
}

std::size_t BatchPlan::coefficient_rows() const {
  return std::max(stages.mmc2_rank, stages.fnc_rank);
}

}  // namespace backscore::cuda
