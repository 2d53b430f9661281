// simulate's device (host/run/sim_device.hpp) on CUDA: one CudaEraScorer for pass A (the shared
// built-ins of the era's complete columns, and the rules' meta-model sums: one GEMM of each
// device batch's gaussianized ranks with the batch's stakes) and one per track it scores in pass B
// (the track's meta-model built-ins against the meta-model the Simulator rebuilt, and the
// columns' xcorr with it). The scorers split the memory cap evenly: each holds its lanes' batch
// buffers from era to era.
#include "host/run/cuda/sim_device.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/run/cuda/era_scorer.hpp"
#include "kernels/cuda_check.hpp"

namespace backscore::cuda {
namespace {

class CudaSimDevice final : public SimDevice {
 public:
  CudaSimDevice(const SimDeviceSpecs& specs, int device, std::size_t memory_cap, int streams)
      : tracks_(specs.tracks.size()) {
    for (std::size_t t = 0; t < specs.tracks.size(); ++t) {
      scorers_ += on_device(specs, t) ? 1 : 0;
    }
    if (memory_cap == 0) {  // 90% of the free memory, as one scorer alone would take
      BACKSCORE_CUDA_CHECK(cudaSetDevice(device));
      std::size_t free_b = 0, total_b = 0;
      BACKSCORE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
      memory_cap = free_b / 10 * 9;
    }
    const std::size_t share = memory_cap / scorers_;
    EraScorerOptions shared_options;
    shared_options.streams = streams;
    shared_options.meta_sums = specs.rules;
    shared_.emplace(device, specs.shared, share, shared_options);
    for (std::size_t t = 0; t < specs.tracks.size(); ++t) {
      if (!on_device(specs, t)) continue;
      EraScorerOptions o;
      o.streams = streams;
      o.meta_pearson = t < specs.rules;
      tracks_[t].emplace(device, specs.tracks[t], share, o);
    }
  }

  void begin_era(const Era& era, const EraContext& base) override {
    explained([&] { shared_->begin_era(era, base); });
  }

  void score_shared(std::span<const float> block, std::size_t k, std::span<const double> weights,
                    std::span<double> scores, std::span<double> sums) override {
    shared_->score_full_columns(block, k, scores, BatchExtras{weights, sums, {}});
  }

  void begin_track(std::size_t t, const Era& era, const EraContext& ctx) override {
    explained([&] { scorer(t).begin_era(era, ctx); });
  }

  void score_track(std::size_t t, std::span<const float> block, std::size_t k,
                   std::span<double> scores, std::span<double> xcorr) override {
    scorer(t).score_full_columns(block, k, scores, BatchExtras{{}, {}, xcorr});
  }

  std::size_t largest_batch_models() const override {
    std::size_t widest = shared_->largest_batch_models();
    for (const std::optional<CudaEraScorer>& t : tracks_) {
      if (t) widest = std::max(widest, t->largest_batch_models());
    }
    return widest;
  }

  std::size_t peak_device_bytes() const override {
    std::size_t peak = shared_->peak_device_bytes();
    for (const std::optional<CudaEraScorer>& t : tracks_) {
      if (t) peak += t->peak_device_bytes();
    }
    return peak;
  }

 private:
  // A cap too small for a scorer names its share of --gpu-memory, which the message's figure is.
  template <class F>
  void explained(F&& begin) {
    try {
      begin();
    } catch (const ResourceLimitError& e) {
      throw ResourceLimitError(
          std::string(e.what()) + " (simulate shares --gpu-memory evenly among " +
          std::to_string(scorers_) + " scorers: the shared formulas' and one per rule)");
    }
  }

  static bool on_device(const SimDeviceSpecs& specs, std::size_t t) {
    return !specs.tracks[t].empty() || t < specs.rules;
  }
  CudaEraScorer& scorer(std::size_t t) {
    if (t >= tracks_.size() || !tracks_[t]) {
      throw std::logic_error("CudaSimDevice: track " + std::to_string(t) + " is not on the device");
    }
    return *tracks_[t];
  }

  std::size_t scorers_ = 1;
  std::optional<CudaEraScorer> shared_;
  std::vector<std::optional<CudaEraScorer>> tracks_;
};

}  // namespace

std::unique_ptr<SimDevice> make_cuda_sim_device(const SimDeviceSpecs& specs, int device,
                                                std::size_t memory_cap, int streams) {
  return std::make_unique<CudaSimDevice>(specs, device, memory_cap, streams);
}

}  // namespace backscore::cuda
