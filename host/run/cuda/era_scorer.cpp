// CudaEraScorer (see era_scorer.hpp): host orchestration of one era on the device, composed of
//   FormulaAsks     what the run's formulas ask for (batch_plan.hpp), fixed for the scorer
//   BatchPlan       what the era's batches compute and where their results land (batch_plan.hpp)
//   MemoryPlan      lanes and batch size under the memory cap (memory_plan.hpp)
//   EraDeviceData   the era's vectors, rank tables and factorized exposures (era_device_data.hpp)
//   Lane            a stream with its handles and batch buffers (lane.hpp)
//   enqueue_batch   the device work of one batch (batch_pipeline.cpp)
//   assemble_score  the formulas from a column's results, on the host (score_assembly.cpp)
// Compiled by the host compiler (C++20); the kernels are behind kernels/scoring_kernels.hpp.
#include "host/run/cuda/era_scorer.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "host/era/era_context.hpp"
#include "host/run/cuda/batch_pipeline.hpp"
#include "host/run/cuda/batch_plan.hpp"
#include "host/run/cuda/era_device_data.hpp"
#include "host/run/cuda/lane.hpp"
#include "host/run/cuda/memory_plan.hpp"
#include "host/run/cuda/score_assembly.hpp"
#include "io/store.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda {

struct CudaEraScorer::Impl {
  // ---- fixed for the scorer ----
  int device = 0;
  std::vector<FormulaSpec> specs;
  EraScorerOptions opt;
  std::vector<Lane> lanes;
  BlockSortLimits block_limits;
  FormulaAsks asks;

  // ---- the current era ----
  bool era_ready = false;
  BatchPlan batch;
  MemoryPlan plan;
  EraDeviceData era_data;

  // ---- accounting ----
  MemoryLedger ledger;  // cap and peak
  std::size_t borderline = 0;
  std::size_t largest_batch = 0, most_lanes = 0;  // of the batches scored so far

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  // Outstanding work may still use the buffers (an exception between enqueue and synchronize, or a
  // move-assignment that drops this Impl): wait before the members are freed. Never throws.
  ~Impl() {
    BACKSCORE_CUDA_WARN(cudaSetDevice(device));
    wait_idle_nothrow();
  }
  void wait_idle_nothrow() {
    for (Lane& l : lanes) {
      if (l.stream) BACKSCORE_CUDA_WARN(cudaStreamSynchronize(l.stream.get()));
      l.busy = false;
    }
    // A failed call above must not surface later as the "error" of an unrelated kernel launch
    // (BACKSCORE_CUDA_LAUNCH_CHECK reads cudaGetLastError). Sticky errors stay regardless.
    static_cast<void>(cudaGetLastError());
  }
  void synchronize_all() const {
    for (const Lane& l : lanes) l.stream.synchronize();
  }
  void use_device() const { BACKSCORE_CUDA_CHECK(cudaSetDevice(device)); }
  // Device bytes held now: the lanes' workspaces and batch buffers, the era's buffers.
  std::size_t held_bytes() const {
    std::size_t b = era_data.memory.bytes();
    for (const Lane& l : lanes) b += l.held_bytes();
    return b;
  }

  void allocate(std::size_t era_lanes);
  void finish(Lane& lane, std::span<double> out, std::span<double> meta_pearson);
  void stage_weights(Lane& lane, const BatchExtras& extras, std::size_t m);
  void gather_sums(std::size_t lanes_used, std::span<double> sums);
};

