// CUDA device discovery for --backend auto/cuda and the GPU tests' skip decision.
#include <cuda_runtime.h>

#include <cstdio>

#include "kernels/cuda_check.hpp"
#include "kernels/device.hpp"

namespace backscore::cuda {

DeviceInfo query_devices() {
  DeviceInfo info;
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error so later calls start clean
    info.why_none = cudaGetErrorString(status);
    return info;
  }
  info.count = count;
  if (count == 0) info.why_none = "no CUDA device";
  return info;
}

std::string describe_device(int index) {
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, index) != cudaSuccess) {
    cudaGetLastError();
    return "unknown device " + std::to_string(index);
  }
  char buf[512];  // prop.name alone may take 256
  std::snprintf(buf, sizeof buf, "%s, %.1f GiB, sm_%d%d", prop.name,
                static_cast<double>(prop.totalGlobalMem) / (1024.0 * 1024.0 * 1024.0), prop.major,
                prop.minor);
  return buf;
}

void* allocate_pinned(int device, std::size_t bytes) {
  BACKSCORE_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  BACKSCORE_CUDA_CHECK(cudaHostAlloc(&p, bytes, cudaHostAllocPortable));
  return p;
}

void free_pinned(void* p) noexcept {
  if (p != nullptr) BACKSCORE_CUDA_WARN(cudaFreeHost(p));
}

}  // namespace backscore::cuda
