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
  for (std::size_t b = 0; b < routing.builtins.size(); ++b) {
    if (!builtin_info(routing.builtins[b].builtin).on_gpu) {
      cpu_only_.push_back(b);
      cpu_only_specs_.push_back(routing.builtins[b]);
    }
  }
  std::vector<std::size_t> mpc_columns;
  for (std::size_t f = 0; f < routing.outputs(); ++f) {
    const std::size_t b = routing.from_builtin[f];
    if (b != SIZE_MAX && routing.builtins[b].builtin == Builtin::mpc) mpc_columns.push_back(f);
  }
  if (!mpc_columns.empty()) {
    mpc_ = std::make_unique<MpcPortfolio>(std::move(mpc_columns), routing.outputs());
    mpc_scratch_.resize(scratch_.size());
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
  if (mpc_) mpc_->begin_era();
}

void ColumnScorer::end_era(std::span<double> out) {
  if (mpc_ && full_) mpc_->finish_era(*full_, out);
}

void ColumnScorer::score(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                         const GivenBuiltins& given, std::span<double> out, RunStats& stats) {
  const Era& era = *batch.era;
  const std::size_t outputs = routing_.outputs();
  std::size_t skipped = 0, subset = 0;
  std::vector<char> scored(batch.count, 1);
  neutralize_complete_columns(batch, slot, given);
  prepare_subset_columns(batch, slot, given);
  stats.times.fnc_inputs += fnc_input_seconds_;
  stats.times.fnc_products += fnc_product_seconds_;
  stats.times.subset_stages += subset_seconds_;
  stats.times.subset_products += subset_product_seconds_;
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
      SubsetColumn* own = subset_[c].get();
      if (own != nullptr && own->fnc_batched) {
        fnc.emplace(FncResidual{own->fnc_residual, own->fnc_defined, own->order});
      }
      switch (score_column(era, batch.column(c), builtins, given.has(c), fnc ? &*fnc : nullptr,
                           own, out.subspan(static_cast<std::size_t>(slot[j]) * outputs, outputs),
                           t)) {
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
  subset_.clear();
  if (mpc_ && full_ && n > 0) mpc_->add_batch(batch, slot, *full_, mpc_scratch_);
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

ColumnScorer::Outcome ColumnScorer::score_column(const Era& era, const float* src,
                                                 std::span<const double> given, bool given_builtins,
                                                 const FncResidual* fnc, SubsetColumn* prepared,
                                                 std::span<double> dst, ThreadScratch& t) {
  const std::size_t n = era.n_stocks();
  const lang::Plan* plan = options_.plan.get();
  std::vector<double>& pred = t.column;
  std::vector<std::uint32_t>& present = t.rows;
  pred.clear();
  present.clear();
  // A column whose built-ins were scored elsewhere needs its values only for defined formulas
  // and the built-ins the GPU does not compute.
  if (!given_builtins || plan != nullptr || !cpu_only_.empty()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(src[i])) {
        pred.push_back(static_cast<double>(src[i]));
        present.push_back(static_cast<std::uint32_t>(i));
      }
    }
  }
  auto score = [&](const EraContext* ctx, const lang::EraStages* stages) {
    if (ctx != nullptr) {
      score_model(*ctx, pred, routing_.builtins, t.builtin_scores, t.model, fnc);
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
    if (!cpu_only_.empty() && full_) {  // every id present: the era's stages
      t.cpu_only_scores.resize(cpu_only_.size());
      score_model(*full_, pred, cpu_only_specs_, t.cpu_only_scores, t.model);
      for (std::size_t i = 0; i < cpu_only_.size(); ++i) {
        t.builtin_scores[cpu_only_[i]] = t.cpu_only_scores[i];
      }
    }
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
    // prepare_subset_columns built the column's own built-in stages (counting a fallback there).
    std::optional<lang::EraStages> own_stages;
    if (plan != nullptr) own_stages.emplace(*plan, era, present, full_stages_.get());
    score(prepared != nullptr ? prepared->context.get() : nullptr,
          own_stages ? &*own_stages : nullptr);
    return Outcome::own_subset;
  }
  return Outcome::skipped;
}

}  // namespace backscore
