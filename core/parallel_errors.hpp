// An exception may not leave an OpenMP parallel region (it would end in std::terminate): the
// region's iterations catch into a FirstError, and the caller rethrows it after the region. The
// error kept is the one of the lowest iteration index, so which error a run reports does not
// depend on the thread count or the schedule.
#pragma once

#include <cstddef>
#include <exception>
#include <mutex>

namespace backscore {

class FirstError {
 public:
  // Call from a catch (...) block of iteration `index`.
  void capture(std::size_t index) noexcept {
    std::lock_guard lock(mu_);
    if (!error_ || index < index_) {
      error_ = std::current_exception();
      index_ = index;
    }
  }
  // After the region: rethrows the captured error, if any.
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mu_;
  std::exception_ptr error_;
  std::size_t index_ = 0;
};

}  // namespace backscore
