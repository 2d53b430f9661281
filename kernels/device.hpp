// What the host needs to know about CUDA devices, as plain C++ (no CUDA headers), so host code
// compiled by g++ can ask. Implemented in device.cu when built with BACKSCORE_CUDA.
#pragma once

#include <cstddef>
#include <string>

namespace backscore::cuda {

struct DeviceInfo {
  int count = 0;         // usable devices; 0 when there is no driver or no device
  std::string why_none;  // the CUDA error when count == 0
};

// Never throws: a machine without a GPU or driver answers count 0 with the reason.
DeviceInfo query_devices();
// "NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90" for device `index`.
std::string describe_device(int index);

// Page-locked host memory (cudaHostAlloc, portable: pinned for every device), `bytes` bytes,
// allocated with `device` current (so a thread that never chose a device does not create a context
// on device 0). Throws CudaError when it fails. free_pinned never throws.
void* allocate_pinned(int device, std::size_t bytes);
void free_pinned(void* p) noexcept;

}  // namespace backscore::cuda
