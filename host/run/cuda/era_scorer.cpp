// CudaEraScorer (see era_scorer.hpp): host orchestration of one era on the device. Compiled by the
// host compiler (C++20, the engine's headers); the kernels are in scoring_kernels.cu and
// sort_kernels.cu behind scoring_kernels.hpp.
//
// Per device batch of m full columns, all on one lane's stream (H2D copy, kernels, cuBLAS with the
// lane's handle, results back to the lane's pinned buffer); consecutive batches take the lanes in
// turn:
//   sort every column (stable, float keys)         -> order
//   ranks: tie-broken percentiles (first), gaussianized tie-kept ranks (gauss) and their ^1.5
//          (powered), by lookup in the era's tables of ndtri(percentile) built on the host with
//          the CPU's own ndtri, so they are bit-identical to the CPU's
//   corr_v1          pair stats (target, first)
//   mmc2 (+/-1)      C = Q2^T first (cuBLAS), R = first -/+ Q2 C, pair stats (target, R)
//   mmc2_burnflip    mmc2 (+1), or in a burn era mmc2 (-1), corr_v1 and pair stats (meta, first)
//   corr             pair stats (powered, gauss) for the power check, (corr target, powered)
//   mmc / bmc        [mmc target, meta gauss, bench gauss]^T gauss (one GEMM), scalar algebra on
//                    the host; top/bottom: p_perp per column, stable sort, sums over the ends
//   fnc              beta = Rf^-1 Qf^T gauss (GEMM + TRSM), residual row by row in the CPU's order
//                    (ties kept), / std, sort (double keys), re-rank, power check, pair stats
//   every per-column number lands in one results array (slots), copied back once; the formulas
//   are then assembled on the host exactly as host/era/formulas.cpp does.
#include "host/run/cuda/era_scorer.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "host/era/era_context.hpp"
#include "host/era/stats.hpp"  // pairwise_sum_of (header template: no link dependency)
#include "io/store.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/cuda_resources.hpp"
#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kMmc2Scale = 0.29 * 0.29;  // as host/era/formulas.cpp
constexpr std::size_t kCublasWorkspaceBytes = std::size_t{32} << 20;
constexpr std::size_t kAlign = 256;
constexpr std::size_t kNone = detail::kNoSlot;
constexpr std::size_t kBatchSlackBytes = std::size_t{64} << 10;  // alignment of batch buffers
constexpr std::size_t kMaxInt = static_cast<std::size_t>(std::numeric_limits<int>::max());

bool has_top_bottom(Builtin b) {
  return b == Builtin::corr || b == Builtin::mmc || b == Builtin::bmc || b == Builtin::fnc;
}

// The CPU's dot (host/era/stats.cpp), from the header template.
double host_dot(std::span<const double> x, std::span<const double> y) {
  return pairwise_sum_of(x.size(), [&](std::size_t i) { return x[i] * y[i]; });
}

// np.corrcoef from the pair statistics, in the CPU's operation order (host/era/stats.cpp).
double pearson_from(const double* s, std::size_t count) {
  if (count < 2) return kNaN;
  const double sxx = s[2], syy = s[3], sxy = s[4];
  if (sxx == 0 || syy == 0) return kNaN;
  const double inv = 1.0 / static_cast<double>(count - 1);
  const double r = sxy * inv / std::sqrt(sxx * inv) / std::sqrt(syy * inv);
  return std::clamp(r, -1.0, 1.0);
}

double nan_max3(double a, double b, double c) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(c)) return kNaN;
  return std::max(a, std::max(b, c));
}

std::size_t round_up(std::size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

// Carves aligned pieces out of one device allocation.
class Carver {
 public:
  Carver(std::byte* base, std::size_t bytes) : base_(base), cap_(bytes) {}
  template <class T>
  T* take(std::size_t count) {
    if (count == 0) return nullptr;
    const std::size_t bytes = round_up(count * sizeof(T));
    if (used_ + bytes > cap_) throw std::logic_error("CudaEraScorer: memory plan too small");
    T* p = reinterpret_cast<T*>(base_ + used_);
    used_ += bytes;
    return p;
  }
  std::size_t used() const { return used_; }

 private:
  std::byte* base_;
  std::size_t cap_, used_ = 0;
};

// Sizing of the carved pieces: what take() will use, to plan before allocating.
struct Sizer {
  std::size_t total = 0;
  template <class T>
  void add(std::size_t count) {
    if (count > 0) total += round_up(count * sizeof(T));
  }
};

}  // namespace

// One stream with everything a device batch needs of its own: the batches of a call go to the
// lanes in turn, so one lane's copies and host work overlap another lane's kernels.
struct Lane {
  Stream stream;
  Event done;  // recorded after the batch's results are copied to host_res
  CublasHandle blas;
  CusolverHandle solver;
  // The cuBLAS workspace (also begin_era's cuSOLVER scratch) and the batch buffers below (one
  // allocation, see carve): allocated by begin_era for the lanes the era's plan uses. A lane whose
  // buffers were freed (an era that needed fewer lanes and more memory) keeps a stale workspace
  // pointer in its cuBLAS handle; nothing calls cuBLAS on it before begin_era sets a new one.
  DeviceBuffer<std::byte> ws;
  DeviceBuffer<std::byte> mem;
  float* d_pred = nullptr;
  detail::SortScratch sort1, sort2;  // sort2: same scratch, order -> order2
  double *d_first = nullptr, *d_gauss = nullptr, *d_pow = nullptr, *d_work = nullptr,
         *d_gauss2 = nullptr, *d_pow2 = nullptr, *d_res = nullptr, *d_cbuf = nullptr;
  std::uint32_t* d_order2 = nullptr;
  // Host pinned buffers. staging (used only for callers' unpinned blocks; run_eras' are pinned)
  // grows on demand in upload(), doubling up to the plan's device batch, so narrow calls do not
  // pin n x (an even share of all the era's models) floats per lane.
  PinnedBuffer<float> staging;
  PinnedBuffer<double> host_res;
  // The batch in flight (enqueued, results not yet read): columns [j0, j0 + mb) of the call.
  bool busy = false;
  std::size_t j0 = 0, mb = 0;
};

