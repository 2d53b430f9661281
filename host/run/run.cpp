// The era loop of both backends (see run.hpp).
#include "host/run/run.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "host/run/buffer_pool.hpp"
#include "host/era/era_context.hpp"
#include "io/progress.hpp"
#include "host/lang/eval.hpp"
#include "core/error.hpp"
#ifdef BACKSCORE_HAVE_CUDA
#include "kernels/device.hpp"
#include "host/run/cuda/era_scorer.hpp"
#endif

namespace backscore {
#ifdef BACKSCORE_HAVE_CUDA
static_assert(kMaxGpuStreams == cuda::kMaxStreams);
#endif
namespace {

// One unit of work handed from the I/O thread to the scoring threads.
struct Batch {
  std::shared_ptr<const Era> era;
  std::size_t era_index = 0;
  std::size_t first = 0;  // first prediction column of the batch
  std::size_t count = 0;
  BufferPool::Buffer predictions;  // count x n_stocks (none when count = 0)
  bool last_of_era = false;
};

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

RunStats run_eras(const StoreReader& store, const RunOptions& options,
                  std::span<const std::uint64_t> done,
                  const std::function<void(const EraScores&)>& on_era) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t end_era = std::min(options.end_era, store.eras().size());
  std::vector<std::size_t> todo;
  for (std::size_t e = options.first_era; e < end_era; ++e) {
    if (std::find(done.begin(), done.end(), e) == done.end()) todo.push_back(e);
  }
  const std::size_t n_formulas = options.formulas.size();
  // Built-ins scored by score_model: the requested ones, then those the plan's definitions use.
  // Each output column takes its score from one of them or from the plan.
  const lang::Plan* plan = options.plan.get();
  std::vector<FormulaSpec> builtins;
  std::vector<std::size_t> from_builtin(n_formulas, SIZE_MAX), from_plan(n_formulas, SIZE_MAX);
  for (std::size_t f = 0; f < n_formulas; ++f) {
    const FormulaSpec& spec = options.formulas[f];
    if (spec.is_defined()) {
      if (plan == nullptr)
        throw std::invalid_argument("run_eras: a defined formula without a plan");
      for (std::size_t p = 0; p < plan->formulas.size(); ++p) {
        if (plan->formulas[p].name == spec.defined_name) from_plan[f] = p;
      }
      if (from_plan[f] == SIZE_MAX) {
        throw std::invalid_argument("run_eras: the plan has no formula " + spec.defined_name);
      }
    } else {
      from_builtin[f] = builtins.size();
      builtins.push_back(spec);
    }
  }
  std::vector<std::size_t> plan_builtin;  // plan->builtins[i] is builtins[plan_builtin[i]]
  if (plan != nullptr) {
    for (const FormulaSpec& b : plan->builtins) {
      auto it = std::find(builtins.begin(), builtins.end(), b);
      if (it == builtins.end()) it = builtins.insert(builtins.end(), b);
      plan_builtin.push_back(static_cast<std::size_t>(it - builtins.begin()));
    }
  }
  const ContextNeeds needs = ContextNeeds::of(builtins);
  const std::size_t batch_models = std::max<std::size_t>(options.batch_models, 1);
  auto selected = [&](std::int32_t model) {
    return options.model_selected.empty() || options.model_selected[model] != 0;
  };

  // The GPU scores the built-ins of complete columns; without built-ins it has nothing to do.
#ifdef BACKSCORE_HAVE_CUDA
  std::optional<cuda::CudaEraScorer> gpu;
  if (options.backend == Backend::cuda && !builtins.empty()) {
    cuda::EraScorerOptions gpu_options;
    gpu_options.streams = options.gpu_streams;
    gpu.emplace(options.device, builtins, options.gpu_memory, gpu_options);
  }
  std::vector<double> gpu_scores;
#else
  if (options.backend == Backend::cuda) {
    throw InputError("--backend cuda: this backscore was built without CUDA (BACKSCORE_CUDA=OFF)");
  }
#endif

  // The batches' buffers: page-locked for the GPU (HDF5 reads straight into what the scorer copies
  // to the device), the heap otherwise. Declared before the queue: it outlives every batch.
  BufferPool pool = [&] {
#ifdef BACKSCORE_HAVE_CUDA
    if (gpu) {
      const int device = options.device;
      return BufferPool(
          {[device](std::size_t bytes) { return cuda::allocate_pinned(device, bytes); },
           [](void* p) { cuda::free_pinned(p); }});
    }
#endif
    return BufferPool();
  }();
#ifdef BACKSCORE_HAVE_CUDA
  BufferPool::Buffer gpu_block;  // the batch's complete columns, when not all are
#endif

