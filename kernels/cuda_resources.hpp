// Small move-only owners of CUDA resources: a stream, an event, a cuBLAS and a cuSOLVER handle
// (UniqueHandle), device and pinned host buffers (OwnedBuffer). The caller creates them (inside
// main or an object it owns), never as globals, so their lifetime ends before the CUDA runtime
// shuts down. Creation failures throw CudaError (kernels/cuda_check.hpp); destruction never throws.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <utility>

#include "kernels/cuda_check.hpp"

namespace backscore::cuda {

// Common move-only handle logic: Traits::destroy(h) when a non-null handle goes away.
template <class Handle, class Traits>
class UniqueHandle {
 public:
  UniqueHandle() = default;
  explicit UniqueHandle(Handle h) : h_(h) {}
  ~UniqueHandle() { reset(); }
  UniqueHandle(UniqueHandle&& o) noexcept : h_(std::exchange(o.h_, Handle{})) {}
  UniqueHandle& operator=(UniqueHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = std::exchange(o.h_, Handle{});
    }
    return *this;
  }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  Handle get() const { return h_; }
  explicit operator bool() const { return h_ != Handle{}; }
  void reset() {
    if (h_ != Handle{}) Traits::destroy(h_);
    h_ = Handle{};
  }

 private:
  Handle h_{};
};

namespace resource_detail {
struct StreamTraits {
  static void destroy(cudaStream_t s) { BACKSCORE_CUDA_WARN(cudaStreamDestroy(s)); }
};
struct EventTraits {
  static void destroy(cudaEvent_t e) { BACKSCORE_CUDA_WARN(cudaEventDestroy(e)); }
};
struct CublasTraits {
  static void destroy(cublasHandle_t h) { BACKSCORE_CUDA_WARN(cublasDestroy(h)); }
};
struct CusolverTraits {
  static void destroy(cusolverDnHandle_t h) { BACKSCORE_CUDA_WARN(cusolverDnDestroy(h)); }
};
}  // namespace resource_detail

// A non-blocking stream (does not synchronize with the legacy default stream).
class Stream : public UniqueHandle<cudaStream_t, resource_detail::StreamTraits> {
 public:
  Stream() = default;
  static Stream create() {
    cudaStream_t s{};
    BACKSCORE_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
    return Stream(s);
  }
  void synchronize() const { BACKSCORE_CUDA_CHECK(cudaStreamSynchronize(get())); }

 private:
  explicit Stream(cudaStream_t s) : UniqueHandle(s) {}
};

// An event without timing (cheap) unless `timing` is set (for benchmarks).
class Event : public UniqueHandle<cudaEvent_t, resource_detail::EventTraits> {
 public:
  Event() = default;
  static Event create(bool timing = false) {
    cudaEvent_t e{};
    BACKSCORE_CUDA_CHECK(
        cudaEventCreateWithFlags(&e, timing ? cudaEventDefault : cudaEventDisableTiming));
    return Event(e);
  }
  void record(cudaStream_t s) const { BACKSCORE_CUDA_CHECK(cudaEventRecord(get(), s)); }
  void synchronize() const { BACKSCORE_CUDA_CHECK(cudaEventSynchronize(get())); }
  // Makes stream s wait (on the device) for the work recorded in this event.
  void wait_on(cudaStream_t s) const { BACKSCORE_CUDA_CHECK(cudaStreamWaitEvent(s, get(), 0)); }

 private:
  explicit Event(cudaEvent_t e) : UniqueHandle(e) {}
};

class CublasHandle : public UniqueHandle<cublasHandle_t, resource_detail::CublasTraits> {
 public:
  CublasHandle() = default;
  static CublasHandle create() {
    cublasHandle_t h{};
    BACKSCORE_CUBLAS_CHECK(cublasCreate(&h));
    return CublasHandle(h);
  }

 private:
  explicit CublasHandle(cublasHandle_t h) : UniqueHandle(h) {}
};

class CusolverHandle : public UniqueHandle<cusolverDnHandle_t, resource_detail::CusolverTraits> {
 public:
  CusolverHandle() = default;
  static CusolverHandle create() {
    cusolverDnHandle_t h{};
    BACKSCORE_CUSOLVER_CHECK(cusolverDnCreate(&h));
    return CusolverHandle(h);
  }

 private:
  explicit CusolverHandle(cusolverDnHandle_t h) : UniqueHandle(h) {}
};

namespace resource_detail {
// Where an OwnedBuffer's memory lives: how to get and give back `bytes` bytes of it.
struct DeviceMemory {
  static constexpr bool host_accessible = false;
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    BACKSCORE_CUDA_CHECK(cudaMalloc(&p, bytes));
    return p;
  }
  static void release(void* p) { BACKSCORE_CUDA_WARN(cudaFree(p)); }
};
struct PinnedHostMemory {
  static constexpr bool host_accessible = true;
  static void* allocate(std::size_t bytes) {
    void* p = nullptr;
    BACKSCORE_CUDA_CHECK(cudaMallocHost(&p, bytes));
    return p;
  }
  static void release(void* p) { BACKSCORE_CUDA_WARN(cudaFreeHost(p)); }
};
}  // namespace resource_detail

// count elements of T (uninitialized) in the memory of Memory (resource_detail above), owned and
// move-only. Size 0 holds no allocation.
template <class T, class Memory>
class OwnedBuffer {
 public:
  OwnedBuffer() = default;
  explicit OwnedBuffer(std::size_t count) : n_(count) {
    if (count > 0) p_ = static_cast<T*>(Memory::allocate(count * sizeof(T)));
  }
  ~OwnedBuffer() { release(); }
  OwnedBuffer(OwnedBuffer&& o) noexcept
      : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  OwnedBuffer& operator=(OwnedBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  OwnedBuffer(const OwnedBuffer&) = delete;
  OwnedBuffer& operator=(const OwnedBuffer&) = delete;

  T* data() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }
  // Host-accessible memory only (pinned host buffers).
  T& operator[](std::size_t i) const {
    static_assert(Memory::host_accessible, "device memory cannot be indexed on the host");
    return p_[i];
  }

 private:
  void release() {
    if (p_ != nullptr) Memory::release(p_);
    p_ = nullptr;
    n_ = 0;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// count elements of T in device memory.
template <class T>
using DeviceBuffer = OwnedBuffer<T, resource_detail::DeviceMemory>;
// count elements of T in page-locked host memory: the source of asynchronous host-to-device
// copies.
template <class T>
using PinnedBuffer = OwnedBuffer<T, resource_detail::PinnedHostMemory>;

}  // namespace backscore::cuda
