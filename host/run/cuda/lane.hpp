// A lane: one CUDA stream with everything a device batch needs of its own (handles, workspace,
// batch buffers, pinned host buffers). The batches of a call go to the lanes in turn, so one
// lane's copies and host work overlap another lane's kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "host/run/cuda/batch_plan.hpp"
#include "kernels/cuda_resources.hpp"
#include "kernels/device_views.hpp"
#include "kernels/result_layout.hpp"

namespace backscore::cuda {

// The device buffers of one batch of up to `models` columns, carved from the lane's allocation
// (null when the era's plan does not use them).
struct LaneBuffers {
  std::size_t n = 0, models = 0;
  float* pred = nullptr;  // the predictions, n x models
  // Sort scratch with room for 64-bit keys; the float sort uses the low half of keys_in/keys_out.
  std::uint64_t* keys_in = nullptr;
  std::uint64_t* keys_out = nullptr;
  std::uint32_t* vals_in = nullptr;
  std::uint32_t* order = nullptr;   // the predictions' sorted order
  std::uint32_t* order2 = nullptr;  // the second sort's (p_perp, fnc residual)
  std::int64_t* offsets = nullptr;
  void* sort_temp = nullptr;
  std::size_t sort_temp_bytes = 0;
  double* results = nullptr;       // stride x models (ResultSlots)
  double* coefficients = nullptr;  // GEMM coefficients, coefficient_rows x models
  double *first = nullptr, *gauss = nullptr, *powered = nullptr, *work = nullptr;
  double *fnc_gauss = nullptr, *fnc_powered = nullptr;
  // simulate's meta-model sums: the batch's weights (models x meta_sums) and the lane's partial
  // sums over its batches of the call (n x meta_sums).
  double *weights = nullptr, *sums = nullptr;

  // Carves the buffers `plan` needs for `models` columns out of [base, base + bytes).
  void carve(std::byte* base, std::size_t bytes, const BatchPlan& plan, std::size_t models,
             std::size_t sort_temp_size);

  // The predictions' sort (32-bit keys, into order) and the second sort (64-bit keys, order2).
  SortScratch<std::uint32_t> float_sort() const;
  SortScratch<std::uint64_t> double_sort() const;
};

struct Lane {
  Stream stream;
  Event done;  // recorded after the batch's results are copied to host_results
  CublasHandle blas;
  CusolverHandle solver;
  // The cuBLAS workspace (also begin_era's cuSOLVER scratch) and the batch buffers (one
  // allocation, carved into `buffers`): allocated by begin_era for the lanes the era's plan uses.
  // A lane whose buffers were freed (an era that needed fewer lanes and more memory) keeps a stale
  // workspace pointer in its cuBLAS handle; nothing calls cuBLAS on it before begin_era sets a new
  // one (set_workspace).
  DeviceBuffer<std::byte> workspace;
  DeviceBuffer<std::byte> memory;
  LaneBuffers buffers;
  // Host pinned buffers. staging (used only for callers' unpinned blocks; run_eras' are pinned)
  // grows on demand in upload(), doubling up to the plan's device batch, so narrow calls do not
  // pin n x (an even share of all the era's models) floats per lane.
  PinnedBuffer<float> staging;
  PinnedBuffer<double> host_results;
  // simulate's meta-model sums: the batch's weights on their way to the device, and the lane's
  // partial sums on their way back (grown on demand).
  PinnedBuffer<double> host_weights, host_sums;
  // The batch in flight (enqueued, results not yet read): columns [j0, j0 + models) of the call.
  bool busy = false;
  std::size_t j0 = 0, models = 0;

  // A stream with its cuBLAS and cuSOLVER handles bound to it; no device memory yet.
  static Lane create();
  // Allocates the lane's cuBLAS workspace and hands it to the handle.
  void set_workspace(std::size_t bytes);
  // Copies columns [j0, j0 + models) of the n-row block to the lane's predictions buffer,
  // through the staging buffer unless the block is pinned. max_staging: the most floats staging
  // grows to (n x the plan's batch).
  void upload(std::span<const float> block, std::size_t n, std::size_t j0, std::size_t models,
              bool pinned, std::size_t max_staging);
  std::size_t held_bytes() const { return workspace.bytes() + memory.bytes(); }
};

}  // namespace backscore::cuda