  // The I/O thread: every HDF5 call of the run happens here.
  BatchQueue queue(2);
  std::thread io([&] {
    try {
      for (std::size_t e : todo) {
        auto era = std::make_shared<const Era>(store.read_era(e));
        const std::size_t n = era->n_stocks(), m = era->n_submitted();
        if (m == 0) {
          if (!queue.push(Batch{era, e, 0, 0, {}, true})) return;
          continue;
        }
        for (std::size_t first = 0; first < m; first += batch_models) {
          Batch b{era, e, first, std::min(batch_models, m - first), {}, false};
          b.last_of_era = b.first + b.count == m;
          b.predictions = pool.take(b.count * n);
          store.read_predictions(e, b.first, b.count, b.predictions.span(),
                                 options.read_threads);
          if (!queue.push(std::move(b))) return;  // the scoring side failed: stop reading
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
  stats.undefined.assign(n_formulas, 0);
  std::unique_ptr<EraContext> full;  // the era's stages on all its ids, shared by all models
  std::unique_ptr<lang::EraStages> full_stages;  // the plan's era stages, likewise
  EraScores out;
  std::size_t out_models = 0;
  const int max_threads = omp_get_max_threads();
  std::vector<ModelScratch> scratch(static_cast<std::size_t>(max_threads));
  std::vector<std::unique_ptr<lang::ModelEvaluator>> evaluators(
      static_cast<std::size_t>(max_threads));
  if (plan != nullptr) {
    for (auto& e : evaluators) e = std::make_unique<lang::ModelEvaluator>(*plan);
  }
  // Per thread: the built-ins' scores, the plan's inputs (built-in scores) and outputs.
  std::vector<std::vector<double>> builtin_scores(static_cast<std::size_t>(max_threads),
                                                  std::vector<double>(builtins.size()));
  std::vector<std::vector<double>> plan_in(static_cast<std::size_t>(max_threads),
                                           std::vector<double>(plan_builtin.size()));
  std::vector<std::vector<double>> plan_out(
      static_cast<std::size_t>(max_threads),
      std::vector<double>(plan != nullptr ? plan->formulas.size() : 0));
  std::vector<std::vector<double>> column(static_cast<std::size_t>(max_threads));
  std::vector<std::vector<std::uint32_t>> rows(static_cast<std::size_t>(max_threads));

  while (std::optional<Batch> batch = queue.pop()) {
    const Era& era = *batch->era;
    const std::size_t n = era.n_stocks();
    if (batch->first == 0) {
      if (!builtins.empty()) {
        full = std::make_unique<EraContext>(era, std::span<const std::uint32_t>{}, needs,
                                            options.target, options.benchmark);
      }
      if (plan != nullptr) {
        full_stages =
            std::make_unique<lang::EraStages>(*plan, era, std::span<const std::uint32_t>{});
      }
#ifdef BACKSCORE_HAVE_CUDA
      if (gpu && n > 0) gpu->begin_era(era, *full);
#endif
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
      if (selected(era.models[batch->first + j]))
        slot[j] = static_cast<std::ptrdiff_t>(out_models++);
    }
    // Row of each column's built-in scores in gpu_scores, for the columns the GPU scored.
    std::vector<std::size_t> gpu_row(batch->count, SIZE_MAX);
#ifdef BACKSCORE_HAVE_CUDA
    if (gpu && n > 0) {
      // Which columns are complete (the scan on all cores), then their rows in column order.
      std::vector<char> whole(batch->count, 0);
      const std::ptrdiff_t cols = static_cast<std::ptrdiff_t>(batch->count);
#pragma omp parallel for schedule(static)
      for (std::ptrdiff_t j = 0; j < cols; ++j) {
        const float* c = batch->predictions.data() + static_cast<std::size_t>(j) * n;
        whole[j] = slot[j] >= 0 && std::none_of(c, c + n, [](float v) { return std::isnan(v); });
      }
      std::size_t complete = 0;
      for (std::size_t j = 0; j < batch->count; ++j) {
        if (whole[j]) gpu_row[j] = complete++;
      }
      if (complete > 0) {
        std::span<const float> block = batch->predictions.span();
        if (complete < batch->count) {  // gather: the scorer takes complete columns only
          gpu_block.reset();
          gpu_block = pool.take(complete * n);
          for (std::size_t j = 0; j < batch->count; ++j) {
            if (gpu_row[j] == SIZE_MAX) continue;
            std::copy_n(batch->predictions.data() + j * n, n, gpu_block.data() + gpu_row[j] * n);
          }
          block = {gpu_block.data(), complete * n};
        }
        gpu_scores.resize(complete * builtins.size());
        gpu->score_full_columns(block, complete, gpu_scores);
        stats.gpu_model_eras += complete;
      }
    }
#endif
    std::size_t skipped = 0, subset = 0;
    const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(batch->count);
    std::vector<char> scored(batch->count, 1);
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : skipped, subset)
    for (std::ptrdiff_t j = 0; j < count; ++j) {
      if (slot[j] < 0) continue;
      const std::size_t t = static_cast<std::size_t>(omp_get_thread_num());
      std::vector<double>& pred = column[t];
      std::vector<std::uint32_t>& present = rows[t];
      pred.clear();
      present.clear();
      // A column the GPU scored needs its values here only for defined formulas.
      if (gpu_row[j] == SIZE_MAX || plan != nullptr) {
        const float* src = batch->predictions.data() + static_cast<std::size_t>(j) * n;
        for (std::size_t i = 0; i < n; ++i) {
          if (!std::isnan(src[i])) {
            pred.push_back(static_cast<double>(src[i]));
            present.push_back(static_cast<std::uint32_t>(i));
          }
        }
      }
      std::span<double> dst(out.scores.data() + static_cast<std::size_t>(slot[j]) * n_formulas,
                            n_formulas);
      std::vector<double>& bs = builtin_scores[t];
      std::vector<double>& pin = plan_in[t];
      std::vector<double>& pout = plan_out[t];
      auto score = [&](const EraContext* ctx, const lang::EraStages* stages) {
        if (ctx != nullptr) score_model(*ctx, pred, builtins, bs, scratch[t]);
        if (stages != nullptr) {
          for (std::size_t i = 0; i < plan_builtin.size(); ++i) pin[i] = bs[plan_builtin[i]];
          evaluators[t]->evaluate(*stages, pred, pin, pout);
        }
        for (std::size_t f = 0; f < n_formulas; ++f) {
          dst[f] = from_plan[f] != SIZE_MAX ? pout[from_plan[f]] : bs[from_builtin[f]];
        }
      };
      if (gpu_row[j] != SIZE_MAX) {  // built-ins from the GPU; defined formulas here
#ifdef BACKSCORE_HAVE_CUDA
        std::copy_n(gpu_scores.data() + gpu_row[j] * builtins.size(), builtins.size(), bs.data());
#endif
        score(nullptr, full_stages.get());
      } else if (present.size() == n) {
        score(full.get(), full_stages.get());
      } else if (n > 0 && enough_ids(present.size(), n)) {
        // numerai-tools re-ranks the meta-model and re-centers the target on the ids the model
        // submitted: this model gets the era's stages computed on its own subset (the plan's
        // over=era stages come from the whole era's).
        std::optional<EraContext> own;
        std::optional<lang::EraStages> own_stages;
        if (!builtins.empty()) own.emplace(era, present, needs, options.target, options.benchmark);
        if (plan != nullptr) own_stages.emplace(*plan, era, present, full_stages.get());
        score(own ? &*own : nullptr, own_stages ? &*own_stages : nullptr);
        ++subset;
      } else {
        scored[j] = 0;
        ++skipped;
      }
    }
    if (plan != nullptr) {  // undefined scores of defined formulas, in model order
      for (std::size_t j = 0; j < batch->count; ++j) {
        if (slot[j] < 0 || !scored[j]) continue;
        const double* row = out.scores.data() + static_cast<std::size_t>(slot[j]) * n_formulas;
        for (std::size_t f = 0; f < n_formulas; ++f) {
          stats.undefined[f] += from_plan[f] != SIZE_MAX && std::isnan(row[f]);
        }
      }
    }
    stats.skipped += skipped;
    stats.subset_models += subset;
    stats.model_eras += static_cast<std::size_t>(
        std::count_if(slot.begin(), slot.end(), [](auto s) { return s >= 0; }));
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
#ifdef BACKSCORE_HAVE_CUDA
  if (gpu) {
    stats.gpu_peak_bytes = gpu->peak_device_bytes();
    stats.gpu_batch_models = gpu->largest_batch_models();
    stats.gpu_streams = gpu->most_streams_used();
  }
#endif
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace backscore
