// CPU backend era loop (see run.hpp).
#include "host/engine/run.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "host/engine/era_context.hpp"
#include "host/engine/progress.hpp"

namespace backscore {
namespace {

// One unit of work handed from the I/O thread to the scoring threads.
struct Batch {
  std::shared_ptr<const Era> era;
  std::size_t era_index = 0;
  std::size_t first = 0;  // first prediction column of the batch
  std::size_t count = 0;
  std::vector<float> predictions;  // count x n_stocks
  bool last_of_era = false;
};

// A bounded single-producer single-consumer queue; the producer's exception travels through it.
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}

  void push(Batch b) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return items_.size() < capacity_ || cancelled_; });
    if (cancelled_) return;
    items_.push_back(std::move(b));
    not_empty_.notify_one();
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
  void cancel() {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> items_;
  std::size_t capacity_;
  bool done_ = false, cancelled_ = false;
  std::exception_ptr error_;
};


}  // namespace

RunStats run_cpu(const StoreReader& store, const RunOptions& options,
                 std::span<const std::uint64_t> done,
                 const std::function<void(const EraScores&)>& on_era) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t end_era = std::min(options.end_era, store.eras().size());
  std::vector<std::size_t> todo;
  for (std::size_t e = options.first_era; e < end_era; ++e) {
    if (std::find(done.begin(), done.end(), e) == done.end()) todo.push_back(e);
  }
  const std::size_t n_formulas = options.formulas.size();
  const ContextNeeds needs = ContextNeeds::of(options.formulas);
  const std::size_t batch_models = std::max<std::size_t>(options.batch_models, 1);
  auto selected = [&](std::int32_t model) {
    return options.model_selected.empty() || options.model_selected[model] != 0;
  };

  // The I/O thread: every HDF5 call of the run happens here.
  BatchQueue queue(2);
  std::thread io([&] {
    try {
      for (std::size_t e : todo) {
        auto era = std::make_shared<const Era>(store.read_era(e));
        const std::size_t n = era->n_stocks(), m = era->n_submitted();
        if (m == 0) {
          queue.push(Batch{era, e, 0, 0, {}, true});
          continue;
        }
        for (std::size_t first = 0; first < m; first += batch_models) {
          Batch b{era, e, first, std::min(batch_models, m - first), {}, false};
          b.last_of_era = b.first + b.count == m;
          b.predictions.resize(b.count * n);
          store.read_predictions(e, b.first, b.count, b.predictions);
          queue.push(std::move(b));
        }
      }
      queue.finish(nullptr);
    } catch (...) {
      queue.finish(std::current_exception());
    }
  });
  struct JoinGuard {
    std::thread& t;
    BatchQueue& q;
    ~JoinGuard() {
      q.cancel();
      if (t.joinable()) t.join();
    }
  } join_guard{io, queue};

  if (options.threads > 0) omp_set_num_threads(options.threads);
  RunStats stats;
  EraProgress progress(options.progress, todo.size());
  std::unique_ptr<EraContext> full;  // the era's stages on all its ids, shared by all models
  EraScores out;
  std::size_t out_models = 0;
  const int max_threads = omp_get_max_threads();
  std::vector<ModelScratch> scratch(static_cast<std::size_t>(max_threads));
  std::vector<std::vector<double>> column(static_cast<std::size_t>(max_threads));
  std::vector<std::vector<std::uint32_t>> rows(static_cast<std::size_t>(max_threads));

  while (std::optional<Batch> batch = queue.pop()) {
    const Era& era = *batch->era;
    const std::size_t n = era.n_stocks();
    if (batch->first == 0) {
      full = std::make_unique<EraContext>(era, std::span<const std::uint32_t>{}, needs,
                                          options.target, options.benchmark);
      out = EraScores{};
      out.era = batch->era_index;
      for (std::int32_t model : era.models) {
        if (selected(model)) out.models.push_back(model);
      }
      out.scores.assign(out.models.size() * n_formulas, std::nan(""));
      out_models = 0;
    }
    // Output slot of each selected column of this batch.
    std::vector<std::ptrdiff_t> slot(batch->count, -1);
    for (std::size_t j = 0; j < batch->count; ++j) {
      if (selected(era.models[batch->first + j])) slot[j] = static_cast<std::ptrdiff_t>(out_models++);
    }
    std::size_t skipped = 0, subset = 0;
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(batch->count);
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : skipped, subset)
    for (std::ptrdiff_t j = 0; j < count; ++j) {
      if (slot[j] < 0) continue;
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      std::vector<double>& pred = column[t];
      std::vector<std::uint32_t>& present = rows[t];
      pred.clear();
      present.clear();
      const float* src = batch->predictions.data() + static_cast<std::size_t>(j) * n;
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isnan(src[i])) {
          pred.push_back(static_cast<double>(src[i]));
          present.push_back(static_cast<std::uint32_t>(i));
        }
      }
      std::span<double> dst(out.scores.data() + static_cast<std::size_t>(slot[j]) * n_formulas,
                            n_formulas);
      if (present.size() == n) {
        score_model(*full, pred, options.formulas, dst, scratch[t]);
      } else if (n > 0 && enough_ids(present.size(), n)) {
        // numerai-tools re-ranks the meta-model and re-centers the target on the ids the model
        // submitted: this model gets the era's stages computed on its own subset.
        EraContext own(era, present, needs, options.target, options.benchmark);
        score_model(own, pred, options.formulas, dst, scratch[t]);
        ++subset;
      } else {
        ++skipped;
      }
    }
    stats.skipped += skipped;
    stats.subset_models += subset;
    stats.model_eras += static_cast<std::size_t>(std::count_if(slot.begin(), slot.end(),
                                                               [](auto s) { return s >= 0; }));
    stats.predictions += batch->count * n;
    if (batch->last_of_era) {
      on_era(out);
      ++stats.eras;
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.update(stats.eras, stats.predictions, secs);
    }
  }
  progress.end();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace backscore