// A QR of kept exposure columns enqueued on a lane, checked by check_qr.
struct PendingQr {
  Lane* lane = nullptr;
  std::size_t r = 0;
  double tol = 0;
  const char* what = "";
  double* d_r = nullptr;
  int* d_info = nullptr;
  DeviceBuffer<std::byte> own;  // scratch beyond the lane's workspace (huge n x r only)
};

struct CudaEraScorer::Impl {
  // ---- fixed for the scorer ----
  int device = 0;
  std::vector<FormulaSpec> specs;
  std::size_t cap = 0;
  EraScorerOptions opt;
  std::vector<Lane> lanes;
  std::size_t block_rows_f = 0, block_rows_d = 0;  // block-sort limits of this device
  // Which built-ins the run asks for, and the distinct top/bottom sizes of each.
  bool ask_corr_v1 = false, ask_corr = false, ask_mmc = false, ask_bmc = false, ask_mmc2 = false,
       ask_burn = false, ask_fnc = false;
  std::vector<std::size_t> ks_corr, ks_mmc, ks_bmc, ks_fnc;

  // ---- the current era ----
  bool era_ready = false;
  std::size_t n = 0, max_models = 0;
  bool avail_meta = false, avail_meta_gauss = false, avail_bench = false, avail_feat = false;
  bool burn = false, corr_target_ok = true;
  double m_norm2 = 0, b_norm2 = 0, dot_tm = 0, dot_tb = 0, mm_corr = kNaN;
  std::size_t r2 = 0, rf = 0;  // kept exposure columns of mmc2 and fnc
  // What each batch computes.
  bool w_cv1 = false, w_xc = false, w_m2p = false, w_m2m = false, w_corr = false, w_dots = false,
       w_fnc = false;
  std::vector<std::size_t> do_corr, do_mmc, do_bmc, do_fnc;  // top/bottom sizes with 2k <= n
  bool need_first = false, need_gauss = false, need_pow = false, need_work = false,
       need_order2 = false;
  bool block_f = false, block_d = false;
  // Result slots (per column), kNone when not computed.
  std::size_t S = 0, s_cv1 = kNone, s_xc = kNone, s_m2p = kNone, s_m2m = kNone, s_pg = kNone,
              s_corr = kNone, s_dots = kNone, s_fsd = kNone, s_fpg = kNone, s_fnc = kNone;
  std::vector<std::pair<std::size_t, std::size_t>> s_corr_tb, s_mmc_tb, s_bmc_tb, s_fnc_tb;
  MemoryPlan plan;
  std::size_t peak = 0, borderline = 0;
  std::size_t largest_batch = 0, most_lanes = 0;  // of the batches scored so far

  // Device memory of the era (shared read-only by the lanes), one allocation.
  DeviceBuffer<std::byte> era_mem;
  double *gtab = nullptr, *ptab = nullptr, *d_target = nullptr, *d_ct = nullptr, *d_mmc_t = nullptr,
         *d_meta = nullptr, *d_vg = nullptr;
  double *d_x2 = nullptr, *d_q2 = nullptr, *d_xf = nullptr, *d_qf = nullptr, *d_rf = nullptr;

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
    std::size_t b = era_mem.bytes();
    for (const Lane& l : lanes) b += l.ws.bytes() + l.mem.bytes();
    return b;
  }
  void note_bytes(std::size_t b) { peak = std::max(peak, b); }

  void plan_era(const Era& era, const EraContext& ctx);
  std::size_t per_model_bytes() const;
  void carve(Lane& lane, std::size_t mb) const;
  // other_scratch: device bytes of another QR's own scratch still held (the cap covers both).
  void enqueue_qr(Lane& lane, const double* d_x, std::size_t rows, std::size_t r, double tol,
                  double* d_q, double* d_r, const char* what, std::size_t other_scratch,
                  PendingQr& qr);
  void check_qr(PendingQr& qr);
  void upload(Lane& lane, std::span<const float> block, std::size_t j0, std::size_t mb,
              bool pinned);
  void compute_batch(Lane& lane, std::size_t mb);
  void finish(Lane& lane, std::span<double> out);
  double score(const FormulaSpec& f, const double* r) const;
  double mmc2_value(const double* r, std::size_t slot) const {
    if (n < 2) return kNaN;
    return r[slot + 4] * (1.0 / static_cast<double>(n - 1)) / kMmc2Scale;
  }
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
  s.cap = memory_cap_bytes;
  // Streams and handles for every lane; their device memory (workspace, batch buffers) comes with
  // the first era whose plan uses the lane.
  s.lanes.resize(static_cast<std::size_t>(options.streams));
  for (Lane& l : s.lanes) {
    l.stream = Stream::create();
    l.done = Event::create();
    l.blas = CublasHandle::create();
    BACKSCORE_CUBLAS_CHECK(cublasSetStream(l.blas.get(), l.stream.get()));
    l.solver = CusolverHandle::create();
    BACKSCORE_CUSOLVER_CHECK(cusolverDnSetStream(l.solver.get(), l.stream.get()));
  }
  s.block_rows_f = detail::block_sort_max_rows(false, device);
  s.block_rows_d = detail::block_sort_max_rows(true, device);

  auto add_k = [](std::vector<std::size_t>& ks, std::size_t k) {
    if (std::find(ks.begin(), ks.end(), k) == ks.end()) ks.push_back(k);
  };
  for (const FormulaSpec& f : s.specs) {
    if (f.is_defined()) continue;
    const std::size_t k = static_cast<std::size_t>(std::max(f.top_bottom, 0));
    if (k > 0 && !has_top_bottom(f.builtin)) continue;  // NaN
    switch (f.builtin) {
      case Builtin::corr_v1:
        s.ask_corr_v1 = true;
        break;
      case Builtin::corr:
        s.ask_corr = true;
        if (k > 0) add_k(s.ks_corr, k);
        break;
      case Builtin::mmc:
        s.ask_mmc = true;
        if (k > 0) add_k(s.ks_mmc, k);
        break;
      case Builtin::bmc:
        s.ask_bmc = true;
        if (k > 0) add_k(s.ks_bmc, k);
        break;
      case Builtin::mmc2:
        s.ask_mmc2 = true;
        break;
      case Builtin::mmc2_burnflip:
        s.ask_burn = true;
        break;
      case Builtin::fnc:
        s.ask_fnc = true;
        if (k > 0) add_k(s.ks_fnc, k);
        break;
    }
  }
}

