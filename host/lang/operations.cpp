// The operation table (see operations.hpp): one row per Op, in Op order, and the function that
// compiles each function and operator of the language.
#include "host/lang/operations.hpp"

#include <cctype>
#include <cmath>
#include <string_view>

#include "host/lang/compiler.hpp"

namespace backscore::lang {
namespace {

// ---- compiling calls and operators (OpInfo::build); the arity and keywords are checked ----

// f(x): a vector in, the row's kind out (gaussian, count).
Compiled on_vector(CallSite& c) { return c.op(c.info().op, c.info().kind, {c.vec(0).node}); }

// f(x, y): two vectors (pearson, dot).
Compiled on_two_vectors(CallSite& c) {
  const Compiled x = c.vec(0), y = c.vec(1);
  return c.op(c.info().op, c.info().kind, {x.node, y.node});
}

// f(x, over=ids|era): center, mean, sum.
Compiled on_vector_over(CallSite& c) {
  const Compiled x = c.vec(0);
  const bool wide = c.over_era(x);
  return c.op(c.info().op, c.info().kind, {x.node}, 0, wide);
}

// f(a, b, ...): scalars in, a scalar out (if; min and max of several).
Compiled on_scalars(CallSite& c) {
  std::vector<std::uint32_t> args;
  for (std::size_t i = 0; i < c.size(); ++i) args.push_back(c.scal(i).node);
  return c.op(c.info().op, Kind::scalar, std::move(args));
}

// f(x, scalars...): x a vector or a scalar, and so is the result (abs, sign, clip).
Compiled on_data_and_scalars(CallSite& c) {
  const Compiled x = c.arg(0);
  std::vector<std::uint32_t> args{x.node};
  for (std::size_t i = 1; i < c.size(); ++i) args.push_back(c.scal(i).node);
  c.need_data(x, c.arg_column(0), c.arg_name(0));
  return c.op(c.info().op, x.kind, std::move(args));
}

Compiled rank(CallSite& c) {
  const Compiled x = c.vec(0);
  const std::string ties = c.choice("ties", {"average", "first"}, "average");
  const Compiled order = c.op(Op::sort, Kind::order, {x.node});
  if (ties == "first") return c.op(Op::rank_first, Kind::vector, {order.node});
  return c.op(Op::rank_average, Kind::vector, {x.node, order.node});
}

Compiled power(CallSite& c) {
  const Compiled x = c.vec(0), p = c.scal(1);
  return c.op(Op::power, Kind::vector, {x.node, p.node});
}

Compiled neutralize(CallSite& c) {
  const Compiled x = c.vec(0);
  std::vector<std::uint32_t> by;
  for (std::size_t i = 1; i < c.size(); ++i) {
    const Compiled e = c.arg(i);
    if (e.kind != Kind::vector && e.kind != Kind::matrix) {
      c.fail(c.arg_column(i),
             c.arg_name(i) + " needs a vector or features, got " + kind_name(e.kind));
    }
    by.push_back(e.node);
  }
  const double rcond = c.number("rcond", 1e-6);
  if (!(rcond >= 0)) c.fail(c.kwarg("rcond")->column, "neutralize(): rcond must be >= 0");
  std::uint32_t proportion = c.constant(1.0);
  if (const Kwarg* k = c.kwarg("proportion")) {
    const Compiled p = c.keyword(*k);
    c.need_scalar(p, k->value[0].column, "neutralize(): proportion");
    proportion = p.node;
  }
  const Compiled proj = c.op(Op::project, Kind::projector, by, rcond);
  return c.op(Op::neutralize, Kind::vector, {x.node, proj.node, proportion});
}

Compiled orthogonalize(CallSite& c) {
  const Compiled x = c.vec(0), y = c.vec(1);
  // y . y is a stage of its own: computed once per era when y does not depend on pred.
  const Compiled yy = c.op(Op::dot, Kind::scalar, {y.node, y.node});
  return c.op(Op::orthogonalize, Kind::vector, {x.node, y.node, yy.node});
}

// span_product(x, M) = M (M^T x): numerai-tools' generate_neutralized_weights subtracts it
// (alpha, mpc), taking M orthonormal (under the sample weights x carries).
Compiled span_product(CallSite& c) {
  const Compiled x = c.vec(0), m = c.arg(1);
  if (m.kind != Kind::matrix) {
    c.fail(c.arg_column(1), c.arg_name(1) + " needs a matrix (features or neutralizers), got " +
                                kind_name(m.kind));
  }
  return c.op(Op::span_product, Kind::vector, {x.node, m.node});
}

Compiled top_bottom(CallSite& c) {
  const Compiled x = c.vec(0), n = c.scal(1);
  const Node& nn = c.node(n.node);
  if (nn.op != Op::constant || !(nn.value >= 1) || nn.value != std::floor(nn.value) ||
      nn.value > 1e9) {
    c.fail(c.arg_column(1), "top_bottom(): n must be a constant whole number >= 1");
  }
  return c.op(Op::top_bottom, Kind::vector, {x.node}, nn.value);
}

// The ddof keyword of cov and std: a whole number >= 0.
double ddof(CallSite& c, double dflt) {
  const double v = c.number("ddof", dflt);
  if (v < 0 || v != std::floor(v)) {
    c.fail(c.kwarg("ddof")->column, c.word() + "(): ddof must be a whole number >= 0");
  }
  return v;
}

Compiled cov(CallSite& c) {
  const Compiled x = c.vec(0), y = c.vec(1);
  const double d = ddof(c, 1);
  return c.op(Op::cov, Kind::scalar, {x.node, y.node}, d);
}

Compiled std_dev(CallSite& c) {
  const Compiled x = c.vec(0);
  const double d = ddof(c, 0);
  const bool wide = c.over_era(x);
  return c.op(Op::std, Kind::scalar, {x.node}, d, wide);
}

// min(x) / max(x) of a vector's values, or min(a, b, ...) / max(a, b, ...) of scalars.
Compiled min_max(CallSite& c) {
  if (c.size() == 1) {
    const Compiled x = c.arg(0);
    if (x.kind == Kind::vector) {
      return c.op(c.info().op == Op::min ? Op::min_of : Op::max_of, Kind::scalar, {x.node});
    }
    c.fail(c.column(), c.word() +
                           "() of one argument needs a vector (its smallest/largest value), got " +
                           kind_name(x.kind));
  }
  return on_scalars(c);
}

// a + b, a - b, a * b, a / b: vectors or scalars; a vector if one is.
Compiled arithmetic(CallSite& c) {
  const Compiled a = c.arg(0), b = c.arg(1);
  const std::string what = "'" + c.word() + "'";
  c.need_data(a, c.arg_column(0), what);
  c.need_data(b, c.arg_column(1), what);
  const Kind k = a.kind == Kind::vector || b.kind == Kind::vector ? Kind::vector : Kind::scalar;
  return c.op(c.info().op, k, {a.node, b.node});
}

// a < b, ..., a and b: scalars.
Compiled logic(CallSite& c) {
  const Compiled a = c.arg(0), b = c.arg(1);
  const std::string what = "'" + c.word() + "'";
  c.need_scalar(a, c.arg_column(0), what);
  c.need_scalar(b, c.arg_column(1), what);
  return c.op(c.info().op, Kind::scalar, {a.node, b.node});
}

Compiled raise(CallSite& c) {
  const Compiled a = c.arg(0), b = c.arg(1);
  if (a.kind == Kind::vector)
    c.fail(c.column(), "'^' raises scalars; for a vector use power(x, p)");
  c.need_scalar(a, c.arg_column(0), "'^'");
  c.need_scalar(b, c.arg_column(1), "'^'");
  return c.op(Op::pow, Kind::scalar, {a.node, b.node});
}

Compiled negate(CallSite& c) {
  const Compiled a = c.arg(0);
  c.need_data(a, c.arg_column(0), "unary '-'");
  return c.op(Op::neg, a.kind, {a.node});
}

Compiled logical_not(CallSite& c) {
  const Compiled a = c.arg(0);
  c.need_scalar(a, c.arg_column(0), "'not'");
  return c.op(Op::logical_not, Kind::scalar, {a.node});
}

// ---- the plan's text of nodes that Print::call/infix/prefix do not cover ----

std::string ref(const Plan& plan, std::uint32_t a) {
  const Node& m = plan.nodes[a];
  if (m.op == Op::constant) return format_number(m.value);
  return "#" + std::to_string(a);
}

std::string constant_text(const Plan&, const Node& n) { return format_number(n.value); }
std::string pred_text(const Plan&, const Node&) { return "pred"; }
std::string name_text(const Plan&, const Node& n) { return n.name; }
std::string builtin_text(const Plan&, const Node& n) { return "built-in " + n.name; }
std::string input_text(const Plan&, const Node& n) { return "score " + n.name; }
std::string rank_average_text(const Plan& p, const Node& n) {
  return "rank(" + ref(p, n.args[0]) + ", ties=average)";
}
std::string rank_first_text(const Plan& p, const Node& n) {
  return "rank(" + ref(p, p.nodes[n.args[0]].args[0]) + ", ties=first)";
}
std::string neutralize_text(const Plan& p, const Node& n) {
  return "neutralize(" + ref(p, n.args[0]) + ", by " + ref(p, n.args[1]) +
         ", proportion=" + ref(p, n.args[2]) + ")";
}
std::string orthogonalize_text(const Plan& p, const Node& n) {
  const std::string y = ref(p, n.args[1]);
  return "orthogonalize(" + ref(p, n.args[0]) + ", " + y + ") with " + y + "." + y + " = " +
         ref(p, n.args[2]);
}

using S = Syntax;
using P = Print;
using K = Kind;
constexpr std::size_t kMany = kManyArgs;

// clang-format off
constexpr OpInfo kOps[] = {
    // ---- leaves ----
    {.op = Op::constant, .name = "constant", .print = P::custom, .text = constant_text},
    {.op = Op::pred, .name = "pred", .kind = K::vector, .syntax = S::variable, .word = "pred",
     .print = P::custom, .text = pred_text},
    {.op = Op::target, .name = "target", .kind = K::vector, .syntax = S::variable,
     .word = "target", .print = P::custom, .text = name_text},
    {.op = Op::meta_model, .name = "meta_model", .kind = K::vector, .syntax = S::variable,
     .word = "meta_model", .print = P::custom, .text = name_text},
    {.op = Op::benchmark, .name = "benchmark", .kind = K::vector, .syntax = S::variable,
     .word = "benchmark", .print = P::custom, .text = name_text},
    {.op = Op::features, .name = "features", .kind = K::matrix, .syntax = S::variable,
     .word = "features", .print = P::custom, .text = name_text},
    {.op = Op::neutralizers, .name = "neutralizers", .kind = K::matrix, .syntax = S::variable,
     .word = "neutralizers", .print = P::custom, .text = name_text},
    {.op = Op::sample_weight, .name = "sample_weight", .kind = K::vector, .syntax = S::variable,
     .word = "sample_weight", .print = P::custom, .text = name_text},
    {.op = Op::builtin, .name = "builtin", .print = P::custom, .text = builtin_text},
    {.op = Op::input, .name = "input", .print = P::custom, .text = input_text},
    // ---- vector stages ----
    {.op = Op::sort, .name = "sort", .kind = K::order},
    {.op = Op::rank_average, .name = "rank_average", .kind = K::vector, .syntax = S::function,
     .word = "rank", .min_args = 1, .max_args = 1,
     .takes = "1 argument (a vector) and the keyword ties=average|first", .keywords = {"ties"},
     .build = rank, .print = P::custom, .text = rank_average_text},
    {.op = Op::rank_first, .name = "rank_first", .kind = K::vector,  // rank(x, ties=first)
     .print = P::custom, .text = rank_first_text},
    {.op = Op::gaussian, .name = "gaussian", .kind = K::vector, .syntax = S::function,
     .word = "gaussian", .min_args = 1, .max_args = 1, .takes = "1 argument (a vector)",
     .build = on_vector},
    {.op = Op::power, .name = "power", .kind = K::vector, .syntax = S::function, .word = "power",
     .min_args = 2, .max_args = 2, .takes = "2 arguments (a vector and a scalar exponent)",
     .build = power},
    {.op = Op::center, .name = "center", .kind = K::vector, .syntax = S::function,
     .word = "center", .min_args = 1, .max_args = 1,
     .takes = "1 argument (a vector) and the keyword over=ids|era", .keywords = {"over"},
     .build = on_vector_over},
    {.op = Op::neutralize, .name = "neutralize", .kind = K::vector, .syntax = S::function,
     .word = "neutralize", .min_args = 2, .max_args = kMany,
     .takes = "a vector and at least one exposure (vectors or features)",
     .keywords = {"proportion", "rcond"}, .build = neutralize, .print = P::custom,
     .text = neutralize_text},
    {.op = Op::project, .name = "qr", .kind = K::projector,  // neutralize's exposures
     .extra = "intercept", .value_key = "rcond"},
    {.op = Op::orthogonalize, .name = "orthogonalize", .kind = K::vector, .syntax = S::function,
     .word = "orthogonalize", .min_args = 2, .max_args = 2, .takes = "2 arguments (two vectors)",
     .build = orthogonalize, .print = P::custom, .text = orthogonalize_text},
    {.op = Op::span_product, .name = "span_product", .kind = K::vector, .syntax = S::function,
     .word = "span_product", .min_args = 2, .max_args = 2,
     .takes = "2 arguments (a vector and a matrix: features or neutralizers)",
     .build = span_product},
    {.op = Op::top_bottom, .name = "top_bottom", .kind = K::vector, .syntax = S::function,
     .word = "top_bottom", .min_args = 2, .max_args = 2,
     .takes = "2 arguments (a vector and a constant count n)", .build = top_bottom,
     .value_key = ""},
    // ---- elementwise arithmetic ----
    {.op = Op::add, .name = "add", .elementwise = true, .folds = true, .syntax = S::infix,
     .word = "+", .build = arithmetic, .print = P::infix},
    {.op = Op::sub, .name = "sub", .elementwise = true, .folds = true, .syntax = S::infix,
     .word = "-", .build = arithmetic, .print = P::infix},
    {.op = Op::mul, .name = "mul", .elementwise = true, .folds = true, .syntax = S::infix,
     .word = "*", .build = arithmetic, .print = P::infix},
    {.op = Op::div, .name = "div", .elementwise = true, .folds = true, .syntax = S::infix,
     .word = "/", .build = arithmetic, .print = P::infix},
    {.op = Op::neg, .name = "neg", .elementwise = true, .folds = true, .syntax = S::prefix,
     .word = "-", .build = negate, .print = P::prefix},
    {.op = Op::pow, .name = "pow", .folds = true, .syntax = S::infix, .word = "^",
     .build = raise, .print = P::infix},
    {.op = Op::abs, .name = "abs", .elementwise = true, .folds = true, .syntax = S::function,
     .word = "abs", .min_args = 1, .max_args = 1, .takes = "1 argument",
     .build = on_data_and_scalars},
    {.op = Op::sign, .name = "sign", .elementwise = true, .folds = true, .syntax = S::function,
     .word = "sign", .min_args = 1, .max_args = 1, .takes = "1 argument",
     .build = on_data_and_scalars},
    {.op = Op::clip, .name = "clip", .elementwise = true, .folds = true, .syntax = S::function,
     .word = "clip", .min_args = 3, .max_args = 3, .takes = "3 arguments (x, low, high)",
     .build = on_data_and_scalars},
    {.op = Op::min, .name = "min", .folds = true, .syntax = S::function, .word = "min",
     .min_args = 1, .max_args = kMany, .takes = "a vector, or 2 or more scalars",
     .keywords_first = true, .build = min_max},
    {.op = Op::max, .name = "max", .folds = true, .syntax = S::function, .word = "max",
     .min_args = 1, .max_args = kMany, .takes = "a vector, or 2 or more scalars",
     .keywords_first = true, .build = min_max},
    // ---- reductions of vectors to scalars ----
    {.op = Op::pearson, .name = "pearson", .syntax = S::function, .word = "pearson",
     .min_args = 2, .max_args = 2, .takes = "2 arguments (two vectors)", .build = on_two_vectors},
    {.op = Op::cov, .name = "cov", .syntax = S::function, .word = "cov", .min_args = 2,
     .max_args = 2, .takes = "2 arguments (two vectors) and the keyword ddof",
     .keywords = {"ddof"}, .build = cov, .value_key = "ddof"},
    {.op = Op::dot, .name = "dot", .syntax = S::function, .word = "dot", .min_args = 2,
     .max_args = 2, .takes = "2 arguments (two vectors)", .build = on_two_vectors},
    {.op = Op::mean, .name = "mean", .syntax = S::function, .word = "mean", .min_args = 1,
     .max_args = 1, .takes = "1 argument (a vector)", .keywords = {"over"},
     .build = on_vector_over},
    {.op = Op::std, .name = "std", .syntax = S::function, .word = "std", .min_args = 1,
     .max_args = 1, .takes = "1 argument (a vector) and the keywords ddof, over",
     .keywords = {"ddof", "over"}, .build = std_dev, .value_key = "ddof"},
    {.op = Op::count, .name = "count", .syntax = S::function, .word = "count", .min_args = 1,
     .max_args = 1, .takes = "1 argument (a vector)", .build = on_vector},
    {.op = Op::sum, .name = "sum", .syntax = S::function, .word = "sum", .min_args = 1,
     .max_args = 1, .takes = "1 argument (a vector)", .keywords = {"over"},
     .build = on_vector_over},
    {.op = Op::min_of, .name = "min"},  // min(x) of a vector: built by min
    {.op = Op::max_of, .name = "max"},  // max(x) of a vector: built by max
    // ---- scalar logic ----
    {.op = Op::cond, .name = "if", .folds = true, .syntax = S::function, .word = "if",
     .min_args = 3, .max_args = 3, .takes = "3 arguments (condition, then, else)",
     .build = on_scalars},
    {.op = Op::lt, .name = "lt", .folds = true, .syntax = S::infix, .word = "<", .build = logic,
     .print = P::infix},
    {.op = Op::le, .name = "le", .folds = true, .syntax = S::infix, .word = "<=", .build = logic,
     .print = P::infix},
    {.op = Op::gt, .name = "gt", .folds = true, .syntax = S::infix, .word = ">", .build = logic,
     .print = P::infix},
    {.op = Op::ge, .name = "ge", .folds = true, .syntax = S::infix, .word = ">=", .build = logic,
     .print = P::infix},
    {.op = Op::eq, .name = "eq", .folds = true, .syntax = S::infix, .word = "==", .build = logic,
     .print = P::infix},
    {.op = Op::ne, .name = "ne", .folds = true, .syntax = S::infix, .word = "!=", .build = logic,
     .print = P::infix},
    {.op = Op::logical_and, .name = "and", .folds = true, .syntax = S::infix, .word = "and",
     .build = logic, .print = P::infix},
    {.op = Op::logical_or, .name = "or", .folds = true, .syntax = S::infix, .word = "or",
     .build = logic, .print = P::infix},
    {.op = Op::logical_not, .name = "not", .folds = true, .syntax = S::prefix, .word = "not",
     .build = logical_not, .print = P::prefix},
};
// clang-format on

constexpr bool in_op_order() {
  for (std::size_t i = 0; i < std::size(kOps); ++i) {
    if (static_cast<std::size_t>(kOps[i].op) != i) return false;
  }
  return static_cast<std::size_t>(Op::logical_not) + 1 == std::size(kOps);
}
static_assert(in_op_order(), "kOps: one row per Op, in the order of Op");

bool is_word(const char* w) { return w != nullptr && std::isalpha(static_cast<unsigned char>(*w)); }

}  // namespace

std::span<const OpInfo> operations() { return kOps; }

const OpInfo& op_info(Op op) { return kOps[static_cast<std::size_t>(op)]; }

const char* op_name(Op op) {
  const auto i = static_cast<std::size_t>(op);
  return i < std::size(kOps) ? kOps[i].name : "?";
}

const OpInfo* find_function(const std::string& word) {
  for (const OpInfo& o : kOps) {
    if (o.syntax == Syntax::function && word == o.word) return &o;
  }
  return nullptr;
}

const OpInfo* find_operator(const std::string& symbol, Syntax syntax) {
  for (const OpInfo& o : kOps) {
    if (o.syntax == syntax && symbol == o.word) return &o;
  }
  return nullptr;
}

bool is_variable(const std::string& name) {
  for (const OpInfo& o : kOps) {
    if (o.syntax == Syntax::variable && name == o.word) return true;
  }
  return false;
}

bool is_function_word(const std::string& name) {
  for (const OpInfo& o : kOps) {
    const bool word_operator =
        (o.syntax == Syntax::infix || o.syntax == Syntax::prefix) && is_word(o.word);
    if ((o.syntax == Syntax::function || word_operator) && name == o.word) return true;
  }
  return false;
}

std::string node_text(const Plan& plan, std::uint32_t id) {
  const Node& n = plan.nodes[id];
  const OpInfo& info = op_info(n.op);
  switch (info.print) {
    case Print::custom:
      return info.text(plan, n);
    case Print::infix:
      return ref(plan, n.args[0]) + " " + info.word + " " + ref(plan, n.args[1]);
    case Print::prefix:
      return info.word + std::string(is_word(info.word) ? " " : "") + ref(plan, n.args[0]);
    case Print::call:
      break;
  }
  std::string s = std::string(info.name) + "(";
  bool first = true;
  auto add = [&](const std::string& x) {
    s += (first ? "" : ", ") + x;
    first = false;
  };
  for (std::uint32_t a : n.args) add(ref(plan, a));
  if (info.extra) add(info.extra);
  if (info.value_key) {
    const std::string key = info.value_key;
    add((key.empty() ? "" : key + "=") + format_number(n.value));
  }
  if (n.era_wide) add("over=era");
  return s + ")";
}

}  // namespace backscore::lang
