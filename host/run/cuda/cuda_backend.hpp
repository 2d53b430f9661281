// The cuda backend's constructor, for the factory (host/run/cuda/factory.cpp).
#pragma once

#include <memory>

#include "host/run/backend.hpp"

namespace backscore::cuda {

// Throws CudaError when the device cannot be used.
std::unique_ptr<EraBackend> make_cuda_backend(const RunOptions& options,
                                              const FormulaRouting& routing, ColumnScorer& columns);

}  // namespace backscore::cuda
