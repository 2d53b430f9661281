// The model-independent stages of one era, computed once and shared read-only by every model
// scored on it: the target variants of each formula, the meta-model's and the benchmark's ranks,
// and the least-squares factorizations of the mmc2 exposures and of the features. A context is
// built either on all the era's rows or on the subset of rows one model submitted, since
// numerai-tools re-ranks the meta-model and re-centers mmc's target on the ids it scores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/era/least_squares.hpp"
#include "host/era/rank.hpp"
#include "io/store.hpp"

namespace backscore {

class EraContext {
 public:
  // rows: ascending, unique row indices into the era (empty = every row). target_index indexes
  // era.target(); benchmark_index era.benchmark(), used only when needs.benchmark. Throws
  // std::invalid_argument when `needs` asks for something the era lacks (no meta-model, no such
  // target or benchmark) or a row index is out of range.
  // full: the same era's context on all its rows (same needs), or null. With it, a subset's fnc
  // projector is derived from full's factorization (LeastSquaresProjector::derive_subset) where
  // that pays (no more missing rows than kept columns) and is numerically safe; where it pays but
  // is not safe it is factorized afresh on the subset (fnc_fallback()); full must then outlive
  // this context.
  // fnc_factorizer: computes the fnc projector of a context on all the era's rows (a subset's
  // fresh factorization stays LAPACK's); empty = LAPACK's.
  // table: GaussianTable::of(size()) computed once for several contexts of the same size
  // (simulate's per-rule contexts of one model), or null: the context computes its own.
  EraContext(const Era& era, std::span<const std::uint32_t> rows, ContextNeeds needs,
             std::size_t target_index, std::size_t benchmark_index,
             const EraContext* full = nullptr, const Factorizer& fnc_factorizer = {},
             std::shared_ptr<const GaussianTable> table = nullptr);

  std::size_t size() const { return n_; }                  // rows scored
  std::size_t universe_size() const { return universe_; }  // rows of the era
  const ContextNeeds& needs() const { return needs_; }

  // ndtri(percentile(r, size())) and its ^1.5 for r = 1..size(); empty unless needs.gaussian,
  // meta_model or benchmark (the rankers then compute ndtri themselves, with the same result).
  const GaussianTable& gaussian_table() const { return *gauss_table_; }

  // The raw target on the rows (corr_v1, mmc2).
  std::span<const double> target() const { return target_; }
  // numerai_corr's target: centered over ALL the era's rows, then on the rows, signed ^1.5.
  std::span<const double> corr_target() const { return corr_target_; }
  // numerai-tools' power() assertion on that target (std == 0 or corr(t^1.5, t) >= 0.9); when it
  // fails numerai_corr raises, and corr and fnc are NaN.
  bool corr_target_ok() const { return corr_target_ok_; }
  // correlation_contribution's target on the rows: x4 when every value is in [0, 1], centered.
  std::span<const double> mmc_target() const { return mmc_target_; }

  // Meta-model stages (needs.meta_model).
  bool has_meta_model() const { return needs_.meta_model; }
  std::span<const double> meta_model() const { return meta_raw_; }
  // Tie-kept ranks gaussianized (also needs.gaussian, else empty).
  std::span<const double> meta_gaussian() const { return meta_gauss_; }
  double meta_norm2() const { return meta_norm2_; }                     // m . m
  std::span<const double> meta_uniform() const { return meta_first_; }  // tie-broken pct
  double meta_corr_v1() const { return meta_corr_v1_; }                 // corr_v1 of the meta-model
  // Projector onto span{uniform meta-model, constant} (mmc2, lstsq rcond=None).
  const LeastSquaresProjector& mmc2_projector() const { return mmc2_proj_; }

  // Benchmark stages (needs.benchmark).
  bool has_benchmark() const { return needs_.benchmark; }
  std::span<const double> benchmark_gaussian() const { return bench_gauss_; }
  double benchmark_norm2() const { return bench_norm2_; }

