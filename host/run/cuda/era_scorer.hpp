// CudaEraScorer: the CUDA backend's scoring of one era, batched across every model column that
// submitted all of the era's ids. Host-only header (no CUDA types; pimpl), so g++ code such as the
// run loop can use it; failures of CUDA calls throw backscore::CudaError (kernels/cuda_error.hpp).
//
// Contract (what the run loop does with it, per era):
//
//   cuda::CudaEraScorer scorer(device, specs, memory_cap);     // once per run (per device)
//   ...
//   EraContext ctx(era, {}, ContextNeeds::of(specs), target_index, benchmark_index);  // CPU, all
//   rows scorer.begin_era(era, ctx); for each batch of prediction columns read from the store:
//     columns with every id present (no NaN) -> gathered into one column-major n x m float block
//       scorer.score_full_columns(block, m, out);   // out[j * specs.size() + f], model-major
//     columns with some ids missing -> the CPU path (enough_ids / own EraContext / score_model),
//       exactly as the CPU backend does it; CudaEraScorer never sees them.
//
// Semantics: the result for every column equals host score_model(ctx, column as double, specs)
// to about 1e-12 absolute (FP64 after the float load; only summation order differs), including
// the NaN cases of docs/FORMULAS.md. Defined formulas (FormulaSpec::is_defined) get NaN, as from
// score_model: the plan evaluator scores those on the CPU.
//
// Per-era stages come from the caller's EraContext (the same object the CPU path uses, built on
// ALL rows with at least ContextNeeds::of(specs)): target variants, the meta-model's and the
// benchmark's ranks, and which exposure columns the CPU's rank-revealing QR kept. begin_era
// uploads those; mmc2's kept columns ([u(meta), 0.5]) are factorized on the device (cuSOLVER
// geqrf/orgqr), fnc's factors (kept columns, Q, R) are the context's projector's own, uploaded
// as they are (the cuda backend computes them on the device: fnc_factorizer.hpp), so the GPU
// projects onto exactly the subspace the CPU does.
//
// Not thread-safe: one scorer per thread. Holds device memory between eras (grown when an era
// needs more, never beyond the cap). CUB's temporary storage is part of each lane's batch buffers,
// sized by the era's memory plan: no allocation per sort or per batch.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "host/era/formulas.hpp"

namespace backscore {

struct Era;
class EraContext;

namespace cuda {

enum class SortPath {
  automatic,  // one thread block per column (shared-memory radix sort) when the era fits, else CUB
  block,      // force the shared-memory block sort (throws in begin_era if the era does not fit)
  segmented,  // force cub::DeviceSegmentedSort (any size)
};

struct EraScorerOptions {
  SortPath sort_path = SortPath::automatic;
  // Upper bound on the models per device batch (0 = as many as the memory cap allows). For tests
  // and benchmarks that need a batch split.
  std::size_t max_batch_models = 0;
  // CUDA streams ("lanes", 1..kMaxStreams), each with its own cuBLAS handle and workspace, cuSOLVER
  // handle, device batch buffers and pinned host buffers. Consecutive device batches go to the
  // lanes in turn, so one lane's host-to-device copy, result copy and host work overlap another's
  // kernels; begin_era uploads fnc's factors on a second lane while mmc2's QR runs. An era uses at
  // most one lane per model, and fewer when the memory cap does not hold even one model per lane
  // (each lane has its own 32 MiB cuBLAS workspace; see MemoryPlan::lanes).
  int streams = 2;
  // A lane is planned only if the memory cap leaves it at least this many models per device
  // batch (or its whole share of the era's models, if fewer); else the era uses fewer lanes with
  // larger batches. Tests lower it to force several lanes under a small cap.
  std::size_t min_lane_models = 32;
  // What `backscore simulate` asks of every batch beyond the formulas (BatchExtras): sums of the
  // columns' gaussianized ranks under this many weight vectors (the rules' meta-models; 0: none),
  // and each column's Pearson correlation of those ranks with the era's meta-model (xcorr).
  std::size_t meta_sums = 0;
  bool meta_pearson = false;
};

// The outputs of score_full_columns beyond the formulas' scores, for the options that ask them.
struct BatchExtras {
  // With options.meta_sums = k: column j's weight in sum r at weights[r * m + j] (m x k), and
  // sums[r * n + i] += sum_j weights[r * m + j] * gauss_j[i] (n x k, added to), in an order fixed
  // by the options (each lane's batches in turn, the lanes' partial sums added in lane order).
  std::span<const double> weights;
  std::span<double> sums;
  // With options.meta_pearson: m values, NaN when the era has no meta-model.
  std::span<double> meta_pearson;
};

inline constexpr int kMaxStreams = 8;

// How begin_era divided the device memory for the current era. Every lane holds the buffers of
// one device batch: the era's buffers are shared read-only by all lanes.
struct MemoryPlan {
  std::size_t era_bytes = 0;        // per-era buffers (era vectors, gaussian tables, Q, R, X)
  std::size_t per_model_bytes = 0;  // device bytes per model column of a lane's batch
  std::size_t sort_temp_bytes = 0;  // CUB temporary storage for a full batch, per lane
  std::size_t fixed_bytes = 0;      // the cuBLAS workspaces of the era's lanes
  std::size_t lane_sums_bytes = 0;  // per lane: its partial meta-model sums (meta_sums x n)
  std::size_t batch_models = 0;     // models per device batch (>= 1)
  std::size_t lanes = 0;            // lanes (streams) this era's batches use (>= 1)
  std::size_t total_bytes() const {
    return era_bytes + fixed_bytes +
           lanes * (sort_temp_bytes + lane_sums_bytes + per_model_bytes * batch_models);
  }
};

class CudaEraScorer {
 public:
  // device: CUDA device index (cudaSetDevice is called here and before each call's work).
  // specs: the run's formulas, in output order. memory_cap_bytes: the most device memory this
  // scorer allocates (0 = 90% of the device's free memory at construction). Throws CudaError when
  // the device cannot be used, std::invalid_argument for a bad device index.
  CudaEraScorer(int device, std::vector<FormulaSpec> specs, std::size_t memory_cap_bytes,
                EraScorerOptions options = {});
  ~CudaEraScorer();
  CudaEraScorer(CudaEraScorer&&) noexcept;
  CudaEraScorer& operator=(CudaEraScorer&&) noexcept;
  CudaEraScorer(const CudaEraScorer&) = delete;
  CudaEraScorer& operator=(const CudaEraScorer&) = delete;

