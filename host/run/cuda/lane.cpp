// A lane's resources and buffers (see lane.hpp).
#include "host/run/cuda/lane.hpp"

#include <algorithm>
#include <cstring>

#include "host/run/cuda/memory_plan.hpp"
#include "kernels/cuda_check.hpp"

namespace backscore::cuda {

void LaneBuffers::carve(std::byte* base, std::size_t bytes, const BatchPlan& plan,
                        std::size_t batch_models, std::size_t sort_temp_size) {
  *this = LaneBuffers{};
  Carver c(base, bytes);
  const BatchBufferNeeds& need = plan.needs;
  n = plan.n();
  models = batch_models;
  const std::size_t nm = n * models;
  pred = c.take<float>(nm);
  keys_in = c.take<std::uint64_t>(nm);
  keys_out = c.take<std::uint64_t>(nm);
  vals_in = c.take<std::uint32_t>(nm);
  order = c.take<std::uint32_t>(nm);
  offsets = c.take<std::int64_t>(models + 1);
  sort_temp_bytes = sort_temp_size;
  sort_temp = sort_temp_size > 0 ? c.take<std::byte>(sort_temp_size) : nullptr;
  results = c.take<double>(plan.slots.stride * models);
  coefficients = c.take<double>(plan.coefficient_rows() * models);
  first = need.first ? c.take<double>(nm) : nullptr;
  gauss = need.gauss ? c.take<double>(nm) : nullptr;
  powered = need.powered ? c.take<double>(nm) : nullptr;
  work = need.work ? c.take<double>(nm) : nullptr;
  order2 = need.order2 ? c.take<std::uint32_t>(nm) : nullptr;
  fnc_gauss = need.fnc_ranks ? c.take<double>(nm) : nullptr;
  fnc_powered = need.fnc_ranks ? c.take<double>(nm) : nullptr;
  const std::size_t k = plan.stages.meta_sums;
  weights = k > 0 ? c.take<double>(models * k) : nullptr;
  sums = k > 0 ? c.take<double>(n * k) : nullptr;
}

SortScratch<std::uint32_t> LaneBuffers::float_sort() const {
  return {reinterpret_cast<std::uint32_t*>(keys_in),
          reinterpret_cast<std::uint32_t*>(keys_out),
          vals_in,
          order,
          sort_temp,
          sort_temp_bytes,
          offsets};
}

SortScratch<std::uint64_t> LaneBuffers::double_sort() const {
  return {keys_in, keys_out, vals_in, order2, sort_temp, sort_temp_bytes, offsets};
}

Lane Lane::create() {
  Lane l;
  l.stream = Stream::create();
  l.done = Event::create();
  l.blas = CublasHandle::create();
  BACKSCORE_CUBLAS_CHECK(cublasSetStream(l.blas.get(), l.stream.get()));
  l.solver = CusolverHandle::create();
  BACKSCORE_CUSOLVER_CHECK(cusolverDnSetStream(l.solver.get(), l.stream.get()));
  return l;
}

void Lane::set_workspace(std::size_t bytes) {
  workspace = DeviceBuffer<std::byte>(bytes);
  // A fixed, accounted workspace per handle (one stream per handle, its own workspace: cuBLAS
  // results are then reproducible). Set after cublasSetStream, which resets it.
  BACKSCORE_CUBLAS_CHECK(cublasSetWorkspace(blas.get(), workspace.data(), workspace.bytes()));
}

void Lane::upload(std::span<const float> block, std::size_t n, std::size_t first_column,
                  std::size_t count_models, bool pinned, std::size_t max_staging) {
  const float* src = block.data() + first_column * n;
  const std::size_t count = n * count_models;
  if (!pinned) {  // the lane is idle (its batch was finished): nothing reads its staging buffer
    if (staging.size() < count) {  // doubling, up to the plan's batch
      staging = PinnedBuffer<float>(std::max(count, std::min(max_staging, 2 * staging.size())));
    }
    std::memcpy(staging.data(), src, count * sizeof(float));
    src = staging.data();
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(buffers.pred, src, count * sizeof(float),
                                       cudaMemcpyHostToDevice, stream.get()));
}

}  // namespace backscore::cuda
