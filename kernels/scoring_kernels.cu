// Ranks, reductions and element-wise steps of the CUDA scorer (see scoring_kernels.hpp). Every
// reduction is one thread block per column with a fixed summation order (strided partial sums,
// then a fixed shared-memory tree): deterministic, no atomics. Compiled with -fmad=false so the
// element-wise arithmetic is the CPU's operation for operation.
#include <cmath>
#include <cstdint>
#include <stdexcept>

#include "core/hd/elementwise.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda::detail {
namespace {

constexpr unsigned kThreads = 256;
constexpr unsigned kReduceThreads = 256;
// block_sum halves blockDim.x each step: with a blockDim that is not a power of two it would drop
// elements. Every reduction kernel is launched with exactly kReduceThreads.
static_assert((kReduceThreads & (kReduceThreads - 1)) == 0 && kReduceThreads >= 32,
              "block_sum needs a power-of-two block size");

unsigned grid_for(std::size_t total, unsigned threads) {
  const std::size_t blocks = (total + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535u * 16u ? (blocks > 0 ? blocks : 1) : 65535u * 16u);
}

template <class Key>
__global__ void rank_kernel(const Key* __restrict__ keys, const std::uint32_t* __restrict__ order,
                            std::size_t n, std::size_t total, const double* __restrict__ gtab,
                            const double* __restrict__ ptab, double* __restrict__ first,
                            double* __restrict__ gauss, double* __restrict__ powered,
                            double* __restrict__ res, std::size_t stride, std::size_t const_slot) {
  const double dn = static_cast<double>(n);
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t j = idx / n, k = idx % n, base = j * n;
    const Key* kc = keys + base;
    const std::uint32_t* oc = order + base;
    if (first != nullptr) first[base + oc[k]] = percentile(static_cast<double>(k + 1), dn);
    if (k == 0 && const_slot != layout::kNoSlot)
      res[j * stride + const_slot] = kc[0] == kc[n - 1] ? 1.0 : 0.0;
    if ((gauss == nullptr && powered == nullptr) || (k > 0 && kc[k] == kc[k - 1])) continue;
    // k starts a run of equal keys [k, b): its tie-kept rank is (k + 1 + b) / 2. The run's first
    // thread writes the whole run (O(n) per column in total, whatever the ties).
    std::size_t b = k + 1;
    while (b < n && kc[b] == kc[k]) ++b;
    const std::size_t t = k + 1 + b;  // twice the average rank, 2 .. 2n
    const double g = gauss != nullptr ? gtab[t - 2] : 0.0;
    const double p = powered != nullptr ? ptab[t - 2] : 0.0;
    for (std::size_t q = k; q < b; ++q) {
      const std::size_t row = base + oc[q];
      if (gauss != nullptr) gauss[row] = g;
      if (powered != nullptr) powered[row] = p;
    }
  }
}

// Sum of v over the block in a fixed order; every thread gets the total. sh: blockDim.x doubles;
// blockDim.x must be a power of two (see kReduceThreads). Every thread of the block must call it
// (it synchronizes), never from a divergent branch.
__device__ double block_sum(double v, double* sh) {
  sh[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
    __syncthreads();
  }
  const double total = sh[0];
  __syncthreads();  // sh is reused by the next call
  return total;
}

// Row of the q-th participating element: all rows, or the top/bottom positions of the order.
struct Rows {
  const std::uint32_t* order;  // this column's order, or null for all rows
  std::size_t n, k;
  __device__ std::size_t count() const { return order != nullptr ? 2 * k : n; }
  __device__ std::size_t operator()(std::size_t q) const {
    if (order == nullptr) return q;
    return order[q < k ? q : n - 2 * k + q];
  }
};

__global__ void __launch_bounds__(kReduceThreads)
    pair_stats_kernel(const double* __restrict__ x, std::size_t ldx, const double* __restrict__ y,
                      std::size_t ldy, const std::uint32_t* __restrict__ order, std::size_t k,
                      std::size_t n, double* __restrict__ res, std::size_t stride,
                      std::size_t offset) {
  __shared__ double sh[kReduceThreads];
  const std::size_t j = blockIdx.x;
  const double* xc = x + j * ldx;
  const double* yc = y + j * ldy;
  const Rows rows{order != nullptr ? order + j * n : nullptr, n, k};
  const std::size_t cnt = rows.count();
  double sx = 0, sy = 0, sxy0 = 0;
  for (std::size_t q = threadIdx.x; q < cnt; q += blockDim.x) {
    const std::size_t i = rows(q);
    sx += xc[i];
    sy += yc[i];
    sxy0 += xc[i] * yc[i];
  }
  const double dcnt = static_cast<double>(cnt);
  const double mx = block_sum(sx, sh) / dcnt;
  const double my = block_sum(sy, sh) / dcnt;
  const double sum_xy = block_sum(sxy0, sh);
  double a = 0, b = 0, c = 0;
  for (std::size_t q = threadIdx.x; q < cnt; q += blockDim.x) {
    const std::size_t i = rows(q);
    const double dx = xc[i] - mx, dy = yc[i] - my;
    a += dx * dx;
    b += dy * dy;
    c += dx * dy;
  }
  const double sxx = block_sum(a, sh), syy = block_sum(b, sh), sxy = block_sum(c, sh);
  if (threadIdx.x == 0) {
    double* out = res + j * stride + offset;
    out[layout::pair::kMeanX] = mx;
    out[layout::pair::kMeanY] = my;
    out[layout::pair::kSxx] = sxx;
    out[layout::pair::kSyy] = syy;
    out[layout::pair::kSxy] = sxy;
    out[layout::pair::kSumXy] = sum_xy;
  }
}

