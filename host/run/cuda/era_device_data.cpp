// The era's data on the device (see era_device_data.hpp).
#include "host/run/cuda/era_device_data.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/error.hpp"
#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formula_parts.hpp"
#include "host/era/stats.hpp"
#include "io/store.hpp"
#include "kernels/cuda_check.hpp"

namespace backscore::cuda {
namespace {

// Restricts exposure columns 0 .. k_all - 1 (column(c) gives each) to the CPU's kept ones, into
// x (column-major), and returns the CPU's rank cutoff rcond * (largest column norm).
template <class Column>
double kept_columns(std::span<const std::size_t> kept, std::size_t k_all, const Column& column,
                    double rcond, std::vector<double>& x) {
  double max_norm = 0;
  for (std::size_t c = 0; c < k_all; ++c) {
    const std::vector<double> v = column(c);
    max_norm = std::max(max_norm, std::sqrt(dot(v, v)));
  }
  x.clear();
  for (std::size_t c : kept) {
    const std::vector<double> v = column(c);
    x.insert(x.end(), v.begin(), v.end());
  }
  return rcond * max_norm;
}

// Never throws: for unwinding while a lane's work may still read memory about to be freed.
void wait_nothrow(const Lane& lane) {
  if (lane.stream) BACKSCORE_CUDA_WARN(cudaStreamSynchronize(lane.stream.get()));
}

}  // namespace

EraHostData EraHostData::of(const Era& /*era*/, const EraContext& ctx, const BatchPlan& plan) {
  EraHostData h;
  const std::size_t n = plan.n();
  if (plan.needs.rank_tables()) {
    // ndtri(percentile(t / 2, n)) for t = 2 .. 2n: every tie-kept rank, integer or half, computed
    // by the CPU's own ndtri (so bit-identical to host/era/rank.cpp's values).
    const double dn = static_cast<double>(n);
    h.gauss_table.resize(2 * n - 1);
    h.pow_table.resize(2 * n - 1);
    for (std::size_t t = 2; t <= 2 * n; ++t) {
      h.gauss_table[t - 2] = ndtri(percentile(static_cast<double>(t) * 0.5, dn));
      h.pow_table[t - 2] = signed_pow(h.gauss_table[t - 2], 1.5);
    }
  }
  if (plan.stages.mmc2_plus || plan.stages.mmc2_minus) {
    const std::span<const double> u = ctx.meta_uniform();
    h.mmc2_tol = kept_columns(
        ctx.mmc2_projector().kept(), 2,
        [&](std::size_t c) {
          return c == 0 ? std::vector<double>(u.begin(), u.end()) : std::vector<double>(n, 0.5);
        },
        formula_parts::mmc2_rcond(n), h.mmc2_exposures);
  }
  if (plan.stages.fnc) {
    // The projector's own factors (LAPACK's, or the cuda backend's device factorization's,
    // fnc_factorizer.hpp): the GPU projects with exactly the Q and R the CPU's incomplete columns
    // derive their projectors from.
    const LeastSquaresProjector& p = ctx.fnc_projector();
    const std::size_t r = plan.stages.fnc_rank;
    if (p.derived() || p.rank() != r || p.rows() != n || p.q_factor().size() != n * r ||
        p.r_factor().size() != r * r || p.kept_columns().size() != n * r) {
      throw std::invalid_argument(
          "CudaEraScorer::begin_era: the context's fnc projector does "
          "not factorize the era's features on all rows");
    }
    h.fnc_x = p.kept_columns();
    h.fnc_q = p.q_factor();
    h.fnc_r = p.r_factor();
    h.fnc_tol = p.cutoff();
  }
  return h;
}

std::size_t EraDeviceData::bytes_needed(const BatchPlan& plan) {
  const std::size_t n = plan.n(), r2 = plan.stages.mmc2_rank, rf = plan.stages.fnc_rank;
  const bool tables = plan.needs.rank_tables();
  Sizer s;
  s.add<double>(tables ? 2 * n - 1 : 0);
  s.add<double>(tables ? 2 * n - 1 : 0);
  for (int i = 0; i < 4; ++i) s.add<double>(n);  // target, corr target, mmc target, meta
  s.add<double>(3 * n);                          // [mmc target, meta gauss, bench gauss]
  s.add<double>(n * r2);                         // mmc2: X, Q, R
  s.add<double>(n * r2);
  s.add<double>(r2 * r2);
  s.add<double>(n * rf);  // fnc: X, Q, R
  s.add<double>(n * rf);
  s.add<double>(rf * rf);
  return s.total;
}

void EraDeviceData::upload(const EraContext& ctx, const EraHostData& host, const BatchPlan& plan,
                           Lane& first, Lane& second, std::size_t held_bytes, MemoryLedger& ledger,
                           std::size_t& borderline) {
  const std::size_t n = plan.n(), r2 = plan.stages.mmc2_rank, rf = plan.stages.fnc_rank;
  const EraFacts& era = plan.era;
  // The carving order is bytes_needed's.
  Carver c(memory.data(), memory.bytes());
  double* d_gtab = c.take<double>(host.gauss_table.size());
  double* d_ptab = c.take<double>(host.pow_table.size());
  double* d_target = c.take<double>(n);
  double* d_ct = c.take<double>(n);
  double* d_mmc_t = c.take<double>(n);
  double* d_meta = c.take<double>(n);
  double* d_vg = c.take<double>(layout::kDotSlots * n);
  double* d_x2 = c.take<double>(n * r2);
  double* d_q2 = c.take<double>(n * r2);
  double* d_r2 = c.take<double>(r2 * r2);
  double* d_xf = c.take<double>(n * rf);
  double* d_qf = c.take<double>(n * rf);
  double* d_rf = c.take<double>(rf * rf);
  gauss_table = d_gtab;
  pow_table = d_ptab;
  target = d_target;
  corr_target = d_ct;
  mmc_target = d_mmc_t;
  meta = d_meta;
  dot_vectors = d_vg;
  mmc2_q = d_q2;
  fnc_x = d_xf;
  fnc_q = d_qf;
  fnc_r = d_rf;

  auto put = [&](Lane& lane, double* dst, std::span<const double> src) {
    if (!src.empty()) {
      BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src.data(), src.size_bytes(),
                                           cudaMemcpyHostToDevice, lane.stream.get()));
    }
  };
  cudaStream_t st = first.stream.get();
  put(first, d_gtab, host.gauss_table);
  put(first, d_ptab, host.pow_table);
  put(first, d_target, ctx.target());
  put(first, d_ct, ctx.corr_target());
  put(first, d_mmc_t, ctx.mmc_target());
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(d_meta, 0, n * sizeof(double), st));
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(d_vg, 0, layout::kDotSlots * n * sizeof(double), st));
  if (era.meta) put(first, d_meta, ctx.meta_model());
  put(first, d_vg + layout::dots::kTarget * n, ctx.mmc_target());
  if (era.meta_gauss) put(first, d_vg + layout::dots::kMeta * n, ctx.meta_gaussian());
  if (era.bench) put(first, d_vg + layout::dots::kBench * n, ctx.benchmark_gaussian());
  put(first, d_x2, host.mmc2_exposures);
  // fnc: the context's factors as they are (pageable sources: these return once read).
  put(second, d_xf, host.fnc_x);
  put(second, d_qf, host.fnc_q);
  put(second, d_rf, host.fnc_r);
  for (std::size_t j = 0; j < rf; ++j) {
    if (std::fabs(host.fnc_r[j * rf + j]) <= host.fnc_tol) ++borderline;
  }
  PendingQr qr2;
  try {
    enqueue_qr(first, d_x2, n, r2, host.mmc2_tol, d_q2, d_r2, "mmc2 exposures", held_bytes, ledger,
               qr2);
    check_qr(qr2, borderline);
  } catch (...) {
    // The pending QR's own scratch must outlive its kernels; a failed call above must not
    // surface later as the "error" of an unrelated kernel launch (sticky errors stay regardless).
    wait_nothrow(first);
    wait_nothrow(second);
    static_cast<void>(cudaGetLastError());
    throw;
  }
}

