#include "host/run/column_scorer.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "core/parallel_errors.hpp"
#include "core/stopwatch.hpp"
#include "host/run/run.hpp"

namespace backscore {

ColumnScorer::ColumnScorer(const RunOptions& options, const FormulaRouting& routing)
    : options_(options), routing_(routing), needs_(ContextNeeds::of(routing.builtins)) {
  const lang::Plan* plan = options.plan.get();
  scratch_.resize(static_cast<std::size_t>(omp_get_max_threads()));
  for (ThreadScratch& t : scratch_) {
    if (plan != nullptr) t.evaluator = std::make_unique<lang::ModelEvaluator>(*plan);
    t.builtin_scores.resize(routing.builtins.size());
    t.plan_in.resize(routing.plan_builtin.size());
    t.plan_out.resize(plan != nullptr ? plan->formulas.size() : 0);
  }
}

ColumnScorer::~ColumnScorer() = default;

SharedStages ColumnScorer::build_stages(const Era& era) const {
  SharedStages stages;
  if (!routing_.builtins.empty()) {
    stages.context = std::make_unique<EraContext>(era, std::span<const std::uint32_t>{}, needs_,
                                                  options_.target, options_.benchmark, nullptr,
                                                  fnc_factorizer_);
  }
  if (options_.plan != nullptr) {
    stages.plan =
        std::make_unique<lang::EraStages>(*options_.plan, era, std::span<const std::uint32_t>{});
  }
  return stages;
}

void ColumnScorer::begin_era(SharedStages stages) {
  full_ = std::move(stages.context);
  full_stages_ = std::move(stages.plan);
}

void ColumnScorer::score(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                         const GivenBuiltins& given, std::span<double> out, RunStats& stats) {
  const Era& era = *batch.era;
  const std::size_t outputs = routing_.outputs();
  std::size_t skipped = 0, subset = 0;
  std::vector<char> scored(batch.count, 1);
  neutralize_complete_columns(batch, slot, given);
  stats.times.fnc_inputs += fnc_input_seconds_;
  stats.times.fnc_products += fnc_product_seconds_;
  const std::size_t n = era.n_stocks();
  FirstError error;
  const auto columns_start = std::chrono::steady_clock::now();
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(batch.count);
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : skipped, subset)
  for (std::ptrdiff_t j = 0; j < count; ++j) {
    if (slot[j] < 0) continue;
    try {
      if (options_.seams.before_column) {
        options_.seams.before_column(batch.era_index, batch.first + static_cast<std::size_t>(j));
      }
      ThreadScratch& t = scratch_[static_cast<std::size_t>(omp_get_thread_num())];
      const std::size_t c = static_cast<std::size_t>(j);
      std::span<const double> builtins;
      if (given.has(c)) {
        builtins =
            given.scores.subspan(given.row[c] * routing_.builtins.size(), routing_.builtins.size());
      }
      std::optional<FncResidual> fnc;
      if (fnc_index_[c] != SIZE_MAX) {
        fnc.emplace(FncResidual{{fnc_residual_.data() + fnc_index_[c] * n, n},
                                fnc_defined_[fnc_index_[c]] != 0,
                                {fnc_order_.data() + fnc_index_[c] * n, n}});
      }
      switch (score_column(era, batch.column(c), builtins, given.has(c), fnc ? &*fnc : nullptr,
                           out.subspan(static_cast<std::size_t>(slot[j]) * outputs, outputs), t)) {
        case Outcome::scored:
          break;
        case Outcome::own_subset:
          ++subset;
          break;
        case Outcome::skipped:
          ++skipped;
          scored[c] = 0;
          break;
      }
    } catch (...) {
      error.capture(static_cast<std::size_t>(j));
    }
  }
  error.rethrow();
  stats.times.columns +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - columns_start).count();
  if (options_.plan != nullptr) {  // undefined scores of defined formulas, in model order
    for (std::size_t j = 0; j < batch.count; ++j) {
      if (slot[j] < 0 || !scored[j]) continue;
      const double* row = out.data() + static_cast<std::size_t>(slot[j]) * outputs;
      for (std::size_t f = 0; f < outputs; ++f) {
        stats.undefined[f] += routing_.from_plan[f] != SIZE_MAX && std::isnan(row[f]);
      }
    }
  }
  stats.skipped += skipped;
  stats.subset_models += subset;
  for (ThreadScratch& t : scratch_) {
    stats.fnc_fallbacks += t.fnc_fallbacks;
    t.fnc_fallbacks = 0;
    stats.times.ranks += t.model.rank_seconds;
    t.model.rank_seconds = 0;
  }
}

