// Stable per-column sorts for the CUDA scorer: one thread block per column with a shared-memory
// cub::BlockRadixSort when the column fits (Numerai-sized eras of ~5,000 stocks do), else
// cub::DeviceSegmentedRadixSort::SortPairs (an LSD radix sort: stable; made for segments of
// thousands of items and more, which the columns past the block sort's 8,192 rows are). Not
// cub::DeviceSegmentedSort: past 8,192 items a segment and with more than 500 segments in a call
// it partitions the segments by size, copying the group sizes to the host and synchronizing the
// stream inside every call, which serialized the scorer's lanes (issue 18). The only translation
// unit with CUB (compile time).
#include <cub/block/block_radix_sort.cuh>
#include <cub/device/device_segmented_radix_sort.cuh>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>

#include "core/hd/order_key.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore::cuda::detail {
namespace {

__device__ inline std::uint32_t key_of(float v) { return order_key32(v); }
__device__ inline std::uint64_t key_of(double v) { return order_key64(v); }

// The two block configurations per key width: up to 1,024 rows (128 threads x 8) and up to 8,192
// rows (512 threads x 16). Keys of rows >= n are the maximum key, which no finite or infinite
// value has (+inf maps below it), and rows >= n come last in the blocked input, so the stable
// sort leaves them at the end.
constexpr int kSmallThreads = 128, kSmallItems = 8;
constexpr int kLargeThreads = 512, kLargeItems = 16;

template <class Key, int Threads, int Items>
using BlockSort = cub::BlockRadixSort<Key, Threads, Items, std::uint32_t>;

template <class Src, int Threads, int Items>
__global__ void __launch_bounds__(Threads)
    block_sort_kernel(const Src* __restrict__ src, std::size_t n,
                      SortKey<Src>* __restrict__ keys_out, std::uint32_t* __restrict__ order,
                      double* __restrict__ res, std::size_t stride) {
  using Key = SortKey<Src>;
  using Sort = BlockSort<Key, Threads, Items>;
  extern __shared__ __align__(16) unsigned char smem[];
  auto& temp = *reinterpret_cast<typename Sort::TempStorage*>(smem);
  const std::size_t col = blockIdx.x;
  const Src* s = src + col * n;
  Key keys[Items];
  std::uint32_t vals[Items];
  bool nan = false;
#pragma unroll
  for (int i = 0; i < Items; ++i) {
    const std::size_t idx = static_cast<std::size_t>(threadIdx.x) * Items + i;
    if (idx < n) {
      const Src v = s[idx];
      nan |= isnan(v);
      keys[i] = key_of(v);
    } else {
      keys[i] = static_cast<Key>(~Key{0});  // the maximum key
    }
    vals[i] = static_cast<std::uint32_t>(idx);
  }
  Sort(temp).Sort(keys, vals);  // stable; blocked arrangement in and out
#pragma unroll
  for (int i = 0; i < Items; ++i) {
    const std::size_t idx = static_cast<std::size_t>(threadIdx.x) * Items + i;
    if (idx < n) {
      keys_out[col * n + idx] = keys[i];
      order[col * n + idx] = vals[i];
    }
  }
  // The same value from any thread: the result does not depend on which writes last.
  if (nan && res != nullptr) res[col * stride + layout::kNanSlot] = 1.0;
}

template <class Src>
__global__ void make_keys_kernel(const Src* __restrict__ src, std::size_t n, std::size_t total,
                                 SortKey<Src>* __restrict__ keys, std::uint32_t* __restrict__ vals,
                                 double* __restrict__ res, std::size_t stride) {
  for (std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    const Src v = src[i];
    if (isnan(v) && res != nullptr) res[(i / n) * stride + layout::kNanSlot] = 1.0;
    keys[i] = key_of(v);
    vals[i] = static_cast<std::uint32_t>(i % n);
  }
}

__global__ void offsets_kernel(std::int64_t* offsets, std::size_t n, std::size_t m) {
  for (std::size_t j = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x; j <= m;
       j += static_cast<std::size_t>(gridDim.x) * blockDim.x) {
    offsets[j] = static_cast<std::int64_t>(j * n);
  }
}

unsigned grid_for(std::size_t total, unsigned threads) {
  const std::size_t blocks = (total + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535u * 16u ? (blocks > 0 ? blocks : 1) : 65535u * 16u);
}

int optin_smem(int device) {
  int bytes = 0;
  BACKSCORE_CUDA_CHECK(
      cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  return bytes;
}

template <class Src, int Threads, int Items>
void launch_block_sort(const Src* src, std::size_t n, std::size_t m,
                       const SortScratch<SortKey<Src>>& s, double* res, std::size_t stride,
                       cudaStream_t stream) {
  using Key = SortKey<Src>;
  using Sort = BlockSort<Key, Threads, Items>;
  const std::size_t smem = sizeof(typename Sort::TempStorage);
  auto kernel = block_sort_kernel<Src, Threads, Items>;
  BACKSCORE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(smem)));
  // One block per column; m is at most the batch size, far below the 2^31 - 1 grid limit.
  kernel<<<static_cast<unsigned>(m), Threads, smem, stream>>>(src, n, s.keys_out, s.order, res,
                                                              stride);
  BACKSCORE_CUDA_LAUNCH_CHECK("block_sort_kernel");
}

}  // namespace

