// simulate's CUDA device, for the factory (host/run/cuda/factory.cpp; see host/run/sim_device.hpp).
#pragma once

#include <cstddef>
#include <memory>

#include "host/run/sim_device.hpp"

namespace backscore::cuda {

// Its scorers on `device`, memory_cap bytes among them all (0: 90% of the free memory), each
// with `streams` lanes. Throws CudaError when the device cannot be used.
std::unique_ptr<SimDevice> make_cuda_sim_device(const SimDeviceSpecs& specs, int device,
                                                std::size_t memory_cap, int streams);

}  // namespace backscore::cuda