// ~Impl waits for the streams (also when a move-assignment drops the old Impl).
CudaEraScorer::~CudaEraScorer() = default;
CudaEraScorer::CudaEraScorer(CudaEraScorer&&) noexcept = default;
CudaEraScorer& CudaEraScorer::operator=(CudaEraScorer&&) noexcept = default;

const std::vector<FormulaSpec>& CudaEraScorer::specs() const { return impl_->specs; }
const MemoryPlan& CudaEraScorer::memory_plan() const { return impl_->plan; }
std::size_t CudaEraScorer::peak_device_bytes() const { return impl_->peak; }
std::size_t CudaEraScorer::memory_cap() const { return impl_->cap; }
int CudaEraScorer::device() const { return impl_->device; }
std::size_t CudaEraScorer::borderline_rank_columns() const { return impl_->borderline; }
std::size_t CudaEraScorer::streams() const { return impl_->lanes.size(); }
std::size_t CudaEraScorer::largest_batch_models() const { return impl_->largest_batch; }
std::size_t CudaEraScorer::most_streams_used() const { return impl_->most_lanes; }

// Decides what each batch computes and assigns the result slots.
void CudaEraScorer::Impl::plan_era(const Era& era, const EraContext& ctx) {
  n = ctx.size();
  avail_meta = ctx.has_meta_model();
  avail_meta_gauss = avail_meta && !ctx.meta_gaussian().empty();
  avail_bench = ctx.has_benchmark();
  avail_feat = ctx.has_features();
  mm_corr = avail_meta ? ctx.meta_corr_v1() : kNaN;
  burn = avail_meta && mm_corr < 0;
  corr_target_ok = ctx.corr_target_ok();
  m_norm2 = avail_meta_gauss ? ctx.meta_norm2() : 0;
  b_norm2 = avail_bench ? ctx.benchmark_norm2() : 0;
  dot_tm = avail_meta_gauss ? host_dot(ctx.mmc_target(), ctx.meta_gaussian()) : 0;
  dot_tb = avail_bench ? host_dot(ctx.mmc_target(), ctx.benchmark_gaussian()) : 0;
  r2 = avail_meta ? ctx.mmc2_projector().rank() : 0;
  rf = avail_feat ? ctx.fnc_projector().rank() : 0;
  max_models = std::max<std::size_t>(era.n_submitted(), 1);

  auto valid_ks = [&](const std::vector<std::size_t>& ks) {
    std::vector<std::size_t> v;
    for (std::size_t k : ks) {
      if (2 * k <= n) v.push_back(k);
    }
    return v;
  };
  const bool mmc2_any = ask_mmc2 && avail_meta;
  const bool burn_any = ask_burn && avail_meta;
  w_cv1 = ask_corr_v1 || (burn_any && burn);
  w_xc = burn_any && burn;
  w_m2p = mmc2_any || (burn_any && !burn);
  w_m2m = burn_any && burn;
  w_corr = ask_corr;
  do_corr = valid_ks(ks_corr);
  const bool mmc_ok = ask_mmc && avail_meta_gauss, bmc_ok = ask_bmc && avail_bench;
  w_dots = mmc_ok || bmc_ok;
  do_mmc = mmc_ok ? valid_ks(ks_mmc) : std::vector<std::size_t>{};
  do_bmc = bmc_ok ? valid_ks(ks_bmc) : std::vector<std::size_t>{};
  w_fnc = ask_fnc && avail_feat;
  do_fnc = w_fnc ? valid_ks(ks_fnc) : std::vector<std::size_t>{};

  need_first = w_cv1 || w_xc || w_m2p || w_m2m;
  need_gauss = w_corr || w_dots || w_fnc;
  need_pow = w_corr;
  need_work = w_m2p || w_m2m || w_fnc || !do_mmc.empty() || !do_bmc.empty();
  need_order2 = w_fnc || !do_mmc.empty() || !do_bmc.empty();

  S = 2;  // kNanSlot, kConstSlot
  auto pair_slot = [&]() {
    const std::size_t at = S;
    S += detail::kPairSlots;
    return at;
  };
  s_cv1 = w_cv1 ? pair_slot() : kNone;
  s_xc = w_xc ? pair_slot() : kNone;
  s_m2p = w_m2p ? pair_slot() : kNone;
  s_m2m = w_m2m ? pair_slot() : kNone;
  s_pg = w_corr ? pair_slot() : kNone;
  s_corr = w_corr ? pair_slot() : kNone;
  s_corr_tb.clear();
  for (std::size_t k : do_corr) s_corr_tb.emplace_back(k, pair_slot());
  if (w_dots) {
    s_dots = S;
    S += 3;  // t.g, m.g, b.g
  } else {
    s_dots = kNone;
  }
  s_mmc_tb.clear();
  for (std::size_t k : do_mmc) s_mmc_tb.emplace_back(k, pair_slot());
  s_bmc_tb.clear();
  for (std::size_t k : do_bmc) s_bmc_tb.emplace_back(k, pair_slot());
  s_fsd = w_fnc ? pair_slot() : kNone;
  s_fpg = w_fnc ? pair_slot() : kNone;
  s_fnc = w_fnc ? pair_slot() : kNone;
  s_fnc_tb.clear();
  for (std::size_t k : do_fnc) s_fnc_tb.emplace_back(k, pair_slot());

  const bool any_double_sort = need_order2;
  if (opt.sort_path == SortPath::block) {
    if (n > block_rows_f || (any_double_sort && n > block_rows_d)) {
      throw std::invalid_argument(
          "CudaEraScorer: SortPath::block cannot sort " + std::to_string(n) +
          " rows on this device (at most " +
          std::to_string(any_double_sort ? std::min(block_rows_f, block_rows_d) : block_rows_f) +
          ")");
    }
  }
  block_f = opt.sort_path != SortPath::segmented && n <= block_rows_f;
  block_d = opt.sort_path != SortPath::segmented && n <= block_rows_d;
}