template <class Key>
std::size_t block_sort_max_rows(int device) {
  const std::size_t optin = static_cast<std::size_t>(optin_smem(device));
  const std::size_t large =
      sizeof(typename BlockSort<Key, kLargeThreads, kLargeItems>::TempStorage);
  const std::size_t small =
      sizeof(typename BlockSort<Key, kSmallThreads, kSmallItems>::TempStorage);
  if (large <= optin) return static_cast<std::size_t>(kLargeThreads) * kLargeItems;
  if (small <= optin) return static_cast<std::size_t>(kSmallThreads) * kSmallItems;
  return 0;
}
template std::size_t block_sort_max_rows<std::uint32_t>(int);
template std::size_t block_sort_max_rows<std::uint64_t>(int);

namespace {

// DeviceSegmentedRadixSort counts items and segments in int: the memory plan keeps n x m below
// 2^31 (memory_plan.cpp, kMaxInt / n).
int checked_int(std::size_t v, const char* what) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw CudaError(std::string("sort_columns: ") + what + " past 2^31 - 1");
  }
  return static_cast<int>(v);
}

}  // namespace

std::size_t segmented_sort_temp_bytes(std::size_t n, std::size_t m) {
  std::size_t b32 = 0, b64 = 0;
  const int total = checked_int(n * m, "items"), segs = checked_int(m, "columns");
  const std::int64_t* no_offsets = nullptr;
  BACKSCORE_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
      nullptr, b32, static_cast<const std::uint32_t*>(nullptr),
      static_cast<std::uint32_t*>(nullptr), static_cast<const std::uint32_t*>(nullptr),
      static_cast<std::uint32_t*>(nullptr), total, segs, no_offsets, no_offsets, 0, 32,
      cudaStream_t{}));
  BACKSCORE_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
      nullptr, b64, static_cast<const std::uint64_t*>(nullptr),
      static_cast<std::uint64_t*>(nullptr), static_cast<const std::uint32_t*>(nullptr),
      static_cast<std::uint32_t*>(nullptr), total, segs, no_offsets, no_offsets, 0, 64,
      cudaStream_t{}));
  return b32 > b64 ? b32 : b64;
}

template <class Src>
void sort_columns(ColumnBlock<const Src> src, bool use_block, const SortScratch<SortKey<Src>>& s,
                  ResultSlots nan_flags, cudaStream_t stream) {
  using Key = SortKey<Src>;
  const std::size_t n = src.rows, m = src.cols;
  if (src.ld != n) throw std::logic_error("sort_columns: the source must be a dense block");
  double* res = nan_flags.data;
  const std::size_t stride = nan_flags.stride;
  if (n == 0 || m == 0) return;
  if (use_block) {
    if (n <= static_cast<std::size_t>(kSmallThreads) * kSmallItems) {
      launch_block_sort<Src, kSmallThreads, kSmallItems>(src.data, n, m, s, res, stride, stream);
    } else if (n <= static_cast<std::size_t>(kLargeThreads) * kLargeItems) {
      launch_block_sort<Src, kLargeThreads, kLargeItems>(src.data, n, m, s, res, stride, stream);
    } else {
      throw CudaError("sort_columns: the block sort takes at most 8192 rows");
    }
    return;
  }
  const std::size_t total = n * m;
  make_keys_kernel<Src><<<grid_for(total, 256), 256, 0, stream>>>(src.data, n, total, s.keys_in,
                                                                  s.vals_in, res, stride);
  BACKSCORE_CUDA_LAUNCH_CHECK("make_keys_kernel");
  offsets_kernel<<<grid_for(m + 1, 256), 256, 0, stream>>>(s.offsets, n, m);
  BACKSCORE_CUDA_LAUNCH_CHECK("offsets_kernel");
  std::size_t temp_bytes = s.temp_bytes;
  BACKSCORE_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
      s.temp, temp_bytes, static_cast<const Key*>(s.keys_in), s.keys_out, s.vals_in, s.order,
      checked_int(total, "items"), checked_int(m, "columns"), s.offsets, s.offsets + 1, 0,
      static_cast<int>(sizeof(Key) * 8), stream));
}
template void sort_columns<float>(ColumnBlock<const float>, bool, const SortScratch<std::uint32_t>&,
                                  ResultSlots, cudaStream_t);
template void sort_columns<double>(ColumnBlock<const double>, bool,
                                   const SortScratch<std::uint64_t>&, ResultSlots, cudaStream_t);

}  // namespace backscore::cuda::detail
