// BufferPool (see buffer_pool.hpp).
#include "host/engine/buffer_pool.hpp"

#include <cstdio>
#include <new>
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
  std::unique_lock lock(mu_);
  if (count > high_water_) high_water_ = count;
  // Any free buffer large enough; the free ones smaller than the high-water mark are dropped.
  for (std::size_t i = 0; i < free_.size();) {
    if (free_[i].capacity >= count) {
      const Block b = free_[i];
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
      ++out_;
      return Buffer(this, b.p, count, b.capacity);
    }
    if (free_[i].capacity < high_water_) {
      allocator_.release(free_[i].p);
      held_ -= free_[i].capacity * sizeof(float);
      free_.erase(free_.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  const std::size_t capacity = high_water_ > 0 ? high_water_ : 1;
  void* p = allocator_.allocate(capacity * sizeof(float));
  ++allocations_;
  held_ += capacity * sizeof(float);
  ++out_;
  return Buffer(this, static_cast<float*>(p), count, capacity);
}

void BufferPool::give_back(float* p, std::size_t capacity) noexcept {
  std::lock_guard lock(mu_);
  --out_;
  if (capacity < high_water_) {
    allocator_.release(p);
    held_ -= capacity * sizeof(float);
    return;
  }
  try {
    free_.push_back({p, capacity});
  } catch (...) {  // no memory for the free list's entry: drop the buffer instead
    allocator_.release(p);
    held_ -= capacity * sizeof(float);
  }
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
