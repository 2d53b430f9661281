// The device part of `backscore simulate --backend cuda`: the era's complete columns (every id
// present) scored on a GPU, as `run`'s cuda backend scores them, plus what only a simulation asks:
// each rule's meta-model sums from the device batch's gaussianized ranks (one GEMM of the ranks
// with the batch's stakes) and each column's xcorr with a rule's meta-model. The Simulator
// (simulation.hpp) keeps everything else on the CPU: the columns with missing ids, the built-ins
// the GPU does not compute (BuiltinInfo::on_gpu), mpc's portfolio, the plan's definitions, the
// stakes. CPU and device agree to ~1e-12 (only summation orders differ), not bit for bit.
//
// Per era the Simulator calls, in this order:
//   begin_era(era, base)                  the era's shared stages (built on all rows)
//   score_shared(block, k, weights, ...)  pass A of the k complete columns
//   for each track t it scores on the device (specs.tracks[t] not empty, or t < specs.rules):
//     begin_track(t, era, ctx)            era.meta_model is then track t's meta-model
//     score_track(t, block, k, ...)       pass B of the same columns against it
// The implementations: host/run/cuda/sim_device.cpp (CudaEraScorer); tests have a CPU one.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "host/era/formulas.hpp"

namespace backscore {

struct Era;
class EraContext;

struct SimDeviceSpecs {
  std::vector<FormulaSpec> shared;               // pass A: the built-ins every rule shares
  std::vector<std::vector<FormulaSpec>> tracks;  // pass B, per track: its meta-model built-ins
  std::size_t rules = 0;  // tracks [0, rules) rebuild a meta-model (sums, xcorr); the others not
};

class SimDevice {
 public:
  virtual ~SimDevice() = default;
  // base: built on all of era's rows with needs covering ContextNeeds::of(specs.shared).
  virtual void begin_era(const Era& era, const EraContext& base) = 0;
  // block: k complete columns, column-major n x k floats (no NaN). weights: column j's weight in
  // rule r's meta-model at [r * k + j] (k x rules). Writes scores[j * shared.size() + f] and adds
  // sum_j weights[r * k + j] * gauss_j[i] to sums[r * n + i] (n x rules), gauss_j the column's
  // gaussianized tie-kept ranks.
  virtual void score_shared(std::span<const float> block, std::size_t k,
                            std::span<const double> weights, std::span<double> scores,
                            std::span<double> sums) = 0;
  // era.meta_model holds track t's meta-model; ctx built on all rows with needs covering
  // ContextNeeds::of(specs.tracks[t]) and, for t < rules, the meta-model.
  virtual void begin_track(std::size_t t, const Era& era, const EraContext& ctx) = 0;
  // The same k columns as score_shared: scores[j * tracks[t].size() + f], and for t < rules
  // xcorr[j], the Pearson correlation of column j's gaussianized ranks with the meta-model.
  virtual void score_track(std::size_t t, std::span<const float> block, std::size_t k,
                           std::span<double> scores, std::span<double> xcorr) = 0;
  // The most device memory held at once (0 for a device that holds none), and the widest device
  // batch (models) scored so far.
  virtual std::size_t peak_device_bytes() const { return 0; }
  virtual std::size_t largest_batch_models() const { return 0; }
};

using SimDeviceFactory = std::function<std::unique_ptr<SimDevice>(const SimDeviceSpecs&)>;

// The CUDA one on `device`, all its scorers under memory_cap bytes together (0: 90% of the
// device's free memory), each with `streams` lanes. Throws InputError on a build without CUDA
// (the factory is host/run/cuda/factory.cpp or factory_cpu_only.cpp), CudaError when the device
// cannot be used.
SimDeviceFactory cuda_sim_device(int device, std::size_t memory_cap, int streams);

}  // namespace backscore
