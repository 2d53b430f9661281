// Checked calls: every CUDA runtime, cuBLAS and cuSOLVER call and every kernel launch goes
// through one of these macros, which throw backscore::CudaError with the call's text, the file,
// the line and the status name, e.g.
//   "cudaMalloc(&p, bytes) failed at host/run/cuda/era_scorer.cpp:123: cudaErrorMemoryAllocation
//   (out of memory)".
// Usage:
//   BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(...));
//   BACKSCORE_CUBLAS_CHECK(cublasDgemm(...));
//   BACKSCORE_CUSOLVER_CHECK(cusolverDnDgeqrf(...));
//   my_kernel<<<grid, block, smem, stream>>>(...); BACKSCORE_CUDA_LAUNCH_CHECK("my_kernel");
// Destructors must not throw: they use BACKSCORE_CUDA_WARN, which ignores the status (a failed
// free during unwinding must not terminate the program).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <string>

#include "kernels/cuda_error.hpp"

namespace backscore::cuda_check_detail {

inline const char* cusolver_status_name(cusolverStatus_t s) {
  switch (s) {
    case CUSOLVER_STATUS_SUCCESS:
      return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED:
      return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED:
      return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE:
      return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH:
      return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR:
      return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED:
      return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR:
      return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED:
      return "CUSOLVER_STATUS_NOT_SUPPORTED";
    default:
      return "CUSOLVER_STATUS_(other)";
  }
}

[[noreturn]] inline void fail(const char* call, const char* file, int line,
                              const std::string& status) {
  throw CudaError(std::string(call) + " failed at " + file + ":" + std::to_string(line) + ": " +
                  status);
}

inline void check(cudaError_t s, const char* call, const char* file, int line) {
  if (s == cudaSuccess) return;
  fail(call, file, line, std::string(cudaGetErrorName(s)) + " (" + cudaGetErrorString(s) + ")");
}
inline void check(cublasStatus_t s, const char* call, const char* file, int line) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  fail(call, file, line, cublasGetStatusName(s));
}
inline void check(cusolverStatus_t s, const char* call, const char* file, int line) {
  if (s == CUSOLVER_STATUS_SUCCESS) return;
  fail(call, file, line, cusolver_status_name(s));
}

}  // namespace backscore::cuda_check_detail

#define BACKSCORE_CUDA_CHECK(call) \
  ::backscore::cuda_check_detail::check((call), #call, __FILE__, __LINE__)
#define BACKSCORE_CUBLAS_CHECK(call) \
  ::backscore::cuda_check_detail::check((call), #call, __FILE__, __LINE__)
#define BACKSCORE_CUSOLVER_CHECK(call) \
  ::backscore::cuda_check_detail::check((call), #call, __FILE__, __LINE__)
// After a <<<...>>> launch: launch-configuration errors (and sticky errors of earlier work).
#define BACKSCORE_CUDA_LAUNCH_CHECK(kernel_name)                                                \
  ::backscore::cuda_check_detail::check(cudaGetLastError(), "launch of " kernel_name, __FILE__, \
                                        __LINE__)
// For destructors: never throws.
#define BACKSCORE_CUDA_WARN(call) static_cast<void>(call)
