// The backend factory of a build without CUDA (BACKSCORE_CUDA=OFF); host/run/cuda/factory.cpp
// replaces this file in a CUDA build.
#include "core/error.hpp"
#include "host/run/backend.hpp"
#include "host/run/sim_device.hpp"

namespace backscore {

namespace {
constexpr const char* kNoCuda = "this backscore was built without CUDA (BACKSCORE_CUDA=OFF)";
}

std::unique_ptr<EraBackend> make_backend(const RunOptions& options, const FormulaRouting&,
                                         ColumnScorer& columns) {
  if (options.backend == Backend::cuda) throw InputError(std::string("cuda backend: ") + kNoCuda);
  return make_cpu_backend(columns);
}

CudaDevices query_cuda_devices() { return {false, 0, kNoCuda}; }

std::string describe_cuda_device(int) { return {}; }

SimDeviceFactory cuda_sim_device(int, std::size_t, int) {
  throw InputError(std::string("simulate --backend cuda: ") + kNoCuda);
}

}  // namespace backscore
