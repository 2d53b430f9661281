// BatchReader: the run's I/O thread. It owns every HDF5 call of a run (HDF5 is effectively
// single-threaded): it reads each era's header and then its prediction matrix in batches of model
// columns, into buffers recycled by its BufferPool, and hands them to the scoring thread through a
// bounded queue, so reading era e+1 overlaps scoring era e. Memory: the queue's depth plus one
// batch being read and one being scored, whatever the history's length.
// Era lookahead: the headers of up to `lookahead.eras` eras past the one whose batches are being
// read are read early and announced (lookahead.on_read, on the I/O thread, in era order), so the
// eras' shared stages can be built ahead (StagePrefetch); a header is read once, and each era is
// announced before its first batch is queued. Memory then grows by that many era headers.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "host/run/buffer_pool.hpp"
#include "io/store.hpp"

namespace backscore {

// One unit of work handed from the I/O thread to the scoring side.
struct Batch {
  std::shared_ptr<const Era> era;
  std::size_t era_index = 0;
  std::size_t first = 0;  // first prediction column of the batch (era.models index)
  std::size_t count = 0;
  BufferPool::Buffer predictions;  // count x n_stocks, column-major (none when count = 0)
  bool last_of_era = false;

  const float* column(std::size_t j) const { return predictions.data() + j * era->n_stocks(); }
};

class BatchQueue;

struct EraLookahead {
  std::size_t eras = 0;  // headers read ahead of the era being batched
  // Called on the I/O thread with each era's header and store index, in order (may be empty).
  std::function<void(std::shared_ptr<const Era>, std::size_t)> on_read;
};

class BatchReader {
 public:
  // Starts the I/O thread on `eras` (store indices, in order). An era without submissions is one
  // empty batch. allocator: for the batch buffers (page-locked for the GPU).
  BatchReader(StoreReader& store, std::vector<std::size_t> eras, std::size_t batch_models,
              int read_threads, BufferPool::Allocator allocator, EraLookahead lookahead = {});
  // Stops the I/O thread (it ends its current read) and joins it.
  ~BatchReader();
  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;

  // The next batch, in era and column order; empty at the end. Rethrows the I/O thread's error
  // (a bad era, an HDF5 failure) in the caller's thread.
  std::optional<Batch> next();
  // Seconds the I/O thread has spent in HDF5 reads (headers and predictions) so far.
  double read_seconds() const;

  // The I/O thread's name (in /proc/self/task/*/comm), so tests can check it has ended.
  static constexpr const char* kThreadName = "backscore-read";

 private:
  BufferPool pool_;  // declared first: outlives every batch and the thread
  std::unique_ptr<BatchQueue> queue_;
  std::atomic<double> read_seconds_{0};
  std::thread thread_;
};

}  // namespace backscore