  // Prepares era `era` for score_full_columns: ctx must be built on all of era's rows
  // (ctx.size() == era.n_stocks(); rows = {}) with needs covering ContextNeeds::of(specs), from the
  // same era object (features are read from `era`). Both must outlive nothing: everything needed
  // is copied to the device before returning. Throws std::invalid_argument on a mismatched ctx,
  // ResourceLimitError (core/error.hpp) when even one model column (or the exposures' QR scratch)
  // does not fit under the memory cap, CudaError on a CUDA failure (including cuSOLVER devInfo !=
  // 0).
  void begin_era(const Era& era, const EraContext& ctx);

  // Scores m model columns of the current era. block: column-major n x m float32 (n =
  // era.n_stocks(); column j at block[j * n .. (j + 1) * n), the store's layout) with NO NaN (every
  // id present; a NaN throws std::invalid_argument and such columns belong to the CPU path).
  // out: m * specs.size() doubles, out[j * specs.size() + f] = score of column j under specs[f]
  // (the layout of EraScores::scores). Splits into device batches of memory_plan().batch_models
  // internally (a call of m <= lanes x batch_models columns is split evenly over the lanes), the
  // batches going to the lanes in turn: one lane's copies overlap another's kernels. If block lies
  // in pinned memory (e.g. a cuda::PinnedBuffer<float> or cuda::allocate_pinned) it is copied to
  // the device directly, otherwise through the lane's pinned staging buffer. Returns when out is
  // complete. The result of a column does not depend on the lane that scored it; it may differ in
  // the last bits between device batch sizes (cuBLAS picks its GEMM kernel by size), so the same
  // call on the same options gives the same bytes.
  // extras: what options.meta_sums and options.meta_pearson ask (BatchExtras), else empty.
  void score_full_columns(std::span<const float> block, std::size_t m, std::span<double> out,
                          const BatchExtras& extras = {});

  const std::vector<FormulaSpec>& specs() const;
  const MemoryPlan& memory_plan() const;  // of the current era
  std::size_t peak_device_bytes() const;  // the most this scorer has held at once, all eras
  std::size_t memory_cap() const;
  int device() const;
  // Number of kept exposure columns whose |R_jj| on the device came out at or below the CPU's
  // rank cutoff (nearly collinear exposures: the GPU then keeps the CPU's column set anyway and
  // the two backends agree only to cutoff / remainder, see docs/FORMULAS.md). Summed over eras.
  std::size_t borderline_rank_columns() const;
  std::size_t streams() const;               // lanes created (options.streams)
  std::size_t largest_batch_models() const;  // the widest device batch scored so far
  std::size_t most_streams_used() const;     // the most lanes one call has used so far

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cuda
}  // namespace backscore