void ColumnScorer::neutralize_complete_columns(const Batch& batch,
                                               std::span<const std::ptrdiff_t> slot,
                                               const GivenBuiltins& given) {
  fnc_index_.assign(batch.count, SIZE_MAX);
  fnc_input_seconds_ = fnc_product_seconds_ = 0;
  if (full_ == nullptr || !full_->has_features()) return;
  const std::size_t n = batch.era->n_stocks();
  std::size_t k = 0;
  for (std::size_t j = 0; j < batch.count; ++j) {
    if (slot[j] < 0 || given.has(j)) continue;
    const float* src = batch.column(j);
    if (std::any_of(src, src + n, [](float v) { return std::isnan(v); })) continue;
    fnc_index_[j] = k++;
  }
  if (k == 0) return;
  fnc_input_.resize(k * n);
  fnc_residual_.resize(k * n);
  fnc_order_.resize(k * n);
  fnc_defined_.assign(k, 0);
  FirstError error;
  std::optional<ScopedSeconds> timer(std::in_place, fnc_input_seconds_);
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(batch.count);
#pragma omp parallel for schedule(dynamic, 4)
  for (std::ptrdiff_t j = 0; j < count; ++j) {
    const std::size_t c = static_cast<std::size_t>(j), at = fnc_index_[c];
    if (at == SIZE_MAX) continue;
    try {
      ThreadScratch& t = scratch_[static_cast<std::size_t>(omp_get_thread_num())];
      const float* src = batch.column(c);
      t.column.assign(src, src + n);
      fnc_defined_[at] =
          fnc_input(*full_, t.column, {fnc_input_.data() + at * n, n}, t.model) ? 1 : 0;
      std::copy_n(t.model.order.begin(), n, fnc_order_.begin() + static_cast<std::ptrdiff_t>(at * n));
    } catch (...) {
      error.capture(c);
    }
  }
  error.rethrow();
  // The residuals by matrix products, in fixed-width blocks of columns: each block is one
  // scoring thread's single-threaded BLAS calls (measured faster on 2 cores than one
  // multi-threaded call per block, see one_blas_thread_). A column's residual does not depend on
  // the block it falls in (LeastSquaresProjector::residuals), hence not on --batch or --threads.
  timer.emplace(fnc_product_seconds_);
  const LeastSquaresProjector& proj = full_->fnc_projector();
  constexpr std::size_t B = LeastSquaresProjector::kBlock;
  const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>((k + B - 1) / B);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t b = 0; b < blocks; ++b) {
    const std::size_t c0 = static_cast<std::size_t>(b) * B;
    try {
      proj.residuals(fnc_input_.data() + c0 * n, std::min(B, k - c0), 1.0,
                     fnc_residual_.data() + c0 * n);
    } catch (...) {
      error.capture(c0);
    }
  }
  error.rethrow();
}

ColumnScorer::Outcome ColumnScorer::score_column(const Era& era, const float* src,
                                                 std::span<const double> given, bool given_builtins,
                                                 const FncResidual* fnc, std::span<double> dst,
                                                 ThreadScratch& t) {
  const std::size_t n = era.n_stocks();
  const lang::Plan* plan = options_.plan.get();
  std::vector<double>& pred = t.column;
  std::vector<std::uint32_t>& present = t.rows;
  pred.clear();
  present.clear();
  // A column whose built-ins were scored elsewhere needs its values only for defined formulas.
  if (!given_builtins || plan != nullptr) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(src[i])) {
        pred.push_back(static_cast<double>(src[i]));
        present.push_back(static_cast<std::uint32_t>(i));
      }
    }
  }
  auto score = [&](const EraContext* ctx, const lang::EraStages* stages) {
    if (ctx != nullptr) {
      score_model(*ctx, pred, routing_.builtins, t.builtin_scores, t.model,
                  ctx == full_.get() ? fnc : nullptr);
    }
    if (stages != nullptr) {
      for (std::size_t i = 0; i < routing_.plan_builtin.size(); ++i) {
        t.plan_in[i] = t.builtin_scores[routing_.plan_builtin[i]];
      }
      t.evaluator->evaluate(*stages, pred, t.plan_in, t.plan_out);
    }
    for (std::size_t f = 0; f < dst.size(); ++f) {
      dst[f] = routing_.from_plan[f] != SIZE_MAX ? t.plan_out[routing_.from_plan[f]]
                                                 : t.builtin_scores[routing_.from_builtin[f]];
    }
  };
  if (given_builtins) {
    std::copy(given.begin(), given.end(), t.builtin_scores.begin());
    score(nullptr, full_stages_.get());
    return Outcome::scored;
  }
  if (present.size() == n) {
    score(full_.get(), full_stages_.get());
    return Outcome::scored;
  }
  if (n > 0 && enough_ids(present.size(), n)) {
    // numerai-tools re-ranks the meta-model and re-centers the target on the ids the model
    // submitted: this model gets the era's stages computed on its own subset (the plan's over=era
    // stages come from the whole era's).
    std::optional<EraContext> own;
    std::optional<lang::EraStages> own_stages;
    if (!routing_.builtins.empty()) {
      own.emplace(era, present, needs_, options_.target, options_.benchmark, full_.get());
      t.fnc_fallbacks += own->fnc_fallback() ? 1 : 0;
    }
    if (plan != nullptr) own_stages.emplace(*plan, era, present, full_stages_.get());
    score(own ? &*own : nullptr, own_stages ? &*own_stages : nullptr);
    return Outcome::own_subset;
  }
  return Outcome::skipped;
}

}  // namespace backscore