  // Projector onto span{features, 1} (fnc, lstsq rcond=1e-6) (needs.features).
  bool has_features() const { return needs_.features; }
  const LeastSquaresProjector& fnc_projector() const { return fnc_proj_; }
  // A subset context given `full` whose fnc projector could not be derived from full's (see
  // LeastSquaresProjector::derive_subset) and was factorized afresh.
  bool fnc_fallback() const { return fnc_fallback_; }
  // Neutralizer stages (numerai-tools 0.7.2's Signals formulas; formulas_signals.cpp).
  // Projector onto span{neutralizers, 1} (neutralize(), lstsq rcond=1e-6) (needs.neutralizers).
  bool has_neutralizers() const { return needs_.neutralizers; }
  const LeastSquaresProjector& neutralizer_projector() const { return neutral_proj_; }
  // neutral_mmc's meta-model: its gaussianized tie-kept ranks neutralized (needs.neutralizers,
  // meta_model and gaussian); empty when that is NaN (a constant meta-model: neutralize() gives
  // NaN for a zero-std column).
  std::span<const double> meta_neutral() const { return meta_neutral_; }
  double meta_neutral_norm2() const { return meta_neutral_norm2_; }
  // alpha's and mpc's inputs (needs.neutral_weights): the neutralizers (K x size(), row k at
  // [k * size()]) and the sample weights on the rows, and the target centered over ALL the era's
  // rows (alpha centers before it filters) then taken on the rows.
  bool has_neutral_weights() const { return needs_.neutral_weights; }
  std::span<const double> neutralizers() const { return neutralizer_rows_; }
  std::size_t neutralizer_count() const { return n_ > 0 ? neutralizer_rows_.size() / n_ : 0; }
  std::span<const double> sample_weights() const { return weight_rows_; }
  std::span<const double> era_centered_target() const { return era_centered_target_; }
  // max_feature_corr's features (needs.feature_values). A context on all the era's rows holds
  // them, F x size(), each centered over the rows, with their Euclidean norms (0: constant). A
  // subset's context given `full` holds none (F x n doubles per model with missing ids would be
  // 95 MB at Numerai's size): it reads full's at its rows (feature_rows()).
  bool has_feature_values() const { return needs_.feature_values; }
  std::span<const double> feature_values() const { return feature_rows_; }
  std::span<const double> feature_norms() const { return feature_norms_; }
  std::size_t feature_count() const {
    return feature_source_ != nullptr ? feature_source_->feature_count() : feature_norms_.size();
  }
  // Where the subset reads them: full's context (null when this context holds its own), and
  // the row of full's that each of this context's rows is.
  const EraContext* feature_source() const { return feature_source_; }
  std::span<const std::uint32_t> feature_rows() const { return feature_row_index_; }

  // Seconds the constructor spent in least-squares factorizations (fnc's and mmc2's projectors).
  double factorization_seconds() const { return factorization_seconds_; }

 private:
  ContextNeeds needs_;
  std::size_t n_ = 0, universe_ = 0;
  std::shared_ptr<const GaussianTable> gauss_table_;  // never null (empty when not needed)
  std::vector<double> target_, corr_target_, mmc_target_;
  bool corr_target_ok_ = true;
  std::vector<double> meta_raw_, meta_gauss_, meta_first_;
  double meta_norm2_ = 0, meta_corr_v1_ = 0;
  LeastSquaresProjector mmc2_proj_;
  std::vector<double> bench_gauss_;
  double bench_norm2_ = 0;
  LeastSquaresProjector fnc_proj_;
  bool fnc_fallback_ = false;
  LeastSquaresProjector neutral_proj_;
  std::vector<double> meta_neutral_;
  double meta_neutral_norm2_ = 0;
  std::vector<double> neutralizer_rows_, weight_rows_, era_centered_target_, feature_rows_;
  std::vector<double> feature_norms_;
  const EraContext* feature_source_ = nullptr;
  std::vector<std::uint32_t> feature_row_index_;
  double factorization_seconds_ = 0;
};

}  // namespace backscore
