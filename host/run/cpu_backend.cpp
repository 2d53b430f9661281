// The CPU backend: every column through the ColumnScorer.
#include "host/run/backend.hpp"

namespace backscore {
namespace {

class CpuBackend final : public EraBackend {
 public:
  explicit CpuBackend(ColumnScorer& columns) : columns_(columns) {}
  void begin_era(const Era&) override {}
  void score_batch(const Batch& batch, std::span<const std::ptrdiff_t> slot, std::span<double> out,
                   RunStats& stats) override {
    columns_.score(batch, slot, GivenBuiltins{}, out, stats);
  }
  void end_era(std::span<double> out) override { columns_.end_era(out); }

 private:
  ColumnScorer& columns_;
};

}  // namespace

std::unique_ptr<EraBackend> make_cpu_backend(ColumnScorer& columns) {
  return std::make_unique<CpuBackend>(columns);
}

}  // namespace backscore
