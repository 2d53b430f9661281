// Internal: the launchers of the CUDA scoring kernels (scoring_kernels.cu, sort_kernels.cu), called
// by the CUDA backend's host orchestration (host/run/cuda/). Plain C++17; the arguments are typed
// views of device memory (kernels/device_views.hpp) and the results array of a batch
// (kernels/result_layout.hpp). Every launcher enqueues on `stream` and checks the launch
// (CudaError). All blocks are column-major with one column per model, stock index fastest.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

#include "kernels/device_views.hpp"
#include "kernels/result_layout.hpp"

namespace backscore::cuda::detail {

// ---- sorting (sort_kernels.cu; instantiated for float and double sources, i.e. 32- and 64-bit
// keys) ----

// Largest n the block path sorts for this key type; 0 if the device's shared memory is too small.
template <class Key>
std::size_t block_sort_max_rows(int device);
// CUB temporary bytes of the segmented path for n x m (max over both key types, so one scratch
// serves the float and the double sorts).
std::size_t segmented_sort_temp_bytes(std::size_t n, std::size_t m);

// Stable ascending sort of every column of `src` (dense: ld == rows), keyed by SortKey<Src>, -0.0
// tied with 0.0; stable = ties in row order, pandas "first". Outputs the sorted keys and order in
// `s` (s.keys_out, s.order). use_block: one thread block per column (n <= block_sort_max_rows),
// else cub::DeviceSegmentedRadixSort with s's scratch. NaNs are keyed (never crash the sort) and set
// slot layout::kNanSlot of their column in `nan_flags` unless nan_flags.data is null.
template <class Src>
void sort_columns(ColumnBlock<const Src> src, bool use_block, const SortScratch<SortKey<Src>>& s,
                  ResultSlots nan_flags, cudaStream_t stream);

// ---- ranks and reductions (scoring_kernels.cu) ----

// The era's rank tables, 2n - 1 values each: at [t - 2], for t = 2 .. 2n (twice a tie-kept rank),
// ndtri(percentile(t / 2, n)) and its signed ^1.5.
struct RankTables {
  const double* gauss = nullptr;
  const double* powered = nullptr;
};
// n x m outputs of ranks_from_sorted, each dense; a null pointer is not written.
struct RankOutputs {
  double* first = nullptr;    // (k + 0.5) / n for the row at sorted position k (pandas "first")
  double* gauss = nullptr;    // tables.gauss at the tie run [a, b) holding the row: [a + 1 + b - 2]
  double* powered = nullptr;  // tables.powered likewise
};
// From sorted keys and order (instantiated for 32- and 64-bit keys). Also writes slot
// `const_slot` of each column of `res`: 1 when the column is constant, else 0 (const_slot =
// layout::kNoSlot: not written).
template <class Key>
void ranks_from_sorted(SortedColumns<Key> sorted, RankTables tables, RankOutputs out,
                       ResultSlots res, std::size_t const_slot, cudaStream_t stream);

// Pair statistics (layout::pair, kPairSlots slots from `offset`) of x and y per column: y is an
// n x m block, x one of the same shape or an era vector (ColumnBlock::broadcast). `rows` selects
// all rows or, per column, the k first and k last positions of a sorted order (top/bottom).
void pair_stats(ColumnBlock<const double> x, ColumnBlock<const double> y, RowSelection rows,
                ResultSlots res, std::size_t offset, cudaStream_t stream);

// out(i, j) = x(i, j) - proportion * (sum over c < r of basis(i, c) * beta(c, j)), the sum in
// column order starting from the first product: the residual exactly as the CPU's
// LeastSquaresProjector forms it, so rows with identical (x, exposures) get identical residuals. x
// and out: dense n x m; basis: n x r (dense); beta: r x m with its own leading dimension. r = 0:
// out = x.
void residual_rows(ColumnBlock<const double> x, ColumnBlock<const double> basis,
                   ColumnBlock<const double> beta, double proportion, ColumnBlock<double> out,
                   cudaStream_t stream);

// out(i, j) = g(i, j) - v[i] * (res(j)[dot_slot] / v_norm2) (numerai-tools orthogonalize with the
// dot product g.v precomputed in res); 0 where that coefficient is not finite (the score is NaN
// then, and NaN must not reach a sort). g and out: dense n x m; v: n values.
void orthogonalize(ColumnBlock<const double> g, const double* v, double v_norm2, ResultSlots res,
                   std::size_t dot_slot, ColumnBlock<double> out, cudaStream_t stream);

// v(i, j) /= sd_j with sd_j = sqrt(sxx / n), sxx the centered sum of squares of the pair block at
// `pair_offset` of res (np.std); columns whose sd is not positive and finite become 0 (their score
// is NaN anyway, and NaN must not reach a sort). v: dense n x m.
void divide_by_std(ColumnBlock<double> v, ResultSlots res, std::size_t pair_offset,
                   cudaStream_t stream);

}  // namespace backscore::cuda::detail
