// The built-in scoring formulas: their names and definitions, what each needs per era, and
// score_model, which evaluates a run's formulas for one model on one era. Definitions and
// sources of every formula: docs/FORMULAS.md. The reference for each is numerai-tools 0.7.2 (or
// the 2020 example-scripts for mmc2) called with that one model's column, ids sorted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/era/rank.hpp"

namespace backscore {

enum class Builtin {
  corr_v1,
  corr,
  mmc,
  bmc,
  mmc2,
  mmc2_burnflip,
  fnc,
  // numerai-tools 0.7.2's Signals-era formulas (formulas_signals.cpp) and a diagnostic.
  neutral_corr,
  neutral_mmc,
  alpha,
  mpc,  // per era over every complete model (host/run/mpc_portfolio.*): score_model gives NaN
  max_feature_corr,
};

// One formula of a run: a built-in, optionally restricted to the top and bottom `top_bottom`
// predictions (corr, mmc, bmc, fnc only; 0 = all rows), or a formula defined in the formula
// language (`--formula`, host/lang/), which the run's plan evaluates.
struct FormulaSpec {
  Builtin builtin = Builtin::corr_v1;
  int top_bottom = 0;
  // A defined formula: its name and its definition text (builtin and top_bottom unused).
  std::string defined_name = {};
  std::string defined_text = {};
  bool is_defined() const { return !defined_name.empty(); }
  std::string name() const;        // "corr", "mmc_tb200", or the defined name
  std::string definition() const;  // the built-in's definition, plus the top/bottom restriction
  bool operator==(const FormulaSpec&) const = default;
};

struct BuiltinInfo {
  Builtin builtin;
  const char* name;
  const char* definition;  // one line, for `backscore formulas`
  bool needs_meta_model, needs_benchmark, needs_features;
  bool has_top_bottom;
  bool needs_neutralizers = false, needs_sample_weights = false, needs_stakes = false;
  bool in_all = true;  // part of `--formulas all` when the store has what it needs
  bool on_gpu = true;  // the CUDA backend computes it (the others: the CPU, for every column)
};

// Every built-in, in a fixed order (the order of Builtin).
std::span<const BuiltinInfo> builtin_formulas();
const BuiltinInfo& builtin_info(Builtin b);
std::optional<Builtin> find_builtin(std::string_view name);

// numerai-tools' filter_sort_index rule (DEFAULT_MAX_FILTERED_INDEX_RATIO = 0.2): a model is
// scored on an era only when len(ids) / len(universe) >= 1 - 0.2, the same float expression.
bool enough_ids(std::size_t n_present, std::size_t n_universe);

// What the formulas of a run need prepared per era (EraContext builds only these).
struct ContextNeeds {
  bool meta_model = false;  // mmc, mmc2, mmc2_burnflip, neutral_mmc
  bool benchmark = false;   // bmc
  bool features = false;    // fnc: the projector onto [features, 1]
  bool gaussian = false;    // the ndtri table of the ranks (corr, mmc, bmc, fnc, the Signals ones)
  bool neutralizers = false;    // neutral_corr, neutral_mmc: the projector onto [neutralizers, 1]
  bool neutral_weights = false; // alpha, mpc: the neutralizers and sample weights on the rows
  bool feature_values = false;  // max_feature_corr: the features on the rows
  // Stages every context builds unless its caller knows it will not read them (simulate's
  // per-rule contexts, which score only the meta-model's formulas); `of` never sets these.
  bool skip_corr_target = false;  // corr_target() and its power check (corr, fnc)
  bool skip_mmc2 = false;         // meta_uniform(), meta_corr_v1(), mmc2_projector()
  static ContextNeeds of(std::span<const FormulaSpec> specs);  // defined formulas need nothing
};

class EraContext;

// Buffers score_model reuses from call to call; keep one per thread. After the first model of
// the largest era nothing is allocated.
class ModelScratch {
 public:
  void resize(std::size_t n);

