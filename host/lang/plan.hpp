// The compiled form of a run's formula-language definitions: ONE plan for all of them, a DAG of
// nodes in topological order with common subexpressions merged (hash-consing), split into
//   - era stages: nodes that do not depend on the predictions (rank(meta_model), the QR of the
//     features, the centered target, ...), computed once per era and shared by every model;
//   - model stages: nodes that depend on `pred`, computed per model-era. Every vector stage works
//     on one model's column independently, so a backend may run each stage over a whole batch
//     of models (the CPU evaluator runs the model stages model by model in OpenMP threads; a CUDA
//     backend can run stage by stage over the batch's columns);
// and the scalar expressions that reduce them to one number per formula and (model, era).
// The plan is plain data; host/lang/eval.hpp evaluates it. Language: docs/FORMULAS.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/lang/parse.hpp"
#include "io/store.hpp"

namespace backscore::lang {

enum class Kind : std::uint8_t {
  scalar,     // one number per (model, era), or per era
  vector,     // one number per scored id (the model's ids); NaN = not in this vector's rows
  matrix,     // several columns over the ids (features)
  order,      // internal: a stable ascending order of a vector's present rows
  projector,  // internal: the least-squares factorization of neutralize's exposures
};

enum class Op : std::uint8_t {
  // leaves
  constant,
  pred,
  target,
  meta_model,
  benchmark,
  features,
  neutralizers,   // the store's neutralizers (a matrix, like features)
  sample_weight,  // the store's sample weights (a vector)
  builtin,
  input,  // a score read by name (Binding::scores_as_inputs: payout rules); index into inputs
  // vector stages
  sort,
  rank_average,
  rank_first,
  gaussian,
  power,
  center,
  neutralize,
  project,
  orthogonalize,
  span_product,  // M (M^T x): x's projection on orthonormal columns, no least squares
  top_bottom,
  // elementwise arithmetic (vector or scalar, by the node's kind)
  add,
  sub,
  mul,
  div,
  neg,
  pow,
  abs,
  sign,
  clip,
  min,
  max,
  // reductions of vectors to scalars
  pearson,
  cov,
  dot,
  mean,
  std,
  count,
  sum,
  min_of,
  max_of,
  // scalar logic
  cond,
  lt,
  le,
  gt,
  ge,
  eq,
  ne,
  logical_and,
  logical_or,
  logical_not,
};

// The plan's name of an operation ("qr" for project); from the operation table.
const char* op_name(Op op);

struct Node {
  Op op = Op::constant;
  Kind kind = Kind::scalar;
  std::vector<std::uint32_t> args;  // node indices, all smaller than this node's
  double value = 0;        // constant: the value; cov/std: ddof; project: rcond; top_bottom: n
  std::string name;        // leaves: the name as written (target_b, benchmark_lgbm); builtin: name
  std::size_t index = 0;   // target/benchmark: index in the store schema; builtin: into builtins
  bool bound = false;      // target/benchmark: index resolved against a store
  bool per_model = false;  // depends on pred (or on a built-in score): a model stage
  bool era_wide = false;  // over=era: computed on all the era's ids, then restricted to the model's
  // The plan formulas that need it (indices into Plan::formulas, ascending): the first
  // kListedUsers of them, and more_users when there are more (a node at the start of a chain
  // of 20,000 formulas does not list all 20,000).
  std::vector<std::uint32_t> users;
  bool more_users = false;
  // Evaluation hint: a gaussian(rank(x, ties=average)) node with a power(., 1.5) consumer: the
  // index of that power node (filled by the same table lookups), else -1.
  std::int64_t fused_pow15 = -1;
};

inline constexpr std::size_t kListedUsers = 16;

// One formula the run scores (a scalar definition asked for as an output).
struct PlanFormula {
  std::string name;
  // Its definition and those it uses, "a = ...; where b = ...", the latter cut at about 1,000
  // characters ("; where ..." then).
  std::string definition;
  std::uint32_t root = 0;
};

struct Plan {
  std::vector<Node> nodes;            // topological order
  std::vector<PlanFormula> formulas;  // outputs, in the requested order
  // Built-in formulas whose scores the definitions use (Op::builtin nodes index this); the
  // engine computes them with its compiled path and passes them in.
  std::vector<FormulaSpec> builtins;
  // Binding::scores_as_inputs: the score names the definitions read, in order of first use
  // (Op::input nodes index this); the caller supplies their values.
  std::vector<std::string> inputs;
  std::vector<std::uint32_t> era_schedule;    // era nodes the outputs need, in order
  std::vector<std::uint32_t> model_schedule;  // model nodes the outputs need, in order
  // Every definition compiled (name = text), for the journal's fingerprint and `explain`.
  std::vector<std::string> definitions;
  // What the era stages read.
  bool needs_meta_model = false, needs_features = false;
  bool needs_neutralizers = false, needs_sample_weights = false;

  // Human-readable plan: era stages, model stages (with the formulas sharing each), scalars.
  std::string describe() const;
  // The plan's identity for the resume journal: every definition, one a line.
  std::string fingerprint() const;
};

// How names that refer to the store resolve. Without a schema (explain with no store),
// target_<name> and benchmark_<name> are accepted unbound and the plan cannot be evaluated.
struct Binding {
  const StoreSchema* schema = nullptr;
  std::size_t target = 0;     // what `target` means: index into schema->targets (--target)
  std::size_t benchmark = 0;  // what `benchmark` means: index into schema->benchmarks
  // Scalar expressions over scores already computed (payout rules, host/lang/payout_rule.hpp):
  // every name that is not a definition or a per-stock variable of the language is a score
  // column (Op::input), built-in names included; per-stock variables are refused.
  bool scores_as_inputs = false;
};

// Compiles every definition (all are checked, used or not) and the outputs into one plan.
// `outputs` names scalar definitions; empty = every scalar definition, in order. Throws
// FormulaError (unknown name, wrong arity or argument kind, a cycle, a clash with a built-in or
// reserved name, a store that lacks what a definition reads) and OptionError ("formulas": an output
// that is not a scalar definition). Reads no data. Each function's and operator's rules: the
// operation table, host/lang/operations.hpp.
Plan compile(const std::vector<Definition>& definitions, const std::vector<std::string>& outputs,
             const Binding& binding);

// True when `name` is reserved (a variable or function of the language, or a built-in formula
// name, possibly with _tb<K>).
bool is_reserved_name(const std::string& name);

// The built-in formula a name refers to: corr, mmc, ... or <name>_tb<K> for those with a
// top/bottom variant.
std::optional<FormulaSpec> builtin_by_name(const std::string& name);

// The scalar operations, shared by constant folding and the evaluator so both give the same
// bits. Division by zero gives NaN; comparisons with NaN are false (0); a condition is true when
// it is neither 0 nor NaN.
double apply_scalar(Op op, const double* args, std::size_t n);

}  // namespace backscore::lang
