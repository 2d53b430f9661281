// mpc over the era's portfolio (see mpc_portfolio.hpp).
#include "host/run/mpc_portfolio.hpp"

#include <omp.h>

#include <cmath>

#include "core/parallel_errors.hpp"
#include "host/era/formulas_signals.hpp"

namespace backscore {

void MpcPortfolio::begin_era() {
  n_ = 0;
  weights_.clear();
  stakes_.clear();
  slots_.clear();
  power_failed_ = false;
}

void MpcPortfolio::add_batch(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                             const EraContext& ctx, std::span<ModelScratch> scratch) {
  const Era& era = *batch.era;
  const std::size_t n = era.n_stocks();
  n_ = n;
  if (n == 0 || batch.count == 0) return;
  std::vector<std::size_t> complete;
  for (std::size_t j = 0; j < batch.count; ++j) {
    const float* c = batch.column(j);
    if (std::none_of(c, c + n, [](float v) { return std::isnan(v); })) complete.push_back(j);
  }
  const std::size_t first = stakes_.size();
  weights_.resize((first + complete.size()) * n);
  std::vector<char> ok(complete.size(), 1);
  FirstError error;
  const std::ptrdiff_t count = static_cast<std::ptrdiff_t>(complete.size());
#pragma omp parallel for schedule(dynamic, 4)
  for (std::ptrdiff_t q = 0; q < count; ++q) {
    try {
      const std::size_t k = static_cast<std::size_t>(q);
      ModelScratch& s = scratch[static_cast<std::size_t>(omp_get_thread_num())];
      std::vector<double> pred(n);
      const float* c = batch.column(complete[k]);
      for (std::size_t i = 0; i < n; ++i) pred[i] = c[i];
      ok[k] = signals::portfolio_weights(ctx, pred, {weights_.data() + (first + k) * n, n}, s);
    } catch (...) {
      error.capture(static_cast<std::size_t>(q));
    }
  }
  error.rethrow();
  for (std::size_t k = 0; k < complete.size(); ++k) {
    const std::size_t j = complete[k];
    stakes_.push_back(era.stakes[batch.first + j]);
    slots_.push_back(slot[j]);
    power_failed_ = power_failed_ || !ok[k];
  }
}

void MpcPortfolio::finish_era(const EraContext& ctx, std::span<double> out) {
  std::vector<double> scores(stakes_.size(), std::nan(""));
  if (!power_failed_ && n_ > 0) {
    signals::mpc(weights_, n_, stakes_, ctx.target(), scores);
  }
  for (std::size_t j = 0; j < slots_.size(); ++j) {
    if (slots_[j] < 0) continue;
    for (const std::size_t c : columns_) {
      out[static_cast<std::size_t>(slots_[j]) * outputs_ + c] = scores[j];
    }
  }
  begin_era();
}

}  // namespace backscore