  StableSorter sorter;
  std::vector<std::uint32_t> order;           // sort of the predictions
  std::vector<std::uint32_t> order2;          // sort of the feature-neutral predictions (fnc)
  std::vector<char> kept;                     // top/bottom membership per row
  std::vector<double> first;                  // tie-broken percentile ranks
  std::vector<double> gauss;                  // gaussianized tie-kept ranks
  std::vector<double> powered;                // gauss^1.5 (corr)
  std::vector<double> perp_meta, perp_bench;  // gauss orthogonalized to the meta-model/benchmark
  std::vector<double> resid;                  // mmc2 residual
  std::vector<double> neutral;                // fnc: gauss neutralized to the features, / std
  std::vector<double> neutral_gauss;          // fnc: its gaussianized tie-kept ranks ^1.5
  std::vector<double> signal_neutral;         // gauss neutralized to [neutralizers, 1]
  std::vector<double> signal_perp;            // and orthogonal to the neutral meta-model
  std::vector<std::uint32_t> order3;          // sort of signal_neutral (neutral_corr_tb)
  std::vector<double> weights;                // alpha: the neutralized weights
  std::vector<double> gather_a, gather_b;     // top/bottom rows in row order
  std::vector<double> work;                   // least-squares coefficients
  std::vector<std::uint64_t> keys;            // top/bottom selection of p_perp: sort keys
  std::vector<std::uint64_t> select;          // and the selection's candidates
  double rank_seconds = 0;  // time spent ranking (sorts, percentiles, gaussianization), summed
};

// fnc's least-squares step done for many models at once (ColumnScorer: the residuals of a
// batch's complete columns by matrix products, LeastSquaresProjector::residuals):
//   1. fnc_input(ctx, pred, g, scratch) writes the vector fnc neutralizes (the gaussianized
//      tie-kept ranks of pred, ctx.size() values; pred's stable order is left in scratch.order)
//      and returns false when it has zero std
//      (numerai-tools' neutralize then gives NaN, and fnc is NaN);
//   2. the caller computes residual = g - P g with ctx.fnc_projector();
//   3. score_model(..., &FncResidual{residual, ok}) finishes fnc from it (std, re-rank, power
//      check, Pearson) instead of projecting itself.
struct FncResidual {
  std::span<const double> residual;  // ctx.size() values
  bool defined = true;               // fnc_input's answer
  // The stable order of pred fnc_input sorted into scratch.order (ctx.size() values), reused by
  // score_model instead of sorting pred again; empty: score_model sorts.
  std::span<const std::uint32_t> order;
};
bool fnc_input(const EraContext& ctx, std::span<const double> pred, std::span<double> g,
               ModelScratch& scratch);

// Ranks of a model's column the caller already computed, on the same rows from the same values
// (`backscore simulate` ranks each column once for its meta-models and scores it against each):
// score_model takes them instead of ranking again. Each is ctx.size() values or empty (then
// computed when a formula needs it); gauss is taken only with powered, or when no formula asked
// needs the power.
struct GivenRanks {
  std::span<const std::uint32_t> order;  // the stable ascending order of pred
  std::span<const double> first;         // tie-broken percentile ranks
  std::span<const double> gauss;         // gaussianized tie-kept ranks
  std::span<const double> powered;       // signed gauss^1.5
};

// Scores one model on ctx's rows: pred holds ctx.size() finite values in row order (ids
// ascending). out[i] receives specs[i]'s score, NaN where numerai-tools returns NaN or raises
// (see docs/FORMULAS.md) and where ctx was built without what the formula needs, and for defined
// formulas (the plan evaluator scores those). fnc: the model's residual when given (see above),
// else projected here. ranks: the column's ranks when given (see GivenRanks), read in place; pred
// may then be empty if no formula asked needs the predictions themselves (a sort they do not
// give, max_feature_corr): std::logic_error otherwise.
// Reads ctx only, so one context serves any number of threads.
void score_model(const EraContext& ctx, std::span<const double> pred,
                 std::span<const FormulaSpec> specs, std::span<double> out, ModelScratch& scratch,
                 const FncResidual* fnc = nullptr, const GivenRanks* ranks = nullptr);

}  // namespace backscore
