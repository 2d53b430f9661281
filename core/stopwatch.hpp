// ScopedSeconds: adds the wall seconds between its construction and its destruction to a counter
// (a stage's share of a run, `run --timings`). The counter is not shared between threads: keep one
// per thread and sum them afterwards.
#pragma once

#include <chrono>

namespace backscore {

class ScopedSeconds {
 public:
  explicit ScopedSeconds(double& total) : total_(total), start_(Clock::now()) {}
  ~ScopedSeconds() { total_ += std::chrono::duration<double>(Clock::now() - start_).count(); }
  ScopedSeconds(const ScopedSeconds&) = delete;
  ScopedSeconds& operator=(const ScopedSeconds&) = delete;

 private:
  using Clock = std::chrono::steady_clock;
  double& total_;
  Clock::time_point start_;
};

}  // namespace backscore
