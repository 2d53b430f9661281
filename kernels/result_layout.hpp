// The per-column result slots of a device batch, shared by the kernels (which write them) and the
// host assembly of the formulas (host/run/cuda/score_assembly.cpp, which reads them). Plain C++17
// (nvcc and g++): the one place the layout is spelled out.
//
// A batch of m columns writes one results array of `stride` doubles per column: column j's slot s
// is at data[j * stride + s] (ResultSlots). The first kFixedSlots slots are always there; the
// era's plan (host/run/cuda/batch_plan.hpp) appends blocks of kPairSlots (pair statistics) and one
// block of kDotSlots (the dot products) for what its formulas need, and the host reads each block
// back at the offset the plan gave it, through the named offsets below.
#pragma once

#include <cstddef>

#include "core/hd/hd.hpp"

namespace backscore::cuda::layout {

// Fixed slots of every column.
inline constexpr std::size_t kNanSlot = 0;    // set to 1 by the sorts when the column holds a NaN
inline constexpr std::size_t kConstSlot = 1;  // set by the predictions' rank kernel: 1 = constant
inline constexpr std::size_t kFixedSlots = 2;
// "No slot": a rank kernel given it writes no constant flag; a block the era does not compute.
inline constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

// Pair statistics of (x, y) over the participating rows: kPairSlots consecutive slots from a
// block's offset. Centered sums are two-pass (means first).
namespace pair {
inline constexpr std::size_t kMeanX = 0;
inline constexpr std::size_t kMeanY = 1;
inline constexpr std::size_t kSxx = 2;    // sum (x - mean_x)^2
inline constexpr std::size_t kSyy = 3;    // sum (y - mean_y)^2
inline constexpr std::size_t kSxy = 4;    // sum (x - mean_x)(y - mean_y)
inline constexpr std::size_t kSumXy = 5;  // sum x * y (uncentered)
}  // namespace pair
inline constexpr std::size_t kPairSlots = 6;

// The dot products of mmc and bmc: [mmc target, meta gauss, bench gauss]^T gauss, one GEMM whose
// output rows are these kDotSlots consecutive slots.
namespace dots {
inline constexpr std::size_t kTarget = 0;  // mmc target . gauss
inline constexpr std::size_t kMeta = 1;    // meta-model gauss . gauss
inline constexpr std::size_t kBench = 2;   // benchmark gauss . gauss
}  // namespace dots
inline constexpr std::size_t kDotSlots = 3;

}  // namespace backscore::cuda::layout

namespace backscore::cuda {

// A batch's results array: `stride` doubles per column.
struct ResultSlots {
  double* data = nullptr;
  std::size_t stride = 0;
  BACKSCORE_HD double* column(std::size_t j) const { return data + j * stride; }
};

}  // namespace backscore::cuda
