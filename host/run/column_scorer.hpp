// ColumnScorer: the CPU's scoring of a batch's model columns, shared by both backends. Per era it
// builds the stages every model shares (EraContext for the built-ins, lang::EraStages for the
// plan's definitions) on all the era's ids; per batch it scores the columns on OpenMP threads, each
// with its own ThreadScratch:
//   - every id present: the shared stages;
//   - some ids missing but enough present (enough_ids): the model's own stages on its subset, as
//     numerai-tools re-ranks and re-centers on the ids a model submitted; its fnc projector is
//     derived from the era's factorization (EraContext's `full`), factorized afresh on the
//     subset only where that is not numerically safe (counted in RunStats::fnc_fallbacks);
//   - too many missing: no score (NaN), counted as skipped.
// fnc of the batch's complete columns (every id present, built-ins not given) is neutralized for
// all of them together: their fnc inputs are formed per column in parallel, projected by matrix
// products against the era's one factorization (LeastSquaresProjector::residuals), and each
// column's fnc then finishes from its residual. Models with missing ids project on their own.
// A backend that scored the built-ins of some columns elsewhere (the GPU) passes them in
// `given`; only the plan's definitions are then evaluated here for those columns.
// BLAS threads: one per call everywhere (the OpenMP threads give the parallelism); OpenBLAS's own
// pool would spin against them (host/era/blas.hpp, bench/RESULTS.md).
// Each column's scores depend only on that column and the era, so the output is the same bytes for
// any thread count. An exception inside the parallel loop is rethrown after it (FirstError).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "host/era/blas.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/lang/eval.hpp"
#include "host/run/batch_reader.hpp"
#include "host/run/formula_routing.hpp"
#include "host/run/mpc_portfolio.hpp"

namespace backscore {

struct RunOptions;
struct RunStats;

// Built-in scores of some of a batch's columns, computed elsewhere: column j's are
// scores[row[j] * builtins .. +builtins] when row[j] != SIZE_MAX.
struct GivenBuiltins {
  std::span<const std::size_t> row;
  std::span<const double> scores;
  bool has(std::size_t j) const { return !row.empty() && row[j] != SIZE_MAX; }
};

// An era's stages shared by every model: the built-ins' (null when the run has none) and the
// plan's era stages (null without a plan). Built by ColumnScorer::build_stages, on any thread.
struct SharedStages {
  std::unique_ptr<EraContext> context;
  std::unique_ptr<lang::EraStages> plan;
};

// The buffers one scoring thread reuses from column to column.
struct ThreadScratch {
  ModelScratch model;                               // score_model's
  std::unique_ptr<lang::ModelEvaluator> evaluator;  // the plan's (when there is one)
  std::vector<double> builtin_scores;               // the column's built-in scores
  std::vector<double> cpu_only_scores;              // those the GPU does not compute
  std::vector<double> plan_in, plan_out;            // the plan's inputs (built-ins) and outputs
  std::vector<double> column;                       // the column's present values, as double
  std::vector<std::uint32_t> rows;                  // and their rows
  std::size_t fnc_fallbacks = 0;  // subset models whose fnc projector was factorized afresh
};

class ColumnScorer {
 public:
  // options and routing must outlive the scorer.
  ColumnScorer(const RunOptions& options, const FormulaRouting& routing);
  ~ColumnScorer();

  // The era's shared stages on all its ids; thread-safe (called by StagePrefetch's workers).
  SharedStages build_stages(const Era& era) const;
  // Makes `stages` (built for `era` by build_stages) the current era's, dropping the previous
  // era's; the first form builds them here.
  void begin_era(const Era& era) { begin_era(build_stages(era)); }
  void begin_era(SharedStages stages);
  // How the era's fnc projector on all its ids is computed from the next begin_era on (empty:
  // LAPACK on the host). The cuda backend sets one that factorizes on the device.
  void set_fnc_factorizer(Factorizer factorizer) { fnc_factorizer_ = std::move(factorizer); }
  // The shared built-in stages of the current era (null when the run has no built-ins).
  const EraContext* full_context() const { return full_.get(); }

