// The batch steps of fnc's least squares (see column_scorer.hpp): the residuals of many columns
// by matrix products against the era's one factorization.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "core/parallel_errors.hpp"
#include "core/stopwatch.hpp"
#include "host/run/column_scorer.hpp"
#include "host/run/run.hpp"

namespace backscore {

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

void ColumnScorer::prepare_subset_columns(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                                          const GivenBuiltins& given) {
  subset_.clear();
  subset_.resize(batch.count);
  subset_seconds_ = subset_product_seconds_ = 0;
  if (routing_.builtins.empty() || full_ == nullptr) return;
  const Era& era = *batch.era;
  const std::size_t n = era.n_stocks();
  if (n == 0) return;
  FirstError error;
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(batch.count);
  std::optional<ScopedSeconds> timer(std::in_place, subset_seconds_);
  // Each column's own stages (re-ranked meta-model, re-centered targets, the fnc projector
  // derived from the era's factorization) and its fnc input.
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t j = 0; j < count; ++j) {
    const std::size_t c = static_cast<std::size_t>(j);
    if (slot[j] < 0 || given.has(c) || fnc_index_[c] != SIZE_MAX) continue;
    try {
      const float* src = batch.column(c);
      const auto present = static_cast<std::size_t>(
          std::count_if(src, src + n, [](float v) { return !std::isnan(v); }));
      if (present == n || !enough_ids(present, n)) continue;
      auto s = std::make_unique<SubsetColumn>();
      s->values.reserve(present);
      s->rows.reserve(present);
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isnan(src[i])) {
          s->values.push_back(static_cast<double>(src[i]));
          s->rows.push_back(static_cast<std::uint32_t>(i));
        }
      }
      ThreadScratch& t = scratch_[static_cast<std::size_t>(omp_get_thread_num())];
      s->context = std::make_unique<EraContext>(era, s->rows, needs_, options_.target,
                                                options_.benchmark, full_.get());
      t.fnc_fallbacks += s->context->fnc_fallback() ? 1 : 0;
      if (s->context->has_features() && s->context->fnc_projector().derived()) {
        const std::size_t m = s->rows.size();
        s->fnc_input.resize(m);
        s->fnc_residual.resize(m);
        s->fnc_defined = fnc_input(*s->context, s->values, s->fnc_input, t.model);
        s->order.assign(t.model.order.begin(), t.model.order.begin() + static_cast<std::ptrdiff_t>(m));
        s->fnc_batched = true;
      }
      subset_[c] = std::move(s);
    } catch (...) {
      error.capture(c);
    }
  }
  error.rethrow();
  // Their residuals together, in fixed-width blocks (a column's result does not depend on its
  // block), one block per thread.
  timer.emplace(subset_product_seconds_);
  std::vector<const LeastSquaresProjector*> projs;
  std::vector<const double*> in;
  std::vector<double*> res;
  std::vector<std::size_t> column;
  for (std::size_t c = 0; c < batch.count; ++c) {
    SubsetColumn* s = subset_[c].get();
    if (s == nullptr || !s->fnc_batched || !s->fnc_defined) continue;
    projs.push_back(&s->context->fnc_projector());
    in.push_back(s->fnc_input.data());
    res.push_back(s->fnc_residual.data());
    column.push_back(c);
  }
  constexpr std::size_t B = LeastSquaresProjector::kBlock;
  const std::size_t k = projs.size();
  const std::ptrdiff_t blocks = static_cast<std::ptrdiff_t>((k + B - 1) / B);
#pragma omp parallel for schedule(dynamic, 1)
  for (std::ptrdiff_t b = 0; b < blocks; ++b) {
    const std::size_t c0 = static_cast<std::size_t>(b) * B, w = std::min(B, k - c0);
    try {
      LeastSquaresProjector::derived_residuals({projs.data() + c0, w}, {in.data() + c0, w}, 1.0,
                                               {res.data() + c0, w});
    } catch (...) {
      error.capture(column[c0]);
    }
  }
  error.rethrow();
}

}  // namespace backscore