CudaEraScorer::CudaEraScorer(int device, std::vector<FormulaSpec> specs,
                             std::size_t memory_cap_bytes, EraScorerOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  if (options.streams < 1 || options.streams > kMaxStreams) {
    throw std::invalid_argument("CudaEraScorer: streams must be 1.." + std::to_string(kMaxStreams) +
                                ", not " + std::to_string(options.streams));
  }
  int count = 0;
  BACKSCORE_CUDA_CHECK(cudaGetDeviceCount(&count));
  if (device < 0 || device >= count) {
    throw std::invalid_argument("CudaEraScorer: no CUDA device " + std::to_string(device) +
                                " (this machine has " + std::to_string(count) + ")");
  }
  s.device = device;
  s.specs = std::move(specs);
  s.opt = options;
  s.use_device();
  if (memory_cap_bytes == 0) {
    std::size_t free_b = 0, total_b = 0;
    BACKSCORE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    memory_cap_bytes = free_b / 10 * 9;
  }
  s.ledger.cap = memory_cap_bytes;
  // Streams and handles for every lane; their device memory (workspace, batch buffers) comes with
  // the first era whose plan uses the lane.
  s.lanes.reserve(static_cast<std::size_t>(options.streams));
  for (int i = 0; i < options.streams; ++i) s.lanes.push_back(Lane::create());
  s.block_limits.float_rows = detail::block_sort_max_rows<std::uint32_t>(device);
  s.block_limits.double_rows = detail::block_sort_max_rows<std::uint64_t>(device);
  s.asks = FormulaAsks::of(s.specs);
  s.asks.meta_sums = options.meta_sums;
  s.asks.meta_pearson = options.meta_pearson;
}

// ~Impl waits for the streams (also when a move-assignment drops the old Impl).
CudaEraScorer::~CudaEraScorer() = default;
CudaEraScorer::CudaEraScorer(CudaEraScorer&&) noexcept = default;
CudaEraScorer& CudaEraScorer::operator=(CudaEraScorer&&) noexcept = default;

const std::vector<FormulaSpec>& CudaEraScorer::specs() const { return impl_->specs; }
const MemoryPlan& CudaEraScorer::memory_plan() const { return impl_->plan; }
std::size_t CudaEraScorer::peak_device_bytes() const { return impl_->ledger.peak; }
std::size_t CudaEraScorer::memory_cap() const { return impl_->ledger.cap; }
int CudaEraScorer::device() const { return impl_->device; }
std::size_t CudaEraScorer::borderline_rank_columns() const { return impl_->borderline; }
std::size_t CudaEraScorer::streams() const { return impl_->lanes.size(); }
std::size_t CudaEraScorer::largest_batch_models() const { return impl_->largest_batch; }
std::size_t CudaEraScorer::most_streams_used() const { return impl_->most_lanes; }

// Grow only; all freed first so the cap holds while reallocating: what is held is then exactly
// this plan, and an era that grows nothing holds what an earlier plan did. The workspaces of lanes
// this era uses stay (they are part of the plan).
void CudaEraScorer::Impl::allocate(std::size_t era_lanes) {
  const std::size_t batch_bytes = lane_batch_bytes(plan);
  synchronize_all();
  bool grow = era_data.memory.bytes() < plan.era_bytes;
  for (std::size_t i = 0; i < era_lanes; ++i) {
    grow = grow || lanes[i].workspace.bytes() == 0 || lanes[i].memory.bytes() < batch_bytes;
  }
  if (grow) {
    era_data.memory = DeviceBuffer<std::byte>();
    for (std::size_t i = 0; i < lanes.size(); ++i) {
      if (i >= era_lanes) lanes[i].workspace = DeviceBuffer<std::byte>();
      lanes[i].memory = DeviceBuffer<std::byte>();
    }
    era_data.memory = DeviceBuffer<std::byte>(std::max<std::size_t>(plan.era_bytes, kAlign));
    for (std::size_t i = 0; i < era_lanes; ++i) {
      Lane& l = lanes[i];
      if (l.workspace.bytes() == 0) l.set_workspace(kCublasWorkspaceBytes);
      l.memory = DeviceBuffer<std::byte>(batch_bytes);
    }
  }
  ledger.note(held_bytes());
  const std::size_t stride = batch.slots.stride, mb = plan.batch_models;
  for (std::size_t i = 0; i < era_lanes; ++i) {
    Lane& l = lanes[i];
    if (l.host_results.size() < stride * mb) l.host_results = PinnedBuffer<double>(stride * mb);
    l.buffers.carve(l.memory.data(), l.memory.bytes(), batch, mb, plan.sort_temp_bytes);
  }
}

