// BufferPool: recycled host buffers of floats for the run loop's prediction batches. The I/O
// thread takes a buffer, reads a batch of prediction columns into it and queues it; the buffer
// goes back to the pool when the scoring thread drops the batch. With the CUDA backend the pool's
// allocator gives page-locked memory (cuda::allocate_pinned), so the scorer copies the batch to the
// device straight from the buffer HDF5 read into; the CPU backend uses the heap.
//
// Sizes: every new buffer is the largest request so far (the high-water mark) plus a quarter, and
// a buffer smaller than the mark is released when it comes back or is found free, so after the
// first batches every buffer fits every request and nothing is allocated again. The number of
// buffers is the number in use at once (the queue's depth plus one being read and one being
// scored). Thread-safe; the allocator is called outside the pool's lock.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

namespace backscore {

class BufferPool {
 public:
  // allocate(bytes) returns memory for `bytes` bytes aligned for float, or throws; release(p)
  // frees it and never throws.
  struct Allocator {
    std::function<void*(std::size_t bytes)> allocate;
    std::function<void(void*)> release;
  };
  static Allocator heap();  // operator new / delete

  class Buffer {
   public:
    Buffer() = default;
    ~Buffer() { reset(); }
    Buffer(Buffer&& o) noexcept;
    Buffer& operator=(Buffer&& o) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    float* data() const { return p_; }
    std::size_t size() const { return size_; }          // floats requested
    std::size_t capacity() const { return capacity_; }  // floats allocated
    std::span<float> span() const { return {p_, size_}; }
    void reset();  // back to the pool now

   private:
    friend class BufferPool;
    Buffer(BufferPool* pool, float* p, std::size_t size, std::size_t capacity)
        : pool_(pool), p_(p), size_(size), capacity_(capacity) {}
    BufferPool* pool_ = nullptr;
    float* p_ = nullptr;
    std::size_t size_ = 0, capacity_ = 0;
  };

  explicit BufferPool(Allocator allocator = heap());
  ~BufferPool();  // every Buffer must have come back
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // A buffer of `count` floats (contents unspecified). Throws what the allocator throws.
  Buffer take(std::size_t count);

  std::size_t allocations() const;  // allocator calls so far
  std::size_t held_bytes() const;   // bytes allocated and not yet released (free or in use)

 private:
  struct Block {
    float* p;
    std::size_t capacity;
  };
  void give_back(float* p, std::size_t capacity) noexcept;

  Allocator allocator_;
  mutable std::mutex mu_;
  std::vector<Block> free_;
  std::size_t high_water_ = 0, allocations_ = 0, held_ = 0, out_ = 0;
};

}  // namespace backscore
