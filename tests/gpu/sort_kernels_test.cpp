// The sort and rank kernels directly (kernels/sort_kernels.cu, ranks_from_sorted) against the
// CPU's StableSorter and tie-broken percentiles, on both sort paths (the block sort up to 8,192
// rows, cub::DeviceSegmentedRadixSort past it, and forced on small columns): heavy ties, -0.0
// beside 0.0 (tied, in row order), infinities, and the NaN flag of a column holding a NaN. Skips
// without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "host/era/rank.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/cuda_resources.hpp"  // and the CUDA runtime (cudaMemcpy)
#include "kernels/device.hpp"
#include "kernels/result_layout.hpp"
#include "kernels/scoring_kernels.hpp"

namespace backscore {
namespace {

// Three columns of n rows: ties on a coarse grid, -0.0 and 0.0 mixed with negatives and
// infinities, and the first column again with one NaN.
std::vector<float> columns(std::size_t n, std::uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::vector<float> v(3 * n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<float>(std::round(z(rng) * 3) / 3);
  for (std::size_t i = 0; i < n; ++i) {
    const int k = static_cast<int>(i % 7);
    v[n + i] = k == 0   ? -0.0f
               : k == 1 ? 0.0f
               : k == 2 ? -std::numeric_limits<float>::infinity()
               : k == 3 ? std::numeric_limits<float>::infinity()
                        : static_cast<float>(z(rng));
  }
  for (std::size_t i = 0; i < n; ++i) v[2 * n + i] = v[i];
  v[2 * n + n / 3] = std::nanf("");
  return v;
}

void check(std::size_t n, bool use_block) {
  const std::size_t m = 3;
  const std::vector<float> host = columns(n, static_cast<std::uint32_t>(n));
  cuda::DeviceBuffer<float> src(n * m);
  cuda::DeviceBuffer<std::uint32_t> keys_in(n * m), keys_out(n * m), vals_in(n * m), order(n * m);
  cuda::DeviceBuffer<std::int64_t> offsets(m + 1);
  const std::size_t temp_bytes = use_block ? 0 : cuda::detail::segmented_sort_temp_bytes(n, m);
  cuda::DeviceBuffer<unsigned char> temp(temp_bytes);
  cuda::DeviceBuffer<double> flags(m * cuda::layout::kFixedSlots), first(n * m);
  BACKSCORE_CUDA_CHECK(cudaMemcpy(src.data(), host.data(), host.size() * sizeof(float),
                                  cudaMemcpyHostToDevice));
  BACKSCORE_CUDA_CHECK(cudaMemset(flags.data(), 0, flags.bytes()));
  cuda::SortScratch<std::uint32_t> s{keys_in.data(), keys_out.data(), vals_in.data(),
                                     order.data(),   temp.data(),     temp_bytes,
                                     offsets.data()};
  const cuda::ResultSlots slots{flags.data(), cuda::layout::kFixedSlots};
  cuda::detail::sort_columns<float>(cuda::ColumnBlock<const float>::dense(src.data(), n, m),
                                    use_block, s, slots, cudaStream_t{});
  cuda::detail::RankOutputs out;
  out.first = first.data();
  cuda::detail::ranks_from_sorted<std::uint32_t>({keys_out.data(), order.data(), n, m}, {}, out,
                                                 slots, cuda::layout::kNoSlot, cudaStream_t{});
  BACKSCORE_CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<std::uint32_t> gpu_order(n * m);
  std::vector<double> gpu_first(n * m), gpu_flags(m * cuda::layout::kFixedSlots);
  BACKSCORE_CUDA_CHECK(cudaMemcpy(gpu_order.data(), order.data(), order.bytes(),
                                  cudaMemcpyDeviceToHost));
  BACKSCORE_CUDA_CHECK(cudaMemcpy(gpu_first.data(), first.data(), first.bytes(),
                                  cudaMemcpyDeviceToHost));
  BACKSCORE_CUDA_CHECK(cudaMemcpy(gpu_flags.data(), flags.data(), flags.bytes(),
                                  cudaMemcpyDeviceToHost));
  StableSorter sorter;
  for (std::size_t j = 0; j < 2; ++j) {  // the columns without NaN: the CPU's order and ranks
    std::vector<double> values(host.begin() + static_cast<std::ptrdiff_t>(j * n),
                               host.begin() + static_cast<std::ptrdiff_t>((j + 1) * n));
    std::vector<std::uint32_t> cpu_order(n);
    sorter.sort(values, cpu_order);
    std::vector<double> cpu_first(n);
    tie_broken_percentiles(cpu_order, cpu_first);
    for (std::size_t k = 0; k < n; ++k) {
      ASSERT_EQ(gpu_order[j * n + k], cpu_order[k]) << "n " << n << " column " << j << " at " << k;
      ASSERT_EQ(gpu_first[j * n + k], cpu_first[k]) << "n " << n << " column " << j << " row " << k;
    }
    EXPECT_EQ(gpu_flags[j * cuda::layout::kFixedSlots + cuda::layout::kNanSlot], 0.0) << j;
  }
  EXPECT_EQ(gpu_flags[2 * cuda::layout::kFixedSlots + cuda::layout::kNanSlot], 1.0)
      << "the NaN column must be flagged (n " << n << ")";
}

TEST(SortKernels, BlockAndSegmentedSortsEqualTheCpusOrderAndRanks) {
  const cuda::DeviceInfo info = cuda::query_devices();
  if (info.count == 0) GTEST_SKIP() << "no CUDA device: " << info.why_none;
  check(7, true);
  check(1000, true);
  check(8192, true);
  check(7, false);  // forced segmented on small columns
  check(5000, false);
  check(9000, false);  // past the block sort
  check(20000, false);
}

}  // namespace
}  // namespace backscore
