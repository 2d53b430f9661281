// BufferPool: reuse, the high-water sizing, release of every block, allocator failures, and
// concurrent take/return from two threads (the run loop's I/O and scoring threads).
#include "host/run/buffer_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

namespace backscore {
namespace {

// The capacity of a block allocated when `mark` is the largest request so far.
constexpr std::size_t block_for(std::size_t mark) { return mark + mark / 4; }

// An allocator that counts and remembers its blocks (and can be told to fail).
struct Counting {
  std::atomic<int> live{0}, allocated{0};
  std::atomic<bool> fail{false};
  BufferPool::Allocator allocator() {
    return {[this](std::size_t bytes) -> void* {
              if (fail) throw std::bad_alloc();
              ++live;
              ++allocated;
              return ::operator new(bytes);
            },
            [this](void* p) {
              --live;
              ::operator delete(p);
            }};
  }
};

TEST(BufferPool, ReusesAReturnedBuffer) {
  Counting c;
  {
    BufferPool pool(c.allocator());
    float* first = nullptr;
    {
      BufferPool::Buffer b = pool.take(100);
      ASSERT_NE(b.data(), nullptr);
      EXPECT_EQ(b.size(), 100u);
      EXPECT_EQ(b.span().size(), 100u);
      b.data()[99] = 1.5f;  // writable to the end
      first = b.data();
    }
    BufferPool::Buffer again = pool.take(100);
    EXPECT_EQ(again.data(), first);
    BufferPool::Buffer smaller = pool.take(10);  // the first is out: a second block
    EXPECT_NE(smaller.data(), first);
    EXPECT_EQ(smaller.size(), 10u);
    EXPECT_EQ(smaller.capacity(), block_for(100));  // new blocks: the high-water mark + 1/4
    EXPECT_EQ(pool.allocations(), 2u);
    EXPECT_EQ(pool.held_bytes(), 2 * block_for(100) * sizeof(float));
  }
  EXPECT_EQ(c.live, 0);
}

TEST(BufferPool, HighWaterMarkReplacesSmallBlocks) {
  Counting c;
  BufferPool pool(c.allocator());
  pool.take(10).reset();
  pool.take(10).reset();
  EXPECT_EQ(pool.allocations(), 1u);
  {
    BufferPool::Buffer big = pool.take(50);  // the 12-float block is too small: dropped
    EXPECT_EQ(big.capacity(), block_for(50));
    EXPECT_EQ(c.live, 1);
  }
  // Every later request up to its capacity reuses that one block, past the mark too.
  for (std::size_t n :
       {std::size_t{1}, std::size_t{50}, std::size_t{20}, std::size_t{49}, block_for(50)}) {
    BufferPool::Buffer b = pool.take(n);
    EXPECT_EQ(b.capacity(), block_for(50)) << n;
  }
  EXPECT_EQ(pool.allocations(), 2u);
  EXPECT_EQ(c.live, 1);
  // A small block still out when the mark rises is released when it comes back.
  BufferPool::Buffer old = pool.take(50);
  BufferPool::Buffer bigger = pool.take(80);
  EXPECT_EQ(c.live, 2);
  old.reset();
  EXPECT_EQ(c.live, 1);
  EXPECT_EQ(pool.held_bytes(), block_for(80) * sizeof(float));
}

TEST(BufferPool, MovesHandOverOwnership) {
  Counting c;
  BufferPool pool(c.allocator());
  BufferPool::Buffer a = pool.take(8);
  float* p = a.data();
  BufferPool::Buffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(b.data(), p);
  BufferPool::Buffer d = pool.take(8);
  d = std::move(b);  // d's own block goes back, d now holds p
  EXPECT_EQ(d.data(), p);
  EXPECT_EQ(pool.allocations(), 2u);
  BufferPool::Buffer e = pool.take(8);  // the block d gave back
  EXPECT_NE(e.data(), p);
  EXPECT_EQ(pool.allocations(), 2u);
  BufferPool::Buffer empty;
  EXPECT_EQ(empty.size(), 0u);
  empty.reset();  // harmless
}

TEST(BufferPool, AllocatorFailureLeavesThePoolUsable) {
  Counting c;
  BufferPool pool(c.allocator());
  c.fail = true;
  EXPECT_THROW(pool.take(16), std::bad_alloc);
  c.fail = false;
  BufferPool::Buffer b = pool.take(16);
  EXPECT_EQ(b.size(), 16u);
  EXPECT_EQ(pool.allocations(), 1u);
}

TEST(BufferPool, TwoThreadsPassingBuffersAllocateOnlyWhatIsInUseAtOnce) {
  Counting c;
  {
    BufferPool pool(c.allocator());
    // A producer takes buffers and hands them over through a bounded slot of 2; the consumer
    // checks the contents and drops them, as run_eras' I/O and scoring threads do.
    std::mutex mu;
    std::condition_variable cv;
    std::vector<BufferPool::Buffer> slot;
    bool done = false;
    std::atomic<int> bad{0};
    std::thread producer([&] {
      for (int i = 0; i < 2000; ++i) {
        BufferPool::Buffer b = pool.take(64 + static_cast<std::size_t>(i % 7));
        for (std::size_t k = 0; k < b.size(); ++k) b.data()[k] = static_cast<float>(i);
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return slot.size() < 2; });
        slot.push_back(std::move(b));
        cv.notify_all();
      }
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    int expected = 0;
    for (;;) {
      BufferPool::Buffer b;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return !slot.empty() || done; });
        if (slot.empty()) break;
        b = std::move(slot.front());
        slot.erase(slot.begin());
        cv.notify_all();
      }
      for (std::size_t k = 0; k < b.size(); ++k) {
        if (b.data()[k] != static_cast<float>(expected)) ++bad;
      }
      ++expected;
    }
    producer.join();
    EXPECT_EQ(expected, 2000);
    EXPECT_EQ(bad, 0);
    // At most: 2 in the slot, 1 being filled, 1 being checked (every size from 64 to 70 fits a
    // block made for 64 plus its quarter of headroom).
    EXPECT_LE(pool.allocations(), 4u);
    EXPECT_LE(pool.held_bytes(), 4 * block_for(70) * sizeof(float));
  }
  EXPECT_EQ(c.live, 0);
}

}  // namespace
}  // namespace backscore
