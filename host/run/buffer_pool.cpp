// BufferPool (see buffer_pool.hpp).
#include "host/run/buffer_pool.hpp"

#include <algorithm>
#include <cstdio>
#include <new>
#include <optional>
#include <utility>

namespace backscore {

BufferPool::Allocator BufferPool::heap() {
  return {[](std::size_t bytes) { return ::operator new(bytes); },
          [](void* p) { ::operator delete(p); }};
}

BufferPool::BufferPool(Allocator allocator) : allocator_(std::move(allocator)) {}

BufferPool::~BufferPool() {
  if (out_ != 0) {  // a Buffer outlives its pool: a bug in the caller; it would free into nothing
    std::fprintf(stderr, "backscore: internal error: %zu pool buffers outlive their pool\n", out_);
  }
  for (const Block& b : free_) allocator_.release(b.p);
}

BufferPool::Buffer BufferPool::take(std::size_t count) {
  // The allocator runs outside the lock: cudaHostAlloc / cudaFreeHost may wait for the device,
  // and the other thread should not wait behind that to return a buffer.
  std::vector<float*> drop;
  std::optional<Block> found;
  std::size_t capacity = 0;
  {
    std::lock_guard lock(mu_);
    if (count > high_water_) high_water_ = count;
    drop.reserve(free_.size());  // nothing below throws once the free list changes
    // Any free buffer large enough; the free ones smaller than the high-water mark are dropped.
    for (std::size_t i = 0; i < free_.size() && !found;) {
      if (free_[i].capacity >= count) {
        found = free_[i];
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
        ++out_;
      } else if (free_[i].capacity < high_water_) {
        drop.push_back(free_[i].p);
        held_ -= free_[i].capacity * sizeof(float);
        free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    if (!found) {
      // New blocks get a quarter of headroom over the mark, so eras that grow a little at a time
      // (a history's stock count creeps up) do not reallocate every buffer at each new maximum.
      const std::size_t mark = std::max<std::size_t>(high_water_, 1);
      capacity = mark + mark / 4;
      ++out_;
      held_ += capacity * sizeof(float);
    }
  }
  for (float* p : drop) allocator_.release(p);
  if (found) return Buffer(this, found->p, count, found->capacity);
  void* p = nullptr;
  try {
    p = allocator_.allocate(capacity * sizeof(float));
  } catch (...) {
    std::lock_guard lock(mu_);
    --out_;
    held_ -= capacity * sizeof(float);
    throw;
  }
  std::lock_guard lock(mu_);
  ++allocations_;
  return Buffer(this, static_cast<float*>(p), count, capacity);
}

void BufferPool::give_back(float* p, std::size_t capacity) noexcept {
  {
    std::lock_guard lock(mu_);
    --out_;
    if (capacity >= high_water_) {
      try {
        free_.push_back({p, capacity});
        return;
      } catch (...) {  // no memory for the free list's entry: drop the buffer instead
      }
    }
    held_ -= capacity * sizeof(float);
  }
  allocator_.release(p);
}

std::size_t BufferPool::allocations() const {
  std::lock_guard lock(mu_);
  return allocations_;
}

std::size_t BufferPool::held_bytes() const {
  std::lock_guard lock(mu_);
  return held_;
}

BufferPool::Buffer::Buffer(Buffer&& o) noexcept
    : pool_(std::exchange(o.pool_, nullptr)),
      p_(std::exchange(o.p_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      capacity_(std::exchange(o.capacity_, 0)) {}

BufferPool::Buffer& BufferPool::Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = std::exchange(o.pool_, nullptr);
    p_ = std::exchange(o.p_, nullptr);
    size_ = std::exchange(o.size_, 0);
    capacity_ = std::exchange(o.capacity_, 0);
  }
  return *this;
}

void BufferPool::Buffer::reset() {
  if (pool_ != nullptr) pool_->give_back(p_, capacity_);
  pool_ = nullptr;
  p_ = nullptr;
  size_ = capacity_ = 0;
}

}  // namespace backscore
