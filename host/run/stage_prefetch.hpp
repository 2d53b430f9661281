// StagePrefetch: builds the shared stages of the eras ahead of the one being scored (SharedStages:
// ColumnScorer::build_stages), on worker threads of its own, so an era's model-independent work
// (above all the least-squares factorization of its features: seconds per era at Numerai's 2,376
// features) overlaps the scoring of the eras before it instead of stalling the scoring threads.
// The BatchReader announces each era's header as it reads it (EraLookahead); the scoring thread
// takes the era's stages when it reaches the era's first batch.
// Every build runs the same single-threaded code whatever the number of workers (BLAS at one
// thread), so the stages, hence the scores, are the same bytes with or without prefetching.
// Memory: at most `workers` eras being built plus the built ones not yet taken (bounded by the
// reader's lookahead), whatever the history's length.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "host/run/column_scorer.hpp"
#include "io/store.hpp"

namespace backscore {

class StagePrefetch {
 public:
  using Build = std::function<SharedStages(const Era&, std::size_t index)>;
  // build(era, store index) is called on the workers, up to `workers` (>= 1) at once.
  StagePrefetch(Build build, std::size_t workers);
  // Drops the queued builds and waits for the running ones.
  ~StagePrefetch();
  StagePrefetch(const StagePrefetch&) = delete;
  StagePrefetch& operator=(const StagePrefetch&) = delete;

  // Queues the build of store era `index` (any thread; each index at most once until taken).
  void submit(std::shared_ptr<const Era> era, std::size_t index);
  // Waits for era `index`'s stages and hands them over; rethrows its build's error. Throws
  // std::logic_error when `index` was not submitted.
  SharedStages take(std::size_t index);
  // Thread-seconds the workers have spent building so far.
  double build_seconds() const;

  // The workers' name (in /proc/self/task/*/comm), so tests can check they have ended.
  static constexpr const char* kThreadName = "backscore-stage";

 private:
  struct State;
  Build build_;
  std::unique_ptr<State> state_;
  std::vector<std::thread> threads_;
  void work();
};

}  // namespace backscore
