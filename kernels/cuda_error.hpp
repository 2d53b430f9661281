// The exception every failed CUDA, cuBLAS or cuSOLVER call and kernel launch turns into (see
// kernels/cuda_check.hpp). Plain C++ with no CUDA headers, so host code compiled by g++ can
// catch it without seeing CUDA.
#pragma once

#include <stdexcept>
#include <string>

namespace backscore {

class CudaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace backscore
