// The backend factory of a CUDA build (replaces host/run/factory_cpu_only.cpp).
#include "host/run/backend.hpp"
#include "host/run/cuda/cuda_backend.hpp"
#include "host/run/cuda/era_scorer.hpp"
#include "host/run/cuda/sim_device.hpp"
#include "kernels/device.hpp"

namespace backscore {

static_assert(kMaxGpuStreams == cuda::kMaxStreams);

std::unique_ptr<EraBackend> make_backend(const RunOptions& options, const FormulaRouting& routing,
                                         ColumnScorer& columns) {
  if (options.backend == Backend::cuda) return cuda::make_cuda_backend(options, routing, columns);
  return make_cpu_backend(columns);
}

CudaDevices query_cuda_devices() {
  const cuda::DeviceInfo devices = cuda::query_devices();
  return {true, devices.count, devices.why_none};
}

std::string describe_cuda_device(int index) { return cuda::describe_device(index); }

SimDeviceFactory cuda_sim_device(int device, std::size_t memory_cap, int streams) {
  return [=](const SimDeviceSpecs& specs) {
    return cuda::make_cuda_sim_device(specs, device, memory_cap, streams);
  };
}

}  // namespace backscore