void CudaEraScorer::begin_era(const Era& era, const EraContext& ctx) {
  Impl& s = *impl_;
  s.era_ready = false;
  s.use_device();
  const std::size_t N = era.n_stocks();
  if (ctx.size() != N || ctx.universe_size() != N) {
    throw std::invalid_argument(
        "CudaEraScorer::begin_era: the context must be built on all the era's rows");
  }
  s.batch = BatchPlan::make(s.asks, EraFacts::of(era, ctx), s.opt.sort_path, s.block_limits);
  const std::size_t n = s.batch.n();
  s.plan = MemoryPlan{};
  if (n < 2) {  // every formula is NaN (n < 2): nothing on the device
    s.plan.batch_models = 1;
    s.plan.lanes = 1;
    s.era_ready = true;
    return;
  }
  if (n > kMaxInt) throw std::runtime_error("CudaEraScorer: era too large");

  const EraHostData host = EraHostData::of(era, ctx, s.batch);
  LaneBudget budget;
  budget.cap = s.ledger.cap;
  budget.lanes_available = s.lanes.size();
  budget.max_batch_models = s.opt.max_batch_models;
  budget.min_lane_models = s.opt.min_lane_models;
  s.plan = plan_memory(s.batch, EraDeviceData::bytes_needed(s.batch), budget, era.name);
  const std::size_t lanes = s.plan.lanes;
  s.allocate(lanes);

  // The era's vectors and mmc2's QR on the first lane, the upload of fnc's factors on the
  // second (when there is one), at once.
  Lane& first = s.lanes[0];
  Lane& second = s.lanes[std::min<std::size_t>(1, lanes - 1)];
  s.era_data.upload(ctx, host, s.batch, first, second, s.held_bytes(), s.ledger, s.borderline);
  s.synchronize_all();  // the host vectors die here; every lane sees the era's buffers
  s.era_ready = true;
}

// Waits for the lane's batch and turns its per-column numbers into the formulas' scores, in
// out[(j0 + j) * F + f].
void CudaEraScorer::Impl::finish(Lane& l, std::span<double> out, std::span<double> meta_pearson) {
  l.done.synchronize();
  l.busy = false;
  const std::size_t F = specs.size(), stride = batch.slots.stride;
  for (std::size_t j = 0; j < l.models; ++j) {
    const double* r = l.host_results.data() + j * stride;
    if (r[layout::kNanSlot] != 0) {
      throw std::invalid_argument(
          "CudaEraScorer::score_full_columns: a column holds NaN (a missing id); such models "
          "belong to the CPU path");
    }
    for (std::size_t f = 0; f < F; ++f)
      out[(l.j0 + j) * F + f] = assemble_score(specs[f], r, batch);
    if (!meta_pearson.empty()) meta_pearson[l.j0 + j] = assemble_meta_pearson(r, batch);
  }
}

// The weights of the lane's batch (columns [l.j0, l.j0 + l.models) of the call's m) to the
// device, through its pinned buffer (the lane is idle: its last batch was finished).
void CudaEraScorer::Impl::stage_weights(Lane& l, const BatchExtras& extras, std::size_t m) {
  const std::size_t k = batch.stages.meta_sums, count = l.models * k;
  if (k == 0) return;
  if (l.host_weights.size() < count) l.host_weights = PinnedBuffer<double>(count);
  for (std::size_t r = 0; r < k; ++r) {
    std::copy_n(extras.weights.data() + r * m + l.j0, l.models,
                l.host_weights.data() + r * l.models);
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(l.buffers.weights, l.host_weights.data(),
                                       count * sizeof(double), cudaMemcpyHostToDevice,
                                       l.stream.get()));
}

// Adds the lanes' partial sums to `sums`, lane by lane in order (every lane idle).
void CudaEraScorer::Impl::gather_sums(std::size_t lanes_used, std::span<double> sums) {
  const std::size_t count = batch.n() * batch.stages.meta_sums;
  if (count == 0) return;
  for (std::size_t i = 0; i < lanes_used; ++i) {
    Lane& l = lanes[i];
    if (l.host_sums.size() < count) l.host_sums = PinnedBuffer<double>(count);
    BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(l.host_sums.data(), l.buffers.sums, count * sizeof(double),
                                         cudaMemcpyDeviceToHost, l.stream.get()));
  }
  for (std::size_t i = 0; i < lanes_used; ++i) {
    Lane& l = lanes[i];
    l.stream.synchronize();
    for (std::size_t x = 0; x < count; ++x) sums[x] += l.host_sums.data()[x];
  }
}

