// The cuda backend (backend.hpp): per batch, the columns with every id present go to the GPU
// (CudaEraScorer) for all the run's built-ins; the ColumnScorer then scores the other columns on
// the CPU and evaluates the plan's definitions of every column with the GPU's built-in scores as
// inputs.
#include "host/run/cuda/cuda_backend.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>

#include "host/run/cuda/era_scorer.hpp"
#include "host/run/cuda/fnc_factorizer.hpp"
#include "kernels/device.hpp"

namespace backscore::cuda {
namespace {

class CudaBackend final : public EraBackend {
 public:
  CudaBackend(const RunOptions& options, const FormulaRouting& routing, ColumnScorer& columns)
      : options_(options), routing_(routing), columns_(columns), gather_(batch_allocator()) {
    // The GPU scores the built-ins it has (BuiltinInfo::on_gpu) of complete columns; the others
    // are the ColumnScorer's, for every column. Without such built-ins it has nothing to do.
    for (std::size_t b = 0; b < routing.builtins.size(); ++b) {
      if (builtin_info(routing.builtins[b].builtin).on_gpu) {
        gpu_index_.push_back(b);
        gpu_builtins_.push_back(routing.builtins[b]);
      }
    }
    if (!gpu_builtins_.empty()) {
      EraScorerOptions gpu_options;
      gpu_options.streams = options.gpu_streams;
      // fnc: the era's features are factorized on the device too (fnc_factorizer.hpp), by the
      // ColumnScorer's context building, on whatever thread builds it. Under --gpu-memory the
      // factorizer gets an eighth of the cap and the scorer the rest (an era whose factorization
      // does not fit in its eighth is factorized by LAPACK, counted); without a cap the scorer
      // takes 90% of the free memory and the factorizer up to 5% of the device's.
      const bool fnc = std::any_of(
          routing.builtins.begin(), routing.builtins.end(),
          [](const FormulaSpec& s) { return !s.is_defined() && s.builtin == Builtin::fnc; });
      std::size_t scorer_cap = options.gpu_memory, factorizer_cap = 0;
      if (fnc && options.gpu_memory > 0) {
        factorizer_cap = options.gpu_memory / 8;
        scorer_cap -= factorizer_cap;
      }
      gpu_.emplace(options.device, gpu_builtins_, scorer_cap, gpu_options);
      if (fnc) {
        factorizer_ = std::make_shared<DeviceFactorizer>(options.device, factorizer_cap);
        columns_.set_fnc_factorizer(as_factorizer(factorizer_));
      }
    }
  }

  // HDF5 reads a batch straight into the page-locked memory the scorer copies to the device.
  BufferPool::Allocator batch_allocator() const override {
    const int device = options_.device;
    return {[device](std::size_t bytes) { return allocate_pinned(device, bytes); },
            [](void* p) { free_pinned(p); }};
  }

  void begin_era(const Era& era) override {
    if (gpu_ && era.n_stocks() > 0) gpu_->begin_era(era, *columns_.full_context());
  }

  void score_batch(const Batch& batch, std::span<const std::ptrdiff_t> slot, std::span<double> out,
                   RunStats& stats) override {
    const std::size_t n = batch.era->n_stocks();
    row_.assign(batch.count, SIZE_MAX);
    if (gpu_ && n > 0) {
      // Which columns are complete (the scan on all cores), then their rows in column order.
      whole_.assign(batch.count, 0);
      const std::ptrdiff_t cols = static_cast<std::ptrdiff_t>(batch.count);
#pragma omp parallel for schedule(static)
      for (std::ptrdiff_t j = 0; j < cols; ++j) {
        const float* c = batch.column(static_cast<std::size_t>(j));
        whole_[j] = slot[j] >= 0 && std::none_of(c, c + n, [](float v) { return std::isnan(v); });
      }
      std::size_t complete = 0;
      for (std::size_t j = 0; j < batch.count; ++j) {
        if (whole_[j]) row_[j] = complete++;
      }
      if (complete > 0) {
        std::span<const float> block = batch.predictions.span();
        if (complete < batch.count) {  // gather: the scorer takes complete columns only
          block_.reset();
          block_ = gather_.take(complete * n);
          for (std::size_t j = 0; j < batch.count; ++j) {
            if (row_[j] == SIZE_MAX) continue;
            std::copy_n(batch.column(j), n, block_.data() + row_[j] * n);
          }
          block = {block_.data(), complete * n};
        }
        gpu_scores_.resize(complete * gpu_builtins_.size());
        gpu_->score_full_columns(block, complete, gpu_scores_);
        // Into the run's layout, NaN for the built-ins the ColumnScorer computes.
        const std::size_t all = routing_.builtins.size(), on_gpu = gpu_builtins_.size();
        scores_.assign(complete * all, std::nan(""));
        for (std::size_t r = 0; r < complete; ++r) {
          for (std::size_t g = 0; g < on_gpu; ++g) {
            scores_[r * all + gpu_index_[g]] = gpu_scores_[r * on_gpu + g];
          }
        }
        stats.gpu_model_eras += complete;
      }
    }
    columns_.score(batch, slot, GivenBuiltins{row_, scores_}, out, stats);
  }

  void end_era(std::span<double> out) override { columns_.end_era(out); }

  void finish(RunStats& stats) const override {
    if (!gpu_) return;
    // The scorer's and the factorizer's memory (both under the cap; the sum bounds the peak).
    stats.gpu_peak_bytes =
        gpu_->peak_device_bytes() + (factorizer_ ? factorizer_->stats().peak_bytes : 0);
    stats.gpu_batch_models = gpu_->largest_batch_models();
    stats.gpu_streams = gpu_->most_streams_used();
  }

 private:
  const RunOptions& options_;
  const FormulaRouting& routing_;
  ColumnScorer& columns_;
  std::optional<CudaEraScorer> gpu_;
  std::shared_ptr<DeviceFactorizer> factorizer_;  // shared with the ColumnScorer's Factorizer
  BufferPool gather_;         // page-locked blocks for a batch's complete columns
  BufferPool::Buffer block_;  // the current gathered block (declared after its pool)
  std::vector<char> whole_;
  std::vector<std::size_t> row_;  // column j's row in scores_, SIZE_MAX when not on the GPU
  std::vector<double> scores_;    // the built-in scores given to the ColumnScorer, row-major
  std::vector<FormulaSpec> gpu_builtins_;  // the run's built-ins the GPU computes
  std::vector<std::size_t> gpu_index_;     // their indices in routing_.builtins
  std::vector<double> gpu_scores_;         // the GPU's scores of those, row-major
};

}  // namespace

std::unique_ptr<EraBackend> make_cuda_backend(const RunOptions& options,
                                              const FormulaRouting& routing,
                                              ColumnScorer& columns) {
  return std::make_unique<CudaBackend>(options, routing, columns);
}

}  // namespace backscore::cuda
