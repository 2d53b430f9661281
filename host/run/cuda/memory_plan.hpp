// Planning device memory under the scorer's cap: the sizes of an era's buffers and of a lane's
// batch buffers, how many lanes and models per batch an era gets (MemoryPlan, era_scorer.hpp),
// and the carving of aligned pieces out of one allocation. Host-only, no CUDA types.
#pragma once

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <string>

#include "host/run/cuda/batch_plan.hpp"
#include "host/run/cuda/era_scorer.hpp"

namespace backscore::cuda {

inline constexpr std::size_t kCublasWorkspaceBytes = std::size_t{32} << 20;  // per lane
inline constexpr std::size_t kAlign = 256;  // every carved piece starts at a multiple of this
inline constexpr std::size_t kBatchSlackBytes = std::size_t{64}
                                                << 10;  // alignment of batch buffers
// cuBLAS, cuSOLVER and CUB take int sizes.
inline constexpr std::size_t kMaxInt = static_cast<std::size_t>(std::numeric_limits<int>::max());

inline std::size_t round_up(std::size_t b) { return (b + kAlign - 1) / kAlign * kAlign; }

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

// Sizing of the carved pieces: what Carver::take will use, to plan before allocating.
struct Sizer {
  std::size_t total = 0;
  template <class T>
  void add(std::size_t count) {
    if (count > 0) total += round_up(count * sizeof(T));
  }
};

// "12.5 MiB": byte counts in messages.
std::string mib(std::size_t bytes);

// Device bytes of one model column of a lane's batch buffers (LaneBuffers::carve).
std::size_t per_model_bytes(const BatchPlan& plan);

// What the lane search needs besides the era's plan.
struct LaneBudget {
  std::size_t cap = 0;              // the scorer's memory cap
  std::size_t lanes_available = 1;  // lanes the scorer created
  std::size_t max_batch_models = 0;
  std::size_t min_lane_models = 1;
};

// The era's lanes and batch size under the cap, given the era buffers' bytes (EraDeviceData).
// As many lanes as there are models (up to the scorer's), each with batches as large as the cap
// allows up to an even share of the era's models; fewer lanes when the cap leaves a lane less than
// min_lane_models (or its whole share, if smaller). Throws ResourceLimitError (core/error.hpp)
// when the cap holds not even one model column.
MemoryPlan plan_memory(const BatchPlan& plan, std::size_t era_bytes, const LaneBudget& budget,
                       const std::string& era_name);

// Bytes of one lane's batch buffers under `plan` (its cuBLAS workspace is separate).
inline std::size_t lane_batch_bytes(const MemoryPlan& plan) {
  return plan.per_model_bytes * plan.batch_models + plan.sort_temp_bytes + plan.lane_sums_bytes +
         kBatchSlackBytes;
}

// The most device memory the scorer has held at once, against its cap.
struct MemoryLedger {
  std::size_t cap = 0;
  std::size_t peak = 0;
  void note(std::size_t held) { peak = held > peak ? held : peak; }
};

}  // namespace backscore::cuda