std::size_t CudaEraScorer::Impl::per_model_bytes() const {
  const std::size_t d = 8 * n, u = 4 * n;
  std::size_t b = u                        // the predictions (float)
                  + 2 * d + 2 * u          // sort keys in/out (64-bit), values, order
                  + 8 + 8 * S              // segment offsets, results
                  + 8 * std::max(r2, rf);  // GEMM coefficients
  if (need_first) b += d;
  if (need_gauss) b += d;
  if (need_pow) b += d;
  if (need_work) b += d;
  if (need_order2) b += u;
  if (w_fnc) b += 2 * d;
  return b;
}

void CudaEraScorer::Impl::carve(Lane& l, std::size_t mb) const {
  Carver c(l.mem.data(), l.mem.bytes());
  const std::size_t nm = n * mb;
  l.d_pred = c.take<float>(nm);
  l.sort1.keys_in = c.take<std::uint64_t>(nm);
  l.sort1.keys_out = c.take<std::uint64_t>(nm);
  l.sort1.vals_in = c.take<std::uint32_t>(nm);
  l.sort1.order = c.take<std::uint32_t>(nm);
  l.sort1.offsets = c.take<std::int64_t>(mb + 1);
  l.sort1.temp_bytes = plan.sort_temp_bytes;
  l.sort1.temp = plan.sort_temp_bytes > 0 ? c.take<std::byte>(plan.sort_temp_bytes) : nullptr;
  l.d_res = c.take<double>(S * mb);
  l.d_cbuf = c.take<double>(std::max(r2, rf) * mb);
  l.d_first = need_first ? c.take<double>(nm) : nullptr;
  l.d_gauss = need_gauss ? c.take<double>(nm) : nullptr;
  l.d_pow = need_pow ? c.take<double>(nm) : nullptr;
  l.d_work = need_work ? c.take<double>(nm) : nullptr;
  l.d_order2 = need_order2 ? c.take<std::uint32_t>(nm) : nullptr;
  l.d_gauss2 = w_fnc ? c.take<double>(nm) : nullptr;
  l.d_pow2 = w_fnc ? c.take<double>(nm) : nullptr;
  l.sort2 = l.sort1;
  l.sort2.order = l.d_order2;
}

// Enqueues Q and R of the n x r matrix at d_x (the kept exposure columns) by geqrf + orgqr on the
// lane's stream; check_qr then reads devInfo and R back and checks |R_jj| against the CPU's cutoff
// (counted as borderline when at or below it). The lane's workspace holds tau, devInfo and the
// cuSOLVER workspace until check_qr: one pending QR per lane.
void CudaEraScorer::Impl::enqueue_qr(Lane& lane, const double* d_x, std::size_t rows, std::size_t r,
                                     double tol, double* d_q, double* d_r, const char* what,
                                     std::size_t other_scratch, PendingQr& qr) {
  qr = PendingQr{};
  if (r == 0) return;
  if (rows > kMaxInt || r > kMaxInt) throw std::runtime_error("CudaEraScorer: era too large");
  const int in = static_cast<int>(rows), ir = static_cast<int>(r);
  cudaStream_t st = lane.stream.get();
  cusolverDnHandle_t h = lane.solver.get();
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(d_q, d_x, rows * r * sizeof(double), cudaMemcpyDeviceToDevice, st));
  // Scratch (tau, devInfo, workspace): carved from the lane's cuBLAS workspace, which is already
  // in the memory plan and idle here (every cuBLAS call of the lane is stream-ordered on its
  // stream, as this is; cuSOLVER's internal cuBLAS has its own). Only a workspace larger than that
  // (huge n x r) is allocated on its own, and counted.
  const std::size_t tau_bytes = round_up(r * sizeof(double)),
                    info_bytes = round_up(2 * sizeof(int));
  std::byte* scratch = lane.ws.data();
  int lw1 = 0, lw2 = 0;
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDgeqrf_bufferSize(h, in, ir, d_q, in, &lw1));
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDorgqr_bufferSize(h, in, ir, ir, d_q, in,
                                                       reinterpret_cast<double*>(scratch), &lw2));
  const int lwork = std::max({lw1, lw2, 1});
  const std::size_t need =
      tau_bytes + info_bytes + static_cast<std::size_t>(lwork) * sizeof(double);
  if (need > lane.ws.bytes()) {  // huge n x r: scratch of its own, under the cap too
    if (held_bytes() + other_scratch + need > cap) {
      throw std::runtime_error(std::string("CudaEraScorer: the cuSOLVER QR of the ") + what +
                               " needs " + std::to_string(need) +
                               " bytes of scratch beyond the memory cap (" + std::to_string(cap) +
                               " bytes); raise --gpu-memory");
    }
    qr.own = DeviceBuffer<std::byte>(need);
    scratch = qr.own.data();
    note_bytes(held_bytes() + other_scratch + need);
  }
  double* tau = reinterpret_cast<double*>(scratch);
  int* info = reinterpret_cast<int*>(scratch + tau_bytes);
  double* work = reinterpret_cast<double*>(scratch + tau_bytes + info_bytes);
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(info, 0, 2 * sizeof(int), st));
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDgeqrf(h, in, ir, d_q, in, tau, work, lwork, info));
  // R: the upper triangle of the top r x r block, before orgqr overwrites it with Q.
  BACKSCORE_CUDA_CHECK(cudaMemcpy2DAsync(d_r, r * sizeof(double), d_q, rows * sizeof(double),
                                         r * sizeof(double), r, cudaMemcpyDeviceToDevice, st));
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDorgqr(h, in, ir, ir, d_q, in, tau, work, lwork, info + 1));
  qr.lane = &lane;
  qr.r = r;
  qr.tol = tol;
  qr.what = what;
  qr.d_r = d_r;
  qr.d_info = info;
}

