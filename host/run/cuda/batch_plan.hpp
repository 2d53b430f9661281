// What one era's device batches compute, decided once per era from what the run's formulas ask
// for and what the era provides: the stages, the per-column buffers they use, the sorts' paths
// and where each stage's numbers land in the batch's results array (kernels/result_layout.hpp).
// Host-only, no CUDA.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/run/cuda/era_scorer.hpp"

namespace backscore {

struct Era;
class EraContext;

namespace cuda {

// Which built-ins the run's formulas ask for, and the distinct top/bottom sizes of each (fixed for
// the scorer). Defined formulas and top/bottom variants of formulas without one ask for nothing.
struct FormulaAsks {
  bool corr_v1 = false, corr = false, mmc = false, bmc = false, mmc2 = false, mmc2_burnflip = false,
       fnc = false;
  std::vector<std::size_t> corr_tb, mmc_tb, bmc_tb, fnc_tb;
  std::size_t meta_sums = 0;  // EraScorerOptions::meta_sums
  bool meta_pearson = false;  // EraScorerOptions::meta_pearson
  static FormulaAsks of(std::span<const FormulaSpec> specs);
};

// What the era provides, read from its EraContext.
struct EraFacts {
  std::size_t n = 0;           // rows (stocks)
  std::size_t max_models = 1;  // the era's submitted models (>= 1)
  bool meta = false, meta_gauss = false, bench = false, features = false;
  bool burn = false;  // the meta-model's corr_v1 < 0
  bool corr_target_ok = true;
  double meta_corr_v1 = 0, meta_norm2 = 0, bench_norm2 = 0;
  double target_dot_meta = 0, target_dot_bench = 0;  // mmc target . meta / benchmark gauss
  std::size_t mmc2_rank = 0, fnc_rank = 0;           // kept exposure columns of the CPU's QR
  static EraFacts of(const Era& era, const EraContext& ctx);
};

// The stages every device batch of the era runs.
struct BatchStages {
  bool corr_v1 = false;       // pair stats (target, first)
  bool xcorr = false;         // pair stats (meta-model, first): burn eras of mmc2_burnflip
  bool mmc2_plus = false;     // mmc2 residual with proportion +1
  bool mmc2_minus = false;    // and -1 (burn eras of mmc2_burnflip)
  bool corr = false;          // power check and corr
  bool dots = false;          // [mmc target, meta gauss, bench gauss]^T gauss
  bool fnc = false;           // feature-neutral corr
  std::size_t meta_sums = 0;  // simulate: weighted sums of gauss (a GEMM), this many
  bool meta_pearson = false;  // simulate: pair stats (meta-model, gauss)
  // Top/bottom sizes with 2k <= n, per formula.
  std::vector<std::size_t> corr_tb, mmc_tb, bmc_tb, fnc_tb;
  // Exposure columns the batch projects on (0 when its stage is off).
  std::size_t mmc2_rank = 0, fnc_rank = 0;
};

// The per-column n-vectors of a batch the stages use (beyond the predictions and first sort).
struct BatchBufferNeeds {
  bool first = false;      // tie-broken percentiles
  bool gauss = false;      // gaussianized tie-kept ranks
  bool powered = false;    // their ^1.5
  bool work = false;       // a residual / p_perp
  bool order2 = false;     // a second sort (double keys)
  bool fnc_ranks = false;  // fnc's gauss and powered ranks of the residual
  bool rank_tables() const { return gauss || fnc_ranks; }
};

// One top/bottom size and the offset of its pair-statistics block.
struct TopBottomSlot {
  std::size_t k = 0;
  std::size_t slot = 0;
};

// Offsets of each stage's block in a column's results (layout::kNoSlot when not computed), and
// the stride (slots per column). Pair blocks are layout::kPairSlots long, `dots` layout::kDotSlots.
struct ResultSlotMap {
  std::size_t stride = 0;
  std::size_t corr_v1, xcorr, mmc2_plus, mmc2_minus;
  std::size_t meta_pearson;  // (meta-model, gauss): simulate's xcorr
  std::size_t corr_power;    // (powered, gauss): the power check
  std::size_t corr;          // (corr target, powered)
  std::size_t dots;
  std::size_t fnc_resid;  // (residual, residual): its centered sum of squares gives the std
  std::size_t fnc_power;  // (powered, gauss) of the residual's ranks
  std::size_t fnc;        // (corr target, powered residual ranks)
  std::vector<TopBottomSlot> corr_tb, mmc_tb, bmc_tb, fnc_tb;
  // The block of size k in `v`; throws std::logic_error when the plan has none.
  static std::size_t find(const std::vector<TopBottomSlot>& v, std::size_t k);
};

// Which path each sort takes: one thread block per column, else CUB's segmented sort.
struct SortChoice {
  bool block_float = false;   // the predictions' sort (32-bit keys)
  bool block_double = false;  // the second sort (64-bit keys)
};

// The block-sort limits of the device (kernels' block_sort_max_rows per key type).
struct BlockSortLimits {
  std::size_t float_rows = 0, double_rows = 0;
};

struct BatchPlan {
  EraFacts era;
  BatchStages stages;
  BatchBufferNeeds needs;
  ResultSlotMap slots;
  SortChoice sort;

  // Throws std::invalid_argument when SortPath::block is forced on an era too large for it.
  static BatchPlan make(const FormulaAsks& asks, const EraFacts& era, SortPath path,
                        BlockSortLimits limits);
  std::size_t n() const { return era.n; }
  std::size_t coefficient_rows() const;  // rows of the GEMM coefficients per column
};

}  // namespace cuda
}  // namespace backscore
