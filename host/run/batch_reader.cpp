#include "host/run/batch_reader.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>

namespace backscore {

// A bounded single-producer single-consumer queue; the producer's exception travels through it.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  // False once the consumer has cancelled: the producer should stop reading.
  bool push(Batch b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || cancelled_; });
    if (cancelled_) return false;
    items_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  void finish(std::exception_ptr error) {
    std::lock_guard lock(mu_);
    done_ = true;
    error_ = error;
    not_empty_.notify_one();
  }
  // Empty optional at the end; rethrows the producer's error.
  std::optional<Batch> pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !items_.empty() || done_; });
    if (!items_.empty()) {
      Batch b = std::move(items_.front());
      items_.pop_front();
      not_full_.notify_one();
      return b;
    }
    if (error_) std::rethrow_exception(error_);
    return std::nullopt;
  }
  // Drops the queued batches (their buffers go back to the pool) and wakes the producer.
  void cancel() {
    std::deque<Batch> dropped;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      dropped.swap(items_);
      not_full_.notify_all();
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> items_;
  std::size_t capacity_;
  bool done_ = false, cancelled_ = false;
  std::exception_ptr error_;
};

BatchReader::BatchReader(StoreReader& store, std::vector<std::size_t> eras,
                         std::size_t batch_models, int read_threads,
                         BufferPool::Allocator allocator, EraLookahead lookahead)
    : pool_(std::move(allocator)), queue_(std::make_unique<BatchQueue>(2)) {
  batch_models = std::max<std::size_t>(batch_models, 1);
  thread_ = std::thread([this, &store, eras = std::move(eras), batch_models, read_threads,
                         lookahead = std::move(lookahead)] {
    using Clock = std::chrono::steady_clock;
    auto timed = [this](auto&& read) {
      const auto t0 = Clock::now();
      read();
      read_seconds_.store(read_seconds_.load() +
                          std::chrono::duration<double>(Clock::now() - t0).count());
    };
    try {
      std::deque<std::shared_ptr<const Era>> headers;  // read, not yet batched
      std::size_t next_header = 0;
      for (std::size_t at = 0; at < eras.size(); ++at) {
        while (next_header < eras.size() && next_header <= at + lookahead.eras) {
          std::shared_ptr<const Era> header;
          timed([&] { header = std::make_shared<const Era>(store.read_era(eras[next_header])); });
          if (lookahead.on_read) lookahead.on_read(header, eras[next_header]);
          headers.push_back(std::move(header));
          ++next_header;
        }
        const std::size_t e = eras[at];
        const std::shared_ptr<const Era> era = std::move(headers.front());
        headers.pop_front();
        const std::size_t n = era->n_stocks(), m = era->n_submitted();
        if (m == 0) {
          if (!queue_->push(Batch{era, e, 0, 0, {}, true})) return;
          continue;
        }
        for (std::size_t first = 0; first < m; first += batch_models) {
          Batch b{era, e, first, std::min(batch_models, m - first), {}, false};
          b.last_of_era = b.first + b.count == m;
          b.predictions = pool_.take(b.count * n);
          timed([&] {
            store.read_predictions(e, b.first, b.count, b.predictions.span(), read_threads);
          });
          if (!queue_->push(std::move(b))) return;  // the scoring side stopped: stop reading
        }
      }
      queue_->finish(nullptr);
    } catch (...) {
      queue_->finish(std::current_exception());
    }
  });
  ::pthread_setname_np(thread_.native_handle(), kThreadName);
}

double BatchReader::read_seconds() const { return read_seconds_.load(); }

BatchReader::~BatchReader() {
  queue_->cancel();
  if (thread_.joinable()) thread_.join();
}

std::optional<Batch> BatchReader::next() { return queue_->pop(); }

}  // namespace backscore