void CudaEraScorer::Impl::check_qr(PendingQr& qr) {
  if (qr.lane == nullptr) return;
  const std::size_t r = qr.r;
  cudaStream_t st = qr.lane->stream.get();
  // Pageable destinations: these copies return when done (after the lane's QR).
  std::vector<double> rh(r * r);
  int ih[2] = {0, 0};
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(rh.data(), qr.d_r, r * r * sizeof(double), cudaMemcpyDeviceToHost, st));
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(ih, qr.d_info, sizeof ih, cudaMemcpyDeviceToHost, st));
  BACKSCORE_CUDA_CHECK(cudaStreamSynchronize(st));
  qr.lane = nullptr;
  qr.own = DeviceBuffer<std::byte>();  // the QR is done with its scratch
  if (ih[0] != 0 || ih[1] != 0) {
    throw CudaError(std::string("cuSOLVER ") + qr.what + ": devInfo geqrf " +
                    std::to_string(ih[0]) + ", orgqr " + std::to_string(ih[1]));
  }
  for (std::size_t j = 0; j < r; ++j) {
    const double d = std::fabs(rh[j * r + j]);
    if (!std::isfinite(d) || d == 0) {
      throw CudaError(std::string("cuSOLVER ") + qr.what + ": R(" + std::to_string(j) + ", " +
                      std::to_string(j) + ") is " + std::to_string(d) +
                      " for a column the CPU kept");
    }
    if (d <= qr.tol) ++borderline;
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
  s.plan_era(era, ctx);
  const std::size_t n = s.n;
  s.plan = MemoryPlan{};
  if (n < 2) {  // every formula is NaN (n < 2): nothing on the device
    s.plan.batch_models = 1;
    s.plan.lanes = 1;
    s.era_ready = true;
    return;
  }
  if (n > kMaxInt) throw std::runtime_error("CudaEraScorer: era too large");

  // ---- host-side era vectors ----
  const bool tables = s.need_gauss || s.w_fnc;
  std::vector<double> gt, pt;
  if (tables) {
    // ndtri(percentile(t / 2, n)) for t = 2 .. 2n: every tie-kept rank, integer or half, computed
    // by the CPU's own ndtri (so bit-identical to host/era/rank.cpp's values).
    const double dn = static_cast<double>(n);
    gt.resize(2 * n - 1);
    pt.resize(2 * n - 1);
    for (std::size_t t = 2; t <= 2 * n; ++t) {
      gt[t - 2] = ndtri(percentile(static_cast<double>(t) * 0.5, dn));
      pt[t - 2] = signed_pow(gt[t - 2], 1.5);
    }
  }
  // mmc2 exposures [u(meta), 0.5] and fnc's [features, 1], restricted to the CPU's kept columns.
  auto kept_columns = [&](std::span<const std::size_t> kept, std::size_t k_all, const auto& column,
                          double rcond, std::vector<double>& x, double& tol) {
    double max_norm = 0;
    for (std::size_t c = 0; c < k_all; ++c) {
      const std::vector<double> v = column(c);
      max_norm = std::max(max_norm, std::sqrt(host_dot(v, v)));
    }
    tol = rcond * max_norm;
    x.clear();
    for (std::size_t c : kept) {
      const std::vector<double> v = column(c);
      x.insert(x.end(), v.begin(), v.end());
    }
  };
  std::vector<double> x2, xf;
  double tol2 = 0, tolf = 0;
  if (s.w_m2p || s.w_m2m) {
    const std::span<const double> u = ctx.meta_uniform();
    kept_columns(
        ctx.mmc2_projector().kept(), 2,
        [&](std::size_t c) {
          return c == 0 ? std::vector<double>(u.begin(), u.end()) : std::vector<double>(n, 0.5);
        },
        DBL_EPSILON * static_cast<double>(std::max<std::size_t>(n, 2)), x2, tol2);
  } else {
    s.r2 = 0;
  }
  if (s.w_fnc) {
    const std::size_t k = era.features.size() / N;
    kept_columns(
        ctx.fnc_projector().kept(), k + 1,
        [&](std::size_t c) {
          if (c == k) return std::vector<double>(n, 1.0);
          const std::span<const double> f = era.feature(c);
          return std::vector<double>(f.begin(), f.end());
        },
        1e-6, xf, tolf);
  } else {
    s.rf = 0;
  }

  // ---- memory plan ----
  Sizer era_size;
  era_size.add<double>(tables ? 2 * n - 1 : 0);
  era_size.add<double>(tables ? 2 * n - 1 : 0);
  for (int i = 0; i < 4; ++i) era_size.add<double>(n);  // target, corr target, mmc target, meta
  era_size.add<double>(3 * n);                          // [mmc target, meta gauss, bench gauss]
  era_size.add<double>(n * s.r2);
  era_size.add<double>(n * s.r2);
  era_size.add<double>(s.r2 * s.r2);
  era_size.add<double>(n * s.rf);
  era_size.add<double>(n * s.rf);
  era_size.add<double>(s.rf * s.rf);
  s.plan.era_bytes = era_size.total;
  s.plan.per_model_bytes = s.per_model_bytes();
  const std::size_t base = s.plan.era_bytes;
  auto sort_temp = [&](std::size_t models) {
    return (s.block_f && (!s.need_order2 || s.block_d))
               ? std::size_t{0}
               : round_up(detail::segmented_sort_temp_bytes(n, models));
  };
  // One lane: its cuBLAS workspace and its batch buffers.
  auto lane_bytes = [&](std::size_t models) {
    return kCublasWorkspaceBytes + s.plan.per_model_bytes * models + sort_temp(models) +
           kBatchSlackBytes;
  };
  // As many lanes as there are models (up to the scorer's), each with batches as large as the cap
  // allows up to an even share of the era's models. Fewer lanes when the cap leaves a lane less
  // than min_lane_models (or its whole share, if smaller): one lane of 80 models beats two of 1.
  std::size_t lanes = std::min(s.lanes.size(), s.max_models), mb = 0;
  for (; lanes > 0; --lanes) {
    std::size_t share = (s.max_models + lanes - 1) / lanes;
    if (s.opt.max_batch_models > 0) share = std::min(share, s.opt.max_batch_models);
    share = std::min(share, kMaxInt / n);  // cuBLAS/CUB int sizes
    mb = share;
    while (mb > 0 && base + lanes * lane_bytes(mb) > s.cap) {
      const std::size_t avail = s.cap > base ? (s.cap - base) / lanes : 0;
      const std::size_t guess = avail > kCublasWorkspaceBytes
                                    ? (avail - kCublasWorkspaceBytes) / s.plan.per_model_bytes
                                    : 0;
      mb = std::min(mb - 1, guess);
    }
    const std::size_t floor = std::min(share, std::max<std::size_t>(s.opt.min_lane_models, 1));
    if (mb >= floor || (lanes == 1 && mb > 0)) break;
  }
  if (mb == 0) {
    throw std::runtime_error("CudaEraScorer: era " + era.name + " (" + std::to_string(n) +
                             " stocks) needs at least " + std::to_string(base + lane_bytes(1)) +
                             " bytes of device memory, the cap is " + std::to_string(s.cap));
  }
  s.plan.lanes = lanes;
  s.plan.batch_models = mb;
  s.plan.sort_temp_bytes = sort_temp(mb);
  s.plan.fixed_bytes = lanes * kCublasWorkspaceBytes;
  const std::size_t batch_bytes = lane_bytes(mb) - kCublasWorkspaceBytes;

  // ---- allocate (grow only; all freed first so the cap holds while reallocating: what is held
  // is then exactly this plan, and an era that grows nothing holds what an earlier plan did) ----
  s.synchronize_all();
  bool grow = s.era_mem.bytes() < s.plan.era_bytes;
  for (std::size_t i = 0; i < lanes; ++i) {
    grow = grow || s.lanes[i].ws.bytes() == 0 || s.lanes[i].mem.bytes() < batch_bytes;
  }
  if (grow) {  // the workspaces of lanes this era uses stay (they are part of the plan)
    s.era_mem = DeviceBuffer<std::byte>();
    for (std::size_t i = 0; i < s.lanes.size(); ++i) {
      if (i >= lanes) s.lanes[i].ws = DeviceBuffer<std::byte>();
      s.lanes[i].mem = DeviceBuffer<std::byte>();
    }
    s.era_mem = DeviceBuffer<std::byte>(std::max<std::size_t>(s.plan.era_bytes, kAlign));
    for (std::size_t i = 0; i < lanes; ++i) {
      Lane& l = s.lanes[i];
      if (l.ws.bytes() == 0) {
        l.ws = DeviceBuffer<std::byte>(kCublasWorkspaceBytes);
        // A fixed, accounted workspace per handle (one stream per handle, its own workspace:
        // cuBLAS results are then reproducible). Set after cublasSetStream, which resets it.
        BACKSCORE_CUBLAS_CHECK(cublasSetWorkspace(l.blas.get(), l.ws.data(), l.ws.bytes()));
      }
      l.mem = DeviceBuffer<std::byte>(batch_bytes);
    }
  }
  s.note_bytes(s.held_bytes());
  for (std::size_t i = 0; i < lanes; ++i) {
    Lane& l = s.lanes[i];
    if (l.host_res.size() < s.S * mb) l.host_res = PinnedBuffer<double>(s.S * mb);
    s.carve(l, mb);
  }

  // ---- carve and upload: the era's vectors and mmc2's QR on the first lane, fnc's QR on the
  // second (when there is one), so the two factorizations run at once ----
  Carver c(s.era_mem.data(), s.era_mem.bytes());
  s.gtab = c.take<double>(gt.size());
  s.ptab = c.take<double>(pt.size());
  s.d_target = c.take<double>(n);
  s.d_ct = c.take<double>(n);
  s.d_mmc_t = c.take<double>(n);
  s.d_meta = c.take<double>(n);
  s.d_vg = c.take<double>(3 * n);
  s.d_x2 = c.take<double>(n * s.r2);
  s.d_q2 = c.take<double>(n * s.r2);
  double* d_r2 = c.take<double>(s.r2 * s.r2);
  s.d_xf = c.take<double>(n * s.rf);
  s.d_qf = c.take<double>(n * s.rf);
  s.d_rf = c.take<double>(s.rf * s.rf);
  Lane& first = s.lanes[0];
  Lane& second = s.lanes[std::min<std::size_t>(1, lanes - 1)];
  auto put = [&](Lane& lane, double* dst, std::span<const double> src) {
    if (!src.empty()) {
      BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src.data(), src.size_bytes(),
                                           cudaMemcpyHostToDevice, lane.stream.get()));
    }
  };
  cudaStream_t st = first.stream.get();
  put(first, s.gtab, gt);
  put(first, s.ptab, pt);
  put(first, s.d_target, ctx.target());
  put(first, s.d_ct, ctx.corr_target());
  put(first, s.d_mmc_t, ctx.mmc_target());
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(s.d_meta, 0, n * sizeof(double), st));
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(s.d_vg, 0, 3 * n * sizeof(double), st));
  if (s.avail_meta) put(first, s.d_meta, ctx.meta_model());
  put(first, s.d_vg, ctx.mmc_target());
  if (s.avail_meta_gauss) put(first, s.d_vg + n, ctx.meta_gaussian());
  if (s.avail_bench) put(first, s.d_vg + 2 * n, ctx.benchmark_gaussian());
  put(first, s.d_x2, x2);
  put(second, s.d_xf, xf);
  PendingQr qr2, qrf;
  try {
    s.enqueue_qr(first, s.d_x2, n, s.r2, tol2, s.d_q2, d_r2, "mmc2 exposures", 0, qr2);
    if (&second == &first) s.check_qr(qr2);  // the lane's workspace holds one pending QR
    s.enqueue_qr(second, s.d_xf, n, s.rf, tolf, s.d_qf, s.d_rf, "fnc features", qr2.own.bytes(),
                 qrf);
    s.check_qr(qr2);
    s.check_qr(qrf);
  } catch (...) {
    s.wait_idle_nothrow();  // the pending QRs' own scratch must outlive their kernels
    throw;
  }
  s.synchronize_all();  // the host vectors above die here; every lane sees the era's buffers
  s.era_ready = true;
}

