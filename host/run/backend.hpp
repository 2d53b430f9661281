// The era loop's backends behind one interface. run_eras (run.cpp) reads batches and hands them to
// the backend chosen once per run by make_backend; no other code of the loop knows which it is.
//   cpu:  every column on the CPU (ColumnScorer, OpenMP).
//   cuda: the built-ins of the columns with every id present on the GPU (host/run/cuda/), then the
//         CPU for the rest and for the plan's definitions.
// The factory is compiled once per build: factory_cpu_only.cpp without CUDA, cuda/factory.cpp with
// it, so nothing else has an #ifdef for CUDA.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>

#include "host/run/buffer_pool.hpp"
#include "host/run/column_scorer.hpp"
#include "host/run/run.hpp"

namespace backscore {

class EraBackend {
 public:
  virtual ~EraBackend() = default;
  // Memory for the reader's batch buffers (page-locked for the GPU, the heap otherwise).
  virtual BufferPool::Allocator batch_allocator() const { return BufferPool::heap(); }
  // Prepares `era` (called before its first batch, once the ColumnScorer's stages are built).
  virtual void begin_era(const Era& era) = 0;
  // Scores the batch's columns j with slot[j] >= 0 into out[slot[j] * outputs ..], adding its
  // counts to stats.
  virtual void score_batch(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                           std::span<double> out, RunStats& stats) = 0;
  // After the era's last batch, with the era's rows as score_batch filled them: the scores that
  // depend on every model of the era (mpc; the ColumnScorer's end_era).
  virtual void end_era(std::span<double> out) = 0;
  // Adds what the backend measured over the run (device memory, batch sizes) to stats.
  virtual void finish(RunStats& /*stats*/) const {}
};

// The backend options.backend names, scoring through `columns` (which must outlive it). Throws
// InputError for Backend::cuda on a build without CUDA; CudaError when the device cannot be used.
std::unique_ptr<EraBackend> make_backend(const RunOptions& options, const FormulaRouting& routing,
                                         ColumnScorer& columns);

// Whether `--backend auto` may choose the CUDA backend. False until the GPU suite (tests/gpu/)
// and compute-sanitizer have passed on a device (issue 18, bench/RESULTS.md "GPU"): results people
// rely on must not come from an unproven path by default. `--backend cuda` runs it regardless.
inline constexpr bool kCudaBackendProven = false;
// The same for `simulate --backend auto`: its device path (host/run/sim_device.hpp) is proven by
// tests/gpu/sim_backend_test.cpp on a device, separately from run's.
inline constexpr bool kCudaSimulateProven = false;

// What the CLI asks before choosing a backend.
struct CudaDevices {
  bool built = false;    // the build has the CUDA backend
  int count = 0;         // usable devices; 0 without CUDA in the build, a driver or a device
  std::string why_none;  // the reason when count == 0
};
CudaDevices query_cuda_devices();
// "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90" for device `index` (only when count > index).
std::string describe_cuda_device(int index);

// The CPU backend (also the cuda backend's fallback for the columns the GPU does not take).
std::unique_ptr<EraBackend> make_cpu_backend(ColumnScorer& columns);

}  // namespace backscore