__global__ void residual_kernel(const double* __restrict__ x, const double* __restrict__ cols,
                                std::size_t r, const double* __restrict__ beta, std::size_t ldb,
                                double proportion, std::size_t n, std::size_t total,
                                double* __restrict__ out) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t j = idx / n, i = idx % n;
    double acc = 0.0;
    if (r > 0) {
      const double* b = beta + j * ldb;
      acc = cols[i] * b[0];
      for (std::size_t c = 1; c < r; ++c) acc += cols[c * n + i] * b[c];
    }
    out[idx] = x[idx] - proportion * acc;
  }
}

__global__ void orthogonalize_kernel(const double* __restrict__ g, const double* __restrict__ mvec,
                                     const double* __restrict__ res, std::size_t stride,
                                     std::size_t offset, double m_norm2, std::size_t n,
                                     std::size_t total, double* __restrict__ out) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t j = idx / n, i = idx % n;
    const double coef = res[j * stride + offset] / m_norm2;
    out[idx] = isfinite(coef) ? g[idx] - mvec[i] * coef : 0.0;
  }
}

__global__ void divide_by_std_kernel(double* __restrict__ v, const double* __restrict__ res,
                                     std::size_t stride, std::size_t offset, std::size_t n,
                                     std::size_t total) {
  for (std::size_t idx = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       idx < total; idx += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const std::size_t j = idx / n;
    const double sd = sqrt(res[j * stride + offset] / static_cast<double>(n));
    v[idx] = (sd > 0 && isfinite(sd)) ? v[idx] / sd : 0.0;
  }
}

// The launchers' views must describe the shapes the kernels assume (a programming error if not).
void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(what);
}
bool is_dense(std::size_t rows, std::size_t ld) { return ld == rows; }

}  // namespace

template <class Key>
void ranks_from_sorted(SortedColumns<Key> sorted, RankTables tables, RankOutputs out,
                       ResultSlots res, std::size_t const_slot, cudaStream_t stream) {
  const std::size_t n = sorted.rows, total = n * sorted.cols;
  if (total == 0) return;
  rank_kernel<Key><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      sorted.keys, sorted.order, n, total, tables.gauss, tables.powered, out.first, out.gauss,
      out.powered, res.data, res.stride, const_slot);
  BACKSCORE_CUDA_LAUNCH_CHECK("rank_kernel");
}
template void ranks_from_sorted<std::uint32_t>(SortedColumns<std::uint32_t>, RankTables,
                                               RankOutputs, ResultSlots, std::size_t, cudaStream_t);
template void ranks_from_sorted<std::uint64_t>(SortedColumns<std::uint64_t>, RankTables,
                                               RankOutputs, ResultSlots, std::size_t, cudaStream_t);

void pair_stats(ColumnBlock<const double> x, ColumnBlock<const double> y, RowSelection rows,
                ResultSlots res, std::size_t offset, cudaStream_t stream) {
  const std::size_t n = y.rows, m = y.cols;
  require(x.rows == n && x.cols == m, "pair_stats: x and y differ in shape");
  if (m == 0 || n == 0) return;
  pair_stats_kernel<<<static_cast<unsigned>(m), kReduceThreads, 0, stream>>>(
      x.data, x.ld, y.data, y.ld, rows.order, rows.k, n, res.data, res.stride, offset);
  BACKSCORE_CUDA_LAUNCH_CHECK("pair_stats_kernel");
}

void residual_rows(ColumnBlock<const double> x, ColumnBlock<const double> basis,
                   ColumnBlock<const double> beta, double proportion, ColumnBlock<double> out,
                   cudaStream_t stream) {
  const std::size_t n = x.rows, m = x.cols, r = basis.cols;
  require(is_dense(n, x.ld) && out.rows == n && out.cols == m && is_dense(n, out.ld),
          "residual_rows: x and out must be dense n x m");
  require(r == 0 || (basis.rows == n && is_dense(n, basis.ld) && beta.rows == r && beta.cols == m),
          "residual_rows: basis must be dense n x r and beta r x m");
  const std::size_t total = n * m;
  if (total == 0) return;
  residual_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      x.data, basis.data, r, beta.data, beta.ld, proportion, n, total, out.data);
  BACKSCORE_CUDA_LAUNCH_CHECK("residual_kernel");
}

void orthogonalize(ColumnBlock<const double> g, const double* v, double v_norm2, ResultSlots res,
                   std::size_t dot_slot, ColumnBlock<double> out, cudaStream_t stream) {
  const std::size_t n = g.rows, m = g.cols;
  require(is_dense(n, g.ld) && out.rows == n && out.cols == m && is_dense(n, out.ld),
          "orthogonalize: g and out must be dense n x m");
  const std::size_t total = n * m;
  if (total == 0) return;
  orthogonalize_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      g.data, v, res.data, res.stride, dot_slot, v_norm2, n, total, out.data);
  BACKSCORE_CUDA_LAUNCH_CHECK("orthogonalize_kernel");
}

void divide_by_std(ColumnBlock<double> v, ResultSlots res, std::size_t pair_offset,
                   cudaStream_t stream) {
  const std::size_t n = v.rows, m = v.cols;
  require(is_dense(n, v.ld), "divide_by_std: v must be dense");
  const std::size_t total = n * m;
  if (total == 0) return;
  divide_by_std_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      v.data, res.data, res.stride, pair_offset + layout::pair::kSxx, n, total);
  BACKSCORE_CUDA_LAUNCH_CHECK("divide_by_std_kernel");
}

}  // namespace backscore::cuda::detail
