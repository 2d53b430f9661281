// The era's data on the device, shared read-only by every lane's batches: the rank tables, the
// era vectors (targets, meta-model, the dot-product vectors of mmc/bmc) and the factorized
// exposures of mmc2 and fnc (Q and R of the CPU's kept columns, by cuSOLVER). One allocation,
// grown when an era needs more.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "host/run/cuda/batch_plan.hpp"
#include "host/run/cuda/lane.hpp"
#include "host/run/cuda/memory_plan.hpp"
#include "kernels/cuda_resources.hpp"

namespace backscore {

struct Era;
class EraContext;

namespace cuda {

// The era's host-side inputs of the device data, built before planning memory.
struct EraHostData {
  // ndtri(percentile(t / 2, n)) and its signed ^1.5 for t = 2 .. 2n (when the plan ranks).
  std::vector<double> gauss_table, pow_table;
  // mmc2's kept exposure columns of [u(meta), 0.5] (n x rank, column-major), factorized on the
  // device, and the CPU's rank cutoff.
  std::vector<double> mmc2_exposures;
  double mmc2_tol = 0;
  // fnc: the factors of the context's own projector of [features, 1], uploaded as they are (no
  // second factorization): its kept columns, Q (n x rank each) and R (rank x rank), in its pivot
  // order, spans into ctx (which outlives the upload); the CPU's cutoff for the borderline count.
  std::span<const double> fnc_x, fnc_q, fnc_r;
  double fnc_tol = 0;
  static EraHostData of(const Era& era, const EraContext& ctx, const BatchPlan& plan);
};

// A QR of kept exposure columns enqueued on a lane (enqueue_qr), checked by check_qr.
struct PendingQr {
  Lane* lane = nullptr;
  std::size_t r = 0;
  double tol = 0;
  const char* what = "";
  double* d_r = nullptr;
  int* d_info = nullptr;
  DeviceBuffer<std::byte> own;  // scratch beyond the lane's workspace (huge n x r only)
};

struct EraDeviceData {
  DeviceBuffer<std::byte> memory;
  const double* gauss_table = nullptr;  // 2n - 1 (layout of detail::RankTables)
  const double* pow_table = nullptr;
  const double* target = nullptr;       // n
  const double* corr_target = nullptr;  // n: era-centered target^1.5
  const double* mmc_target = nullptr;   // n
  const double* meta = nullptr;         // n: the meta-model (zeros when the era has none)
  const double* dot_vectors = nullptr;  // n x 3: [mmc target, meta gauss, bench gauss] (zeros)
  const double* mmc2_q = nullptr;       // n x mmc2_rank
  const double* fnc_x = nullptr;        // n x fnc_rank: the kept feature columns
  const double* fnc_q = nullptr;        // n x fnc_rank
  const double* fnc_r = nullptr;        // fnc_rank x fnc_rank, upper triangle

  // Device bytes of the era's buffers under `plan`.
  static std::size_t bytes_needed(const BatchPlan& plan);
  // Carves the buffers and enqueues their upload on `first` with mmc2's QR, and the upload of
  // fnc's factors (the context's projector's: the era's only factorization of the features) on
  // `second` (which may be `first`). Returns when mmc2's QR is checked (borderline: kept columns
  // at or below the CPU's cutoff, added to). Every lane must be idle and `memory` hold
  // bytes_needed(plan). held_bytes: device bytes the scorer holds now (a QR's own scratch beyond
  // the lane's workspace must fit under ledger.cap with it).
  void upload(const EraContext& ctx, const EraHostData& host, const BatchPlan& plan, Lane& first,
              Lane& second, std::size_t held_bytes, MemoryLedger& ledger, std::size_t& borderline);
};

// Enqueues Q and R of the n x r matrix at d_x (the kept exposure columns) by geqrf + orgqr on the
// lane's stream. The lane's workspace holds tau, devInfo and the cuSOLVER workspace until
// check_qr: one pending QR per lane. held_bytes: device bytes held besides this QR's own scratch.
void enqueue_qr(Lane& lane, const double* d_x, std::size_t rows, std::size_t r, double tol,
                double* d_q, double* d_r, const char* what, std::size_t held_bytes,
                MemoryLedger& ledger, PendingQr& qr);
// Reads devInfo and R back and checks |R_jj| against the CPU's cutoff, counting in `borderline`
// the kept columns at or below it. Throws CudaError on a failed factorization.
void check_qr(PendingQr& qr, std::size_t& borderline);

}  // namespace cuda
}  // namespace backscore