void CudaEraScorer::score_full_columns(std::span<const float> block, std::size_t m,
                                       std::span<double> out, const BatchExtras& extras) {
  Impl& s = *impl_;
  if (!s.era_ready) throw std::logic_error("CudaEraScorer::score_full_columns before begin_era");
  const std::size_t n = s.batch.n(), F = s.specs.size();
  if (block.size() < n * m || out.size() < m * F) {
    throw std::invalid_argument(
        "CudaEraScorer::score_full_columns: block must hold n * m floats and out m * formulas "
        "doubles");
  }
  const std::size_t k = s.opt.meta_sums;
  if ((k > 0 && (extras.weights.size() < m * k || extras.sums.size() < n * k)) ||
      (s.opt.meta_pearson && extras.meta_pearson.size() < m)) {
    throw std::invalid_argument(
        "CudaEraScorer::score_full_columns: extras must hold m * meta_sums weights, n * "
        "meta_sums sums and m meta_pearson values");
  }
  if (m == 0) return;
  const std::span<double> meta_pearson =
      s.opt.meta_pearson ? extras.meta_pearson.first(m) : std::span<double>{};
  if (n < 2) {  // every score NaN; one row's gaussianized rank is ndtri(0.5) = 0: no sums
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(m * F),
              std::numeric_limits<double>::quiet_NaN());
    std::fill(meta_pearson.begin(), meta_pearson.end(), std::numeric_limits<double>::quiet_NaN());
    return;
  }
  s.use_device();
  cudaPointerAttributes attr{};
  bool pinned = false;
  if (cudaPointerGetAttributes(&attr, block.data()) == cudaSuccess) {
    pinned = attr.type == cudaMemoryTypeHost;
  } else {
    static_cast<void>(cudaGetLastError());  // unregistered memory on old drivers: not pinned
  }
  // Batches of at most batch_models columns, spread evenly over the era's lanes when they fit.
  const std::size_t lanes = s.plan.lanes;
  const std::size_t mb_max = std::min(s.plan.batch_models, (m + lanes - 1) / lanes);
  const std::size_t batches = (m + mb_max - 1) / mb_max;
  s.largest_batch = std::max(s.largest_batch, mb_max);
  s.most_lanes = std::max(s.most_lanes, std::min(lanes, batches));
  const std::size_t lanes_used = std::min(lanes, batches);
  try {
    if (s.batch.stages.meta_sums > 0) {  // each lane's partial sums start at 0 for this call
      for (std::size_t i = 0; i < lanes_used; ++i) {
        Lane& l = s.lanes[i];
        BACKSCORE_CUDA_CHECK(
            cudaMemsetAsync(l.buffers.sums, 0, n * k * sizeof(double), l.stream.get()));
      }
    }
    for (std::size_t b = 0; b < batches; ++b) {
      Lane& l = s.lanes[b % lanes];
      if (l.busy) s.finish(l, out, meta_pearson);  // batch b - lanes: its buffers are needed
      l.j0 = b * mb_max;
      l.models = std::min(mb_max, m - l.j0);
      l.upload(block, n, l.j0, l.models, pinned, n * s.plan.batch_models);
      s.stage_weights(l, extras, m);
      enqueue_batch(l, s.era_data, s.batch, l.models);
      l.busy = true;
    }
    for (std::size_t b = batches > lanes ? batches - lanes : 0; b < batches; ++b) {
      s.finish(s.lanes[b % lanes], out, meta_pearson);
    }
    s.gather_sums(s.batch.stages.meta_sums > 0 ? lanes_used : 0, extras.sums);
  } catch (...) {
    // An H2D copy may still be reading the caller's (pinned) block, which the caller is free to
    // release once we return: let everything enqueued finish first (and mark the lanes idle).
    s.wait_idle_nothrow();
    throw;
  }
}

}  // namespace backscore::cuda