void enqueue_qr(Lane& lane, const double* d_x, std::size_t rows, std::size_t r, double tol,
                double* d_q, double* d_r, const char* what, std::size_t held_bytes,
                MemoryLedger& ledger, PendingQr& qr) {
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
  std::byte* scratch = lane.workspace.data();
  int lw1 = 0, lw2 = 0;
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDgeqrf_bufferSize(h, in, ir, d_q, in, &lw1));
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDorgqr_bufferSize(h, in, ir, ir, d_q, in,
                                                       reinterpret_cast<double*>(scratch), &lw2));
  const int lwork = std::max({lw1, lw2, 1});
  const std::size_t need =
      tau_bytes + info_bytes + static_cast<std::size_t>(lwork) * sizeof(double);
  if (need > lane.workspace.bytes()) {  // huge n x r: scratch of its own, under the cap too
    if (held_bytes + need > ledger.cap) {
      throw ResourceLimitError("the GPU memory cap of " + mib(ledger.cap) +
                               " leaves no room for the " + mib(need) +
                               " of scratch of the cuSOLVER QR of the " + what + ": raise the cap");
    }
    qr.own = DeviceBuffer<std::byte>(need);
    scratch = qr.own.data();
    ledger.note(held_bytes + need);
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

void check_qr(PendingQr& qr, std::size_t& borderline) {
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

}  // namespace backscore::cuda