void CudaEraScorer::Impl::upload(Lane& l, std::span<const float> block, std::size_t j0,
                                 std::size_t mb, bool pinned) {
  const float* src = block.data() + j0 * n;
  const std::size_t count = n * mb;
  if (!pinned) {  // the lane is idle (finish() ran): nothing reads its staging buffer
    if (l.staging.size() < count) {  // doubling, up to the plan's batch
      l.staging = PinnedBuffer<float>(
          std::max(count, std::min(n * plan.batch_models, 2 * l.staging.size())));
    }
    std::memcpy(l.staging.data(), src, count * sizeof(float));
    src = l.staging.data();
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(l.d_pred, src, count * sizeof(float), cudaMemcpyHostToDevice,
                                       l.stream.get()));
}

void CudaEraScorer::Impl::compute_batch(Lane& l, std::size_t mb) {
  cudaStream_t st = l.stream.get();
  cublasHandle_t h = l.blas.get();
  const double one = 1.0, zero = 0.0;
  const int in = static_cast<int>(n), imb = static_cast<int>(mb);
  const std::size_t nm = n * mb;
  double *d_res = l.d_res, *d_first = l.d_first, *d_gauss = l.d_gauss, *d_pow = l.d_pow,
         *d_work = l.d_work, *d_cbuf = l.d_cbuf, *d_gauss2 = l.d_gauss2, *d_pow2 = l.d_pow2;
  const std::uint32_t* d_order2 = l.d_order2;
  const detail::SortScratch &sort1 = l.sort1, &sort2 = l.sort2;
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(d_res, 0, S * mb * sizeof(double), st));
  detail::sort_columns(l.d_pred, n, mb, block_f, sort1, d_res, S, st);
  detail::ranks_from_sorted(sort1.keys_out, false, sort1.order, n, mb, gtab, ptab, d_first, d_gauss,
                            d_pow, d_res, S, detail::kConstSlot, st);

  if (w_cv1) detail::pair_stats(d_target, 0, d_first, n, nullptr, 0, n, mb, d_res, S, s_cv1, st);
  if (w_xc) detail::pair_stats(d_meta, 0, d_first, n, nullptr, 0, n, mb, d_res, S, s_xc, st);
  for (int pass = 0; pass < 2; ++pass) {
    const bool on = pass == 0 ? w_m2p : w_m2m;
    if (!on) continue;
    const double proportion = pass == 0 ? 1.0 : -1.0;
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(d_work, d_first, nm * sizeof(double), cudaMemcpyDeviceToDevice, st));
    if (r2 > 0) {
      const int ir = static_cast<int>(r2);
      const double alpha = -proportion;
      // C = Q^T u; r = u - proportion * Q C
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ir, imb, in, &one, d_q2, in,
                                         d_first, in, &zero, d_cbuf, ir));
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, in, imb, ir, &alpha, d_q2, in,
                                         d_cbuf, ir, &one, d_work, in));
    }
    detail::pair_stats(d_target, 0, d_work, n, nullptr, 0, n, mb, d_res, S,
                       pass == 0 ? s_m2p : s_m2m, st);
  }
  if (w_corr) {
    detail::pair_stats(d_pow, n, d_gauss, n, nullptr, 0, n, mb, d_res, S, s_pg, st);
    detail::pair_stats(d_ct, 0, d_pow, n, nullptr, 0, n, mb, d_res, S, s_corr, st);
    for (const auto& [k, slot_k] : s_corr_tb) {
      detail::pair_stats(d_ct, 0, d_pow, n, sort1.order, k, n, mb, d_res, S, slot_k, st);
    }
  }
  if (w_dots) {
    // res[j][s_dots + 0..2] = [mmc target, meta gauss, bench gauss]^T gauss_j
    BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, 3, imb, in, &one, d_vg, in,
                                       d_gauss, in, &zero, d_res + s_dots, static_cast<int>(S)));
  }
  // Top/bottom contributions: p_perp, its stable order, t . p_perp over the ends.
  for (int which = 0; which < 2; ++which) {
    const auto& slots = which == 0 ? s_mmc_tb : s_bmc_tb;
    if (slots.empty()) continue;
    const double* vec = d_vg + (which == 0 ? n : 2 * n);
    const double norm2 = which == 0 ? m_norm2 : b_norm2;
    detail::orthogonalize(d_gauss, vec, d_res, S, s_dots + (which == 0 ? 1 : 2), norm2, n, mb,
                          d_work, st);
    detail::sort_columns(static_cast<const double*>(d_work), n, mb, block_d, sort2, nullptr, S, st);
    for (const auto& [k, slot_k] : slots) {
      detail::pair_stats(d_mmc_t, 0, d_work, n, d_order2, k, n, mb, d_res, S, slot_k, st);
    }
  }
  if (w_fnc) {
    if (rf > 0) {
      const int ir = static_cast<int>(rf);
      // beta = R^-1 Q^T g
      BACKSCORE_CUBLAS_CHECK(cublasDgemm(h, CUBLAS_OP_T, CUBLAS_OP_N, ir, imb, in, &one, d_qf, in,
                                         d_gauss, in, &zero, d_cbuf, ir));
      BACKSCORE_CUBLAS_CHECK(cublasDtrsm(h, CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER, CUBLAS_OP_N,
                                         CUBLAS_DIAG_NON_UNIT, ir, imb, &one, d_rf, ir, d_cbuf,
                                         ir));
    }
    detail::residual_rows(d_gauss, d_xf, rf, d_cbuf, rf, 1.0, n, mb, d_work, st);
    detail::pair_stats(d_work, n, d_work, n, nullptr, 0, n, mb, d_res, S, s_fsd, st);
    detail::divide_by_std(d_work, d_res, S, s_fsd + 2, n, mb, st);
    detail::sort_columns(static_cast<const double*>(d_work), n, mb, block_d, sort2, nullptr, S, st);
    detail::ranks_from_sorted(sort2.keys_out, true, d_order2, n, mb, gtab, ptab, nullptr, d_gauss2,
                              d_pow2, d_res, S, detail::kNoSlot, st);
    detail::pair_stats(d_pow2, n, d_gauss2, n, nullptr, 0, n, mb, d_res, S, s_fpg, st);
    detail::pair_stats(d_ct, 0, d_pow2, n, nullptr, 0, n, mb, d_res, S, s_fnc, st);
    for (const auto& [k, slot_k] : s_fnc_tb) {
      detail::pair_stats(d_ct, 0, d_pow2, n, d_order2, k, n, mb, d_res, S, slot_k, st);
    }
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(l.host_res.data(), d_res, S * mb * sizeof(double),
                                       cudaMemcpyDeviceToHost, st));
  l.done.record(st);
}

