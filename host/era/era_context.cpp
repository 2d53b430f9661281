// The per-era stages shared by every model (see era_context.hpp).
#include "host/era/era_context.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/hd/elementwise.hpp"
#include "core/stopwatch.hpp"
#include "host/era/formula_parts.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"

namespace backscore {
EraContext::EraContext(const Era& era, std::span<const std::uint32_t> rows, ContextNeeds needs,
                       std::size_t target_index, std::size_t benchmark_index,
                       const EraContext* full, const Factorizer& fnc_factorizer,
                       std::shared_ptr<const GaussianTable> table)
    : needs_(needs), universe_(era.n_stocks()) {
  const std::size_t N = universe_;
  n_ = rows.empty() ? N : rows.size();
  for (std::uint32_t r : rows) {
    if (r >= N) throw std::invalid_argument("EraContext: row index out of range");
  }
  if (N > 0 && (target_index + 1) * N > era.targets.size()) {
    throw std::invalid_argument("EraContext: era " + era.name + " has no target " +
                                std::to_string(target_index));
  }
  auto row = [&](std::size_t i) -> std::size_t { return rows.empty() ? i : rows[i]; };
  auto take = [&](std::span<const double> all, std::vector<double>& out) {
    out.resize(n_);
    for (std::size_t i = 0; i < n_; ++i) out[i] = all[row(i)];
  };
  const std::size_t n = n_;
  if (table != nullptr && table->size() == n) {
    gauss_table_ = std::move(table);
  } else {
    gauss_table_ = std::make_shared<const GaussianTable>(
        needs.gaussian || needs.benchmark ? GaussianTable::of(n) : GaussianTable{});
  }

  // Targets. numerai_corr centers over everything it is given (the whole era) before filtering
  // to the model's ids; correlation_contribution filters first and centers on the ids.
  const std::span<const double> full_target =
      N > 0 ? era.target(target_index) : std::span<const double>{};
  take(full_target, target_);
  const double era_mean = mean(full_target);
  std::vector<double> centered(n);
  for (std::size_t i = 0; i < n; ++i) centered[i] = full_target[row(i)] - era_mean;
  if (!needs.skip_corr_target) {
    corr_target_.resize(n);
    for (std::size_t i = 0; i < n; ++i) corr_target_[i] = signed_pow(centered[i], 1.5);
    corr_target_ok_ = formula_parts::power_ok(corr_target_, centered);
  }
  if (needs.neutral_weights) era_centered_target_ = centered;
  const bool unit =
      std::all_of(target_.begin(), target_.end(), [](double t) { return t >= 0 && t <= 1; });
  mmc_target_ = target_;
  if (unit) {
    for (double& t : mmc_target_) t = t * 4;
  }
  const double mmc_mean = mean(mmc_target_);
  for (double& t : mmc_target_) t = t - mmc_mean;

  StableSorter sorter;
  std::vector<std::uint32_t> order(n);
  if (needs.meta_model) {
    if (era.meta_model.size() != N) {
      throw std::invalid_argument("EraContext: era " + era.name + " has no meta-model");
    }
    take(era.meta_model, meta_raw_);
    sorter.sort(meta_raw_, order);
    if (needs.gaussian) {  // mmc
      meta_gauss_.resize(n);
      tie_kept_gaussian(meta_raw_, order, gauss_table_.get(), meta_gauss_);
      meta_norm2_ = dot(meta_gauss_, meta_gauss_);
    }
    if (!needs.skip_mmc2) {
      meta_first_.resize(n);
      tie_broken_percentiles(order, meta_first_);
      meta_corr_v1_ = pearson(target_, meta_first_);
      // example-scripts' neutralize_series: exposures [by, mean(series)]. The constant's value
      // (the mean of uniform ranks, 0.5 up to rounding) does not change the spanned space.
      std::vector<double> exposures(2 * n, 0.5);
      std::copy(meta_first_.begin(), meta_first_.end(), exposures.begin());
      ScopedSeconds timer(factorization_seconds_);
      mmc2_proj_ = LeastSquaresProjector(exposures, n, 2, formula_parts::mmc2_rcond(n));
    }
  }
  if (needs.benchmark) {
    if (N > 0 && (benchmark_index + 1) * N > era.benchmarks.size()) {
      throw std::invalid_argument("EraContext: era " + era.name + " has no benchmark " +
                                  std::to_string(benchmark_index));
    }
    std::vector<double> raw;
    take(N > 0 ? era.benchmark(benchmark_index) : std::span<const double>{}, raw);
    sorter.sort(raw, order);
    bench_gauss_.resize(n);
    tie_kept_gaussian(raw, order, gauss_table_.get(), bench_gauss_);
    bench_norm2_ = dot(bench_gauss_, bench_gauss_);
  }
  if (needs.neutralizers || needs.neutral_weights) {
    const std::size_t k = N > 0 ? era.neutralizers.size() / N : 0;
    if (N > 0 && k == 0) {
      throw std::invalid_argument("EraContext: era " + era.name + " has no neutralizers");
    }
    // [neutralizers, 1] on the rows: the projector's columns (the ones last, as numerai-tools'
    // neutralize appends them) and alpha's N.
    std::vector<double> exposures((k + 1) * n, 1.0);
    for (std::size_t c = 0; c < k; ++c) {
      const std::span<const double> col = era.neutralizer(c);
      for (std::size_t i = 0; i < n; ++i) exposures[c * n + i] = col[row(i)];
    }
    if (needs.neutral_weights) {
      if (era.sample_weights.size() != N) {
        throw std::invalid_argument("EraContext: era " + era.name + " has no sample weights");
      }
      neutralizer_rows_.assign(exposures.begin(),
                               exposures.begin() + static_cast<std::ptrdiff_t>(k * n));
      take(era.sample_weights, weight_rows_);
    }
    if (needs.neutralizers) {
      ScopedSeconds timer(factorization_seconds_);
      neutral_proj_ = LeastSquaresProjector(exposures, n, k + 1, formula_parts::kFncRcond);
      if (!meta_gauss_.empty() && !zero_std(meta_gauss_)) {
        meta_neutral_.resize(n);
        neutral_proj_.residual(meta_gauss_.data(), 1.0, meta_neutral_.data());
        meta_neutral_norm2_ = dot(meta_neutral_, meta_neutral_);
      }
    }
  }
  if (needs.feature_values && full != nullptr && !rows.empty() && full->has_feature_values() &&
      full->size() == N) {
    // A subset reads the whole era's (centered) features at its rows: nothing copied.
    feature_source_ = full;
    feature_row_index_.assign(rows.begin(), rows.end());
  } else if (needs.feature_values) {
    // Centered on the rows, with their norms: max_feature_corr's Pearsons are then one matrix-
    // vector product per model.
    const std::size_t k = N > 0 ? era.features.size() / N : 0;
    feature_rows_.resize(k * n);
    feature_norms_.resize(k);
    for (std::size_t f = 0; f < k; ++f) {
      const std::span<const double> col = era.feature(f);
      double* out = feature_rows_.data() + f * n;
      for (std::size_t i = 0; i < n; ++i) out[i] = col[row(i)];
      const double mu = mean({out, n});
      for (std::size_t i = 0; i < n; ++i) out[i] -= mu;
      feature_norms_[f] = std::sqrt(dot({out, n}, {out, n}));
    }
  }
  if (needs.features) {
    // numerai-tools' neutralize: lstsq([features, 1], x, rcond=1e-6). A subset's projector is
    // derived from the whole era's factorization when that is safe (else factorized here).
    ScopedSeconds timer(factorization_seconds_);
    std::optional<LeastSquaresProjector> derived;
    // Tried only where it pays: with more missing rows than kept columns (m > r) a fresh
    // factorization costs no more, so that is not a fallback.
    if (full != nullptr && !rows.empty() && full->has_features() && full->size() == N &&
        N - rows.size() <= full->fnc_projector().rank()) {
      derived = LeastSquaresProjector::derive_subset(full->fnc_projector(), rows);
      fnc_fallback_ = !derived;
    }
    if (derived) {
      fnc_proj_ = std::move(*derived);
    } else {
      const std::size_t k = N > 0 ? era.features.size() / N : 0;
      std::vector<double> exposures((k + 1) * n, 1.0);
      for (std::size_t f = 0; f < k; ++f) {
        const std::span<const double> col = era.feature(f);
        for (std::size_t i = 0; i < n; ++i) exposures[f * n + i] = col[row(i)];
      }
      fnc_proj_ = rows.empty() && fnc_factorizer
                      ? fnc_factorizer(exposures, n, k + 1, formula_parts::kFncRcond)
                      : LeastSquaresProjector(exposures, n, k + 1, formula_parts::kFncRcond);
    }
  }
}

}  // namespace backscore
