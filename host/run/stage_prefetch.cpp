#include "host/run/stage_prefetch.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

namespace backscore {

struct StagePrefetch::State {
  struct Slot {
    std::shared_ptr<const Era> era;  // released once built
    bool done = false;
    SharedStages stages;
    std::exception_ptr error;
  };
  std::mutex mu;
  std::condition_variable work_ready, built;
  std::map<std::size_t, Slot> slots;
  std::deque<std::size_t> queue;  // submitted, not started, in order
  bool stopping = false;
  double seconds = 0;
};

StagePrefetch::StagePrefetch(Build build, std::size_t workers)
    : build_(std::move(build)), state_(std::make_unique<State>()) {
  if (workers == 0) throw std::invalid_argument("StagePrefetch: no workers");
  threads_.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) {
    threads_.emplace_back([this] { work(); });
    ::pthread_setname_np(threads_.back().native_handle(), kThreadName);
  }
}

StagePrefetch::~StagePrefetch() {
  {
    std::lock_guard lock(state_->mu);
    state_->stopping = true;
    state_->queue.clear();
  }
  state_->work_ready.notify_all();
  for (std::thread& t : threads_) t.join();
}

void StagePrefetch::submit(std::shared_ptr<const Era> era, std::size_t index) {
  {
    std::lock_guard lock(state_->mu);
    State::Slot& slot = state_->slots[index];
    slot = State::Slot{};
    slot.era = std::move(era);
    state_->queue.push_back(index);
  }
  state_->work_ready.notify_one();
}

SharedStages StagePrefetch::take(std::size_t index) {
  std::unique_lock lock(state_->mu);
  auto it = state_->slots.find(index);
  if (it == state_->slots.end()) {
    throw std::logic_error("StagePrefetch: era " + std::to_string(index) + " was not submitted");
  }
  state_->built.wait(lock, [&] { return it->second.done; });
  State::Slot slot = std::move(it->second);
  state_->slots.erase(it);
  lock.unlock();
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.stages);
}

double StagePrefetch::build_seconds() const {
  std::lock_guard lock(state_->mu);
  return state_->seconds;
}

void StagePrefetch::work() {
  std::unique_lock lock(state_->mu);
  for (;;) {
    state_->work_ready.wait(lock, [&] { return state_->stopping || !state_->queue.empty(); });
    if (state_->stopping) return;
    const std::size_t index = state_->queue.front();
    state_->queue.pop_front();
    std::shared_ptr<const Era> era = state_->slots[index].era;
    lock.unlock();
    const auto t0 = std::chrono::steady_clock::now();
    SharedStages stages;
    std::exception_ptr error;
    try {
      stages = build_(*era, index);
    } catch (...) {
      error = std::current_exception();
    }
    era.reset();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    lock.lock();
    state_->seconds += secs;
    State::Slot& slot = state_->slots[index];
    slot.era.reset();
    slot.stages = std::move(stages);
    slot.error = error;
    slot.done = true;
    state_->built.notify_all();
  }
}

}  // namespace backscore
