// Internal: the launchers of the CUDA scoring kernels (scoring_kernels.cu, sort_kernels.cu), called
// by era_scorer.cpp. Plain C++17 with raw device pointers; every launcher enqueues on `stream` and
// checks the launch (CudaError). All matrices are column-major with one column per model, stock
// index fastest: element (i, j) of an n x m matrix is at [j * n + i].
//
// Per-column results go to a device array `res` of `stride` doubles per column: column j's slot s
// is res[j * stride + s]. Slot kNanSlot is set to 1 by the sorts when the column holds a NaN,
// slot kConstSlot is set by the rank kernel of the predictions to 1 when the column is constant.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace backscore::cuda::detail {

inline constexpr std::size_t kNanSlot = 0;
inline constexpr std::size_t kConstSlot = 1;
// Pair statistics occupy 6 consecutive slots: mean_x, mean_y, sxx, syy, sxy (centered sums of
// squares and cross products, two-pass), sum x*y (uncentered).
inline constexpr std::size_t kPairSlots = 6;

// ---- sorting (sort_kernels.cu) ----
// Stable ascending sort of every column of an n x m matrix (float -> 32-bit keys, double -> 64-bit
// keys, -0.0 tied with 0.0; stable = ties in row order, pandas "first"). Outputs the sorted keys
// (uint32 or uint64 by source type, n x m) and order (n x m row indices). `keys_in` and `vals_in`
// (n x m each, keys sized for 64-bit) are scratch for the segmented path, `temp` its CUB storage,
// `offsets` m + 1 int64 scratch. NaNs are keyed (never crash the sort) and flag res[kNanSlot]
// when res is not null.
struct SortScratch {
  void* keys_in = nullptr;
  void* keys_out = nullptr;
  std::uint32_t* vals_in = nullptr;
  std::uint32_t* order = nullptr;
  void* temp = nullptr;
  std::size_t temp_bytes = 0;
  std::int64_t* offsets = nullptr;
};
// Largest n the block path sorts for this key width; 0 if the device's shared memory is too small.
std::size_t block_sort_max_rows(bool wide_keys, int device);
// CUB temporary bytes of the segmented path for n x m (max over both key widths).
std::size_t segmented_sort_temp_bytes(std::size_t n, std::size_t m);
void sort_columns(const float* src, std::size_t n, std::size_t m, bool use_block,
                  const SortScratch& s, double* res, std::size_t stride, cudaStream_t stream);
void sort_columns(const double* src, std::size_t n, std::size_t m, bool use_block,
                  const SortScratch& s, double* res, std::size_t stride, cudaStream_t stream);

// ---- ranks and reductions (scoring_kernels.cu) ----
// From sorted keys (uint32 when !wide_keys, else uint64) and order: first[row] = (k + 0.5) / n
// for the row at sorted position k (pandas "first" percentile); gauss[row] / powered[row] =
// gauss_table / pow_table[a + 1 + b - 2] for the tie run [a, b) holding the row (tables hold
// ndtri(percentile(t / 2, n)) and its signed ^1.5 for t = 2 .. 2n). Null outputs are skipped.
// Also writes res[j * stride + const_slot] = 1 when column j is constant, else 0 (const_slot =
// kNoSlot: not written).
inline constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);
void ranks_from_sorted(const void* sorted_keys, bool wide_keys, const std::uint32_t* order,
                       std::size_t n, std::size_t m, const double* gauss_table,
                       const double* pow_table, double* first, double* gauss, double* powered,
                       double* res, std::size_t stride, std::size_t const_slot,
                       cudaStream_t stream);

// Pair statistics of x and y per column into res[j * stride + offset + 0..5] (kPairSlots).
// ldx / ldy: distance between columns (0 = the same vector for every column, an era vector).
// With order != nullptr only the rows at sorted positions [0, k) and [n - k, n) of that column's
// order take part (top/bottom), else all n rows.
void pair_stats(const double* x, std::size_t ldx, const double* y, std::size_t ldy,
                const std::uint32_t* order, std::size_t k, std::size_t n, std::size_t m,
                double* res, std::size_t stride, std::size_t offset, cudaStream_t stream);

// out(i, j) = x(i, j) - proportion * (sum over c < r of cols[c * n + i] * beta[j * ldb + c]),
// the sum in column order starting from the first product: the residual exactly as the CPU's
// LeastSquaresProjector forms it, so rows with identical (x, exposures) get identical residuals.
void residual_rows(const double* x, const double* cols, std::size_t r, const double* beta,
                   std::size_t ldb, double proportion, std::size_t n, std::size_t m, double* out,
                   cudaStream_t stream);

// out(i, j) = g(i, j) - mvec[i] * (res[j * stride + offset] / m_norm2) (numerai-tools
// orthogonalize with the dot product g.m precomputed in res); 0 where that coefficient is not
// finite (the score is NaN then, and NaN must not reach a sort).
void orthogonalize(const double* g, const double* mvec, const double* res, std::size_t stride,
                   std::size_t offset, double m_norm2, std::size_t n, std::size_t m, double* out,
                   cudaStream_t stream);

// v(i, j) /= sd_j with sd_j = sqrt(res[j * stride + offset] / n) (np.std from a centered sum of
// squares); columns whose sd is not positive and finite become 0 (their score is NaN anyway, and
// NaN must not reach a sort).
void divide_by_std(double* v, const double* res, std::size_t stride, std::size_t offset,
                   std::size_t n, std::size_t m, cudaStream_t stream);

}  // namespace backscore::cuda::detail
