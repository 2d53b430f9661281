// The era loop of both backends (see run.hpp): read, begin each era, score each batch, journal.
#include "host/run/run.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "host/run/backend.hpp"
#include "host/run/batch_reader.hpp"
#include "host/run/column_scorer.hpp"
#include "host/run/formula_routing.hpp"
#include "host/run/stage_prefetch.hpp"
#include "io/progress.hpp"

namespace backscore {

RunStats run_eras(StoreReader& store, const RunOptions& options,
                  std::span<const std::uint64_t> done,
                  const std::function<void(const EraScores&)>& on_era) {
  const auto start = std::chrono::steady_clock::now();
  const std::size_t end_era = std::min(options.end_era, store.eras().size());
  std::vector<std::size_t> todo;
  for (std::size_t e = options.first_era; e < end_era; ++e) {
    if (std::find(done.begin(), done.end(), e) == done.end()) todo.push_back(e);
  }
  const std::size_t eras_to_score = todo.size();
  const std::size_t n_formulas = options.formulas.size();
  const FormulaRouting routing = FormulaRouting::of(options.formulas, options.plan.get());
  auto selected = [&](std::int32_t model) {
    return options.model_selected.empty() || options.model_selected[model] != 0;
  };

  if (options.threads > 0) omp_set_num_threads(options.threads);
  ColumnScorer columns(options, routing);
  const std::unique_ptr<EraBackend> backend = make_backend(options, routing, columns);
  // The eras' shared stages built ahead (see RunOptions::prefetch_eras); declared before the
  // reader, whose thread submits to it.
  const bool needs_stages = !routing.builtins.empty() || options.plan != nullptr;
  std::size_t prefetch_eras = 0;
  if (needs_stages) {
    prefetch_eras = options.prefetch_eras >= 0
                        ? static_cast<std::size_t>(options.prefetch_eras)
                        : std::min<std::size_t>(static_cast<std::size_t>(omp_get_max_threads()), 4);
    if (options.prefetch_eras < 0 && omp_get_max_threads() <= 1) prefetch_eras = 0;
  }
  auto build_stages = [&columns, &options](const Era& era, std::size_t index) {
    if (options.seams.before_stages) options.seams.before_stages(index);
    return columns.build_stages(era);
  };
  std::optional<StagePrefetch> prefetch;
  EraLookahead lookahead;
  if (prefetch_eras > 0) {
    prefetch.emplace(build_stages, prefetch_eras);
    lookahead.eras = prefetch_eras;
    lookahead.on_read = [&prefetch](std::shared_ptr<const Era> era, std::size_t index) {
      prefetch->submit(std::move(era), index);
    };
  }
  BatchReader reader(store, std::move(todo), options.batch_models, options.read_threads,
                     backend->batch_allocator(), std::move(lookahead));

  RunStats stats;
  EraProgress progress(options.progress, eras_to_score);
  stats.undefined.assign(n_formulas, 0);
  EraScores out;
  std::size_t out_models = 0;
  std::vector<std::ptrdiff_t> slot;
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  for (;;) {
    auto t0 = Clock::now();
    std::optional<Batch> batch = reader.next();
    stats.times.wait_batches += since(t0);
    if (!batch) break;
    const Era& era = *batch->era;
    if (batch->first == 0) {
      t0 = Clock::now();
      if (prefetch) {
        columns.begin_era(prefetch->take(batch->era_index));
      } else if (needs_stages) {
        columns.begin_era(build_stages(era, batch->era_index));
        stats.times.era_stages += since(t0);
      }
      stats.times.wait_stages += since(t0);
      if (const EraContext* ctx = columns.full_context()) {
        stats.times.factorization += ctx->factorization_seconds();
      }
      backend->begin_era(era);
      out = EraScores{};
      out.era = batch->era_index;
      for (std::int32_t model : era.models) {
        if (selected(model)) out.models.push_back(model);
      }
      out.scores.assign(out.models.size() * n_formulas, std::nan(""));
      out_models = 0;
    }
    // Output slot of each selected column of this batch (-1: not selected).
    slot.assign(batch->count, -1);
    for (std::size_t j = 0; j < batch->count; ++j) {
      if (selected(era.models[batch->first + j]))
        slot[j] = static_cast<std::ptrdiff_t>(out_models++);
    }
    backend->score_batch(*batch, slot, out.scores, stats);
    stats.model_eras += static_cast<std::size_t>(
        std::count_if(slot.begin(), slot.end(), [](auto s) { return s >= 0; }));
    stats.predictions += batch->count * era.n_stocks();
    if (batch->last_of_era) {
      backend->end_era(out.scores);
      on_era(out);
      ++stats.eras;
      const double secs =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      progress.update(stats.eras, stats.predictions, secs);
    }
  }
  progress.end();
  backend->finish(stats);
  stats.times.read = reader.read_seconds();
  if (prefetch) stats.times.era_stages += prefetch->build_seconds();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace backscore