double CudaEraScorer::Impl::score(const FormulaSpec& f, const double* r) const {
  if (f.is_defined() || n < 2) return kNaN;
  const std::size_t k = static_cast<std::size_t>(std::max(f.top_bottom, 0));
  if (k > 0 && !has_top_bottom(f.builtin)) return kNaN;
  if (k > 0 && 2 * k > n) return kNaN;
  auto tb_slot = [&](const std::vector<std::pair<std::size_t, std::size_t>>& v) {
    for (const auto& [kk, slot] : v) {
      if (kk == k) return slot;
    }
    throw std::logic_error("CudaEraScorer: top/bottom slot missing");
  };
  const double dn = static_cast<double>(n);
  switch (f.builtin) {
    case Builtin::corr_v1:
      return pearson_from(r + s_cv1, n);
    case Builtin::corr: {
      const bool ok = r[s_pg + 2] == 0 || pearson_from(r + s_pg, n) >= 0.9;
      if (!ok || !corr_target_ok) return kNaN;
      return k == 0 ? pearson_from(r + s_corr, n) : pearson_from(r + tb_slot(s_corr_tb), 2 * k);
    }
    case Builtin::mmc:
    case Builtin::bmc: {
      const bool meta = f.builtin == Builtin::mmc;
      if (meta ? !avail_meta_gauss : !avail_bench) return kNaN;
      // p_perp = g - v (g.v)/(v.v); non-finite (v.v = 0) -> NaN, as the CPU's finiteness check.
      const double coef = r[s_dots + (meta ? 1 : 2)] / (meta ? m_norm2 : b_norm2);
      if (!std::isfinite(coef)) return kNaN;
      if (k == 0) return (r[s_dots] - coef * (meta ? dot_tm : dot_tb)) / dn;
      return r[tb_slot(meta ? s_mmc_tb : s_bmc_tb) + 5] / static_cast<double>(2 * k);
    }
    case Builtin::mmc2:
      if (!avail_meta) return kNaN;
      return mmc2_value(r, s_m2p);
    case Builtin::mmc2_burnflip: {
      if (!avail_meta) return kNaN;
      if (!burn) return mmc2_value(r, s_m2p);
      const double c = pearson_from(r + s_cv1, n);
      const double xcorr = pearson_from(r + s_xc, n);
      return nan_max3((1 - xcorr) * (c - mm_corr), mmc2_value(r, s_m2m), c);
    }
    case Builtin::fnc: {
      if (!avail_feat) return kNaN;
      if (r[detail::kConstSlot] != 0) return kNaN;  // zero_std(gauss): constant predictions
      const double sd = std::sqrt(r[s_fsd + 2] / dn);
      if (!(sd > 0) || !std::isfinite(sd)) return kNaN;
      const bool ok = r[s_fpg + 2] == 0 || pearson_from(r + s_fpg, n) >= 0.9;
      if (!ok || !corr_target_ok) return kNaN;
      return k == 0 ? pearson_from(r + s_fnc, n) : pearson_from(r + tb_slot(s_fnc_tb), 2 * k);
    }
  }
  return kNaN;
}