  // Scores the batch's columns j with slot[j] >= 0 into out[slot[j] * outputs ..], adding to
  // stats' skipped, subset_models, fnc_fallbacks and undefined counts and to its times (fnc
  // inputs and products, columns, ranks).
  void score(const Batch& batch, std::span<const std::ptrdiff_t> slot, const GivenBuiltins& given,
             std::span<double> out, RunStats& stats);
  // After the era's last batch: the scores computed over the whole era's models (mpc) into out,
  // the era's rows as score() filled them.
  void end_era(std::span<double> out);

 private:
  enum class Outcome { scored, own_subset, skipped };
  // given: the column's built-in scores when given_builtins (scored elsewhere). fnc: the
  // column's fnc residual from the batch's products (complete columns), else null.
  // A column with ids missing but enough present: its present values and rows, its own-subset
  // built-in stages, and its fnc residual when computed with the batch's others.
  struct SubsetColumn {
    std::vector<double> values;
    std::vector<std::uint32_t> rows;
    std::unique_ptr<EraContext> context;
    std::vector<double> fnc_input, fnc_residual;
    std::vector<std::uint32_t> order;  // the sort of values (fnc_input's)
    bool fnc_defined = false, fnc_batched = false;
  };
  // own: the column's own-subset stages built by prepare_subset_columns (null: none).
  Outcome score_column(const Era& era, const float* src, std::span<const double> given,
                       bool given_builtins, const FncResidual* fnc, SubsetColumn* own,
                       std::span<double> dst, ThreadScratch& t);
  // Forms fnc's inputs of the batch's complete columns and their residuals (fnc_index_,
  // fnc_input_, fnc_residual_, fnc_defined_).
  void neutralize_complete_columns(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                                   const GivenBuiltins& given);
  // Builds the own-subset stages of the batch's columns with some ids missing (subset_) and, for
  // those whose fnc projector is derived from the era's factorization, their fnc residuals
  // together (LeastSquaresProjector::derived_residuals).
  void prepare_subset_columns(const Batch& batch, std::span<const std::ptrdiff_t> slot,
                              const GivenBuiltins& given);

  // OpenBLAS at one thread while the scorer exists (the era's factorization, the batch's GEMMs,
  // the subset models'): its own pool's threads spin between calls and fight the OpenMP threads
  // for the cores (fnc at 500 features: 2.2 s this way, 15.5 s with multi-threaded calls;
  // bench/RESULTS.md), and its threaded results differ in the last bits.
  blas::ScopedThreads one_blas_thread_{1};
  const RunOptions& options_;
  const FormulaRouting& routing_;
  ContextNeeds needs_;
  // The run's built-ins the GPU does not compute (BuiltinInfo::on_gpu): for a column whose
  // built-ins are given, these are scored here (their indices in routing_.builtins, and specs).
  std::vector<std::size_t> cpu_only_;
  std::vector<FormulaSpec> cpu_only_specs_;
  Factorizer fnc_factorizer_;
  std::unique_ptr<EraContext> full_;              // the era's built-in stages on all its ids
  std::unique_ptr<lang::EraStages> full_stages_;  // the plan's era stages, likewise
  double fnc_input_seconds_ = 0, fnc_product_seconds_ = 0;  // of the last batch
  double subset_seconds_ = 0, subset_product_seconds_ = 0;  // likewise
  std::vector<ThreadScratch> scratch_;            // one per OpenMP thread
  // The batch's fnc step: column j's input and residual at fnc_index_[j] * n (SIZE_MAX: none).
  std::vector<std::size_t> fnc_index_;
  std::vector<double> fnc_input_, fnc_residual_;
  std::vector<std::uint32_t> fnc_order_;  // each column's sort (fnc_input's), for score_model
  std::vector<char> fnc_defined_;
  // The batch's columns with ids missing but enough present (null elsewhere).
  std::vector<std::unique_ptr<SubsetColumn>> subset_;
  // mpc's portfolio of the era (when mpc is asked for).
  std::unique_ptr<MpcPortfolio> mpc_;
  std::vector<ModelScratch> mpc_scratch_;  // one per OpenMP thread
};

}  // namespace backscore