// Waits for the lane's batch and turns its per-column numbers into the formulas' scores, in
// out[(j0 + j) * F + f].
void CudaEraScorer::Impl::finish(Lane& l, std::span<double> out) {
  l.done.synchronize();
  l.busy = false;
  const std::size_t F = specs.size();
  for (std::size_t j = 0; j < l.mb; ++j) {
    const double* r = l.host_res.data() + j * S;
    if (r[detail::kNanSlot] != 0) {
      throw std::invalid_argument(
          "CudaEraScorer::score_full_columns: a column holds NaN (a missing id); such models "
          "belong to the CPU path");
    }
    for (std::size_t f = 0; f < F; ++f) out[(l.j0 + j) * F + f] = score(specs[f], r);
  }
}

void CudaEraScorer::score_full_columns(std::span<const float> block, std::size_t m,
                                       std::span<double> out) {
  Impl& s = *impl_;
  if (!s.era_ready) throw std::logic_error("CudaEraScorer::score_full_columns before begin_era");
  const std::size_t n = s.n, F = s.specs.size();
  if (block.size() < n * m || out.size() < m * F) {
    throw std::invalid_argument(
        "CudaEraScorer::score_full_columns: block must hold n * m floats and out m * formulas "
        "doubles");
  }
  if (m == 0) return;
  if (n < 2) {
    std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(m * F), kNaN);
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
  try {
    for (std::size_t b = 0; b < batches; ++b) {
      Lane& l = s.lanes[b % lanes];
      if (l.busy) s.finish(l, out);  // batch b - lanes: its buffers are needed again
      l.j0 = b * mb_max;
      l.mb = std::min(mb_max, m - l.j0);
      s.upload(l, block, l.j0, l.mb, pinned);
      s.compute_batch(l, l.mb);
      l.busy = true;
    }
    for (std::size_t b = batches > lanes ? batches - lanes : 0; b < batches; ++b) {
      s.finish(s.lanes[b % lanes], out);
    }
  } catch (...) {
    // An H2D copy may still be reading the caller's (pinned) block, which the caller is free to
    // release once we return: let everything enqueued finish first (and mark the lanes idle).
    s.wait_idle_nothrow();
    throw;
  }
}

}  // namespace backscore::cuda
