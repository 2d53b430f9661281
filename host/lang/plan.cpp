// Compilation of formula-language definitions into one plan (see plan.hpp): name resolution,
// kind checking, cycle detection, common-subexpression elimination, constant folding, and the
// era/model split of the stages.
#include "host/lang/plan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace backscore::lang {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

const char* const kVariables[] = {"pred", "target", "meta_model", "benchmark", "features"};
const char* const kFunctions[] = {"rank",          "gaussian",   "power",   "center", "neutralize",
                                  "orthogonalize", "top_bottom", "pearson", "cov",    "dot",
                                  "mean",          "std",        "count",   "sum",    "min",
                                  "max",           "clip",       "abs",     "sign",   "if",
                                  "and",           "or",         "not"};

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::scalar:
      return "a scalar";
    case Kind::vector:
      return "a vector";
    case Kind::matrix:
      return "a matrix";
    case Kind::order:
      return "an order";
    case Kind::projector:
      return "a projector";
  }
  return "?";
}

std::string format_number(double v) {
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // shortest text that reads back to the same double
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

bool truthy(double v) { return v != 0 && !std::isnan(v); }

struct Compiled {
  std::uint32_t node = 0;
  Kind kind = Kind::scalar;
};

class Compiler {
 public:
  Compiler(const std::vector<Definition>& defs, const Binding& binding)
      : defs_(defs), binding_(binding) {
    for (std::size_t i = 0; i < defs.size(); ++i) {
      const Definition& d = defs[i];
      if (find_builtin(d.name) || builtin_by_name(d.name)) {
        throw FormulaError(
            d.text, d.name_column,
            "name clash with the built-in formula '" + d.name + "' (choose another name)", d.where);
      }
      if (is_reserved_name(d.name) || d.name.rfind("target_", 0) == 0 ||
          d.name.rfind("benchmark_", 0) == 0) {
        throw FormulaError(d.text, d.name_column,
                           "'" + d.name + "' is a reserved name of the language", d.where);
      }
      if (by_name_.count(d.name)) {
        throw FormulaError(
            d.text, d.name_column,
            "'" + d.name + "' is defined twice (first as '" + defs[by_name_[d.name]].text + "')",
            d.where);
      }
      by_name_[d.name] = i;
    }
    state_.assign(defs.size(), State::todo);
    compiled_.resize(defs.size());
    deps_.resize(defs.size());
  }

  Plan run(const std::vector<std::string>& outputs) {
    for (std::size_t i = 0; i < defs_.size(); ++i) compile_definition(i);
    std::vector<std::size_t> out;
    if (outputs.empty()) {
      for (std::size_t i = 0; i < defs_.size(); ++i) {
        if (compiled_[i].kind == Kind::scalar) out.push_back(i);
      }
    } else {
      for (const std::string& name : outputs) {
        auto it = by_name_.find(name);
        if (it == by_name_.end()) {
          throw InputError("--formulas: unknown formula '" + name +
                           "' (neither built-in nor defined with --formula)");
        }
        if (compiled_[it->second].kind != Kind::scalar) {
          throw InputError("--formulas: '" + name + "' is " +
                           kind_name(compiled_[it->second].kind) +
                           " stage, not a formula (a formula gives one number per model-era)");
        }
        if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
      }
    }
    for (std::size_t i : out) {
      PlanFormula f;
      f.name = defs_[i].name;
      f.root = compiled_[i].node;
      f.definition = defs_[i].text;
      std::set<std::size_t> all;
      collect_deps(i, all);
      for (std::size_t d : all) {
        if (d != i) f.definition += "; where " + defs_[d].text;
      }
      plan_.formulas.push_back(std::move(f));
    }
    for (const Definition& d : defs_) plan_.definitions.push_back(d.text);
    finish();
    return std::move(plan_);
  }

 private:
  enum class State { todo, active, done };

  [[noreturn]] void fail(const Definition& d, std::size_t column, const std::string& msg) const {
    throw FormulaError(d.text, column, msg, d.where);
  }

  void collect_deps(std::size_t i, std::set<std::size_t>& all) const {
    if (!all.insert(i).second) return;
    for (std::size_t d : deps_[i]) collect_deps(d, all);
  }

  Compiled compile_definition(std::size_t i) {
    if (state_[i] == State::done) return compiled_[i];
    state_[i] = State::active;
    stack_.push_back(i);
    compiled_[i] = compile(defs_[i].expr, defs_[i], i);
    if (compiled_[i].kind == Kind::matrix) {
      fail(defs_[i], defs_[i].expr.column,
           "a definition must give a scalar (a formula) or a vector (a stage), not a matrix");
    }
    stack_.pop_back();
    state_[i] = State::done;
    return compiled_[i];
  }

  // ---- node construction with common-subexpression elimination ----
  std::uint32_t add(Node n) {
    for (std::uint32_t a : n.args) n.per_model = n.per_model || plan_.nodes[a].per_model;
    if (n.op == Op::pred || n.op == Op::builtin || n.op == Op::input) n.per_model = true;
    std::ostringstream key;
    key << static_cast<int>(n.op) << '|' << static_cast<int>(n.kind) << '|'
        << format_number(n.value) << '|' << n.name << '|' << n.index << '|' << n.era_wide;
    for (std::uint32_t a : n.args) key << ',' << a;
    auto [it, inserted] = cse_.emplace(key.str(), static_cast<std::uint32_t>(plan_.nodes.size()));
    if (inserted) plan_.nodes.push_back(std::move(n));
    return it->second;
  }
  std::uint32_t constant(double v) {
    Node n;
    n.op = Op::constant;
    n.value = v;
    return add(std::move(n));
  }
  Compiled leaf(Op op, Kind kind, std::string name = "", std::size_t index = 0, bool bound = true) {
    Node n;
    n.op = op;
    n.kind = kind;
    n.name = std::move(name);
    n.index = index;
    n.bound = bound;
    return {add(std::move(n)), kind};
  }
  // An operation on already compiled arguments; folds scalar operations on constants.
  Compiled op(Op o, Kind kind, std::vector<std::uint32_t> args, double value = 0,
              bool era_wide = false) {
    if (kind == Kind::scalar && !args.empty() && o != Op::builtin &&
        std::all_of(args.begin(), args.end(),
                    [&](std::uint32_t a) { return plan_.nodes[a].op == Op::constant; })) {
      std::vector<double> v;
      for (std::uint32_t a : args) v.push_back(plan_.nodes[a].value);
      switch (o) {
        case Op::add:
        case Op::sub:
        case Op::mul:
        case Op::div:
        case Op::neg:
        case Op::pow:
        case Op::abs:
        case Op::sign:
        case Op::clip:
        case Op::min:
        case Op::max:
        case Op::cond:
        case Op::lt:
        case Op::le:
        case Op::gt:
        case Op::ge:
        case Op::eq:
        case Op::ne:
        case Op::logical_and:
        case Op::logical_or:
        case Op::logical_not:
          return {constant(apply_scalar(o, v.data(), v.size())), Kind::scalar};
        default:
          break;
      }
    }
    Node n;
    n.op = o;
    n.kind = kind;
    n.args = std::move(args);
    n.value = value;
    n.era_wide = era_wide;
    return {add(std::move(n)), kind};
  }

  // ---- expressions ----
  Compiled compile(const Expr& e, const Definition& d, std::size_t self) {
    switch (e.kind) {
      case Expr::Kind::number:
        return {constant(e.number), Kind::scalar};
      case Expr::Kind::name:
        return name(e, d, self);
      case Expr::Kind::unary:
        return unary(e, d, self);
      case Expr::Kind::binary:
        return binary(e, d, self);
      case Expr::Kind::call:
        return call(e, d, self);
    }
    fail(d, e.column, "internal: unknown expression");
  }

  Compiled name(const Expr& e, const Definition& d, std::size_t self) {
    const std::string& s = e.text;
    if (auto it = by_name_.find(s); it != by_name_.end()) {
      const std::size_t other = it->second;
      if (state_[other] == State::active) {
        std::string cycle;
        auto at = std::find(stack_.begin(), stack_.end(), other);
        for (; at != stack_.end(); ++at) cycle += defs_[*at].name + " -> ";
        cycle += s;
        fail(d, e.column, "cycle between formulas: " + cycle);
      }
      deps_[self].push_back(other);
      return compile_definition(other);
    }
    const StoreSchema* schema = binding_.schema;
    if (binding_.scores_as_inputs) {
      if (s == "pred" || s == "target" || s == "meta_model" || s == "benchmark" ||
          s == "features" || s.rfind("target_", 0) == 0 || s.rfind("benchmark_", 0) == 0) {
        fail(d, e.column,
             "'" + s +
                 "' is per-stock data; this expression combines scores by "
                 "formula name");
      }
      for (const char* f : kFunctions) {
        if (s == f) fail(d, e.column, "'" + s + "' is a function: call it as " + s + "(...)");
      }
      auto& in = plan_.inputs;
      const auto it = std::find(in.begin(), in.end(), s);
      const std::size_t index = static_cast<std::size_t>(it - in.begin());
      if (it == in.end()) in.push_back(s);
      return leaf(Op::input, Kind::scalar, s, index);
    }
    if (s == "pred") return leaf(Op::pred, Kind::vector);
    if (s == "target") return leaf(Op::target, Kind::vector, s, binding_.target);
    if (s == "meta_model") {
      if (schema && !schema->has_meta_model) fail(d, e.column, "the store has no meta_model");
      plan_.needs_meta_model = true;
      return leaf(Op::meta_model, Kind::vector, s);
    }
    if (s == "benchmark") {
      if (schema && schema->benchmarks.empty())
        fail(d, e.column, "the store has no benchmark models");
      return leaf(Op::benchmark, Kind::vector, s, binding_.benchmark);
    }
    if (s == "features") {
      if (schema && schema->features.empty()) fail(d, e.column, "the store has no features");
      plan_.needs_features = true;
      return leaf(Op::features, Kind::matrix, s);
    }
    if (s.rfind("target_", 0) == 0) {
      if (!schema) return leaf(Op::target, Kind::vector, s, 0, false);
      const auto& t = schema->targets;
      auto it = std::find(t.begin(), t.end(), s);
      if (it == t.end()) it = std::find(t.begin(), t.end(), s.substr(7));
      if (it == t.end()) fail(d, e.column, "the store has no target '" + s + "'");
      return leaf(Op::target, Kind::vector, s, static_cast<std::size_t>(it - t.begin()));
    }
    if (s.rfind("benchmark_", 0) == 0) {
      if (!schema) return leaf(Op::benchmark, Kind::vector, s, 0, false);
      const auto& b = schema->benchmarks;
      auto it = std::find(b.begin(), b.end(), s.substr(10));
      if (it == b.end()) it = std::find(b.begin(), b.end(), s);
      if (it == b.end()) fail(d, e.column, "the store has no benchmark '" + s.substr(10) + "'");
      return leaf(Op::benchmark, Kind::vector, s, static_cast<std::size_t>(it - b.begin()));
    }
    if (std::optional<FormulaSpec> b = builtin_by_name(s)) {
      const BuiltinInfo& info = builtin_info(b->builtin);
      if (schema) {
        if (info.needs_meta_model && !schema->has_meta_model) {
          fail(d, e.column, "'" + s + "' needs a meta_model and the store has none");
        }
        if (info.needs_benchmark && schema->benchmarks.empty()) {
          fail(d, e.column, "'" + s + "' needs a benchmark and the store has none");
        }
        if (info.needs_features && schema->features.empty()) {
          fail(d, e.column, "'" + s + "' needs features and the store has none");
        }
      }
      auto it = std::find(plan_.builtins.begin(), plan_.builtins.end(), *b);
      if (it == plan_.builtins.end()) it = plan_.builtins.insert(plan_.builtins.end(), *b);
      Node n;
      n.op = Op::builtin;
      n.kind = Kind::scalar;
      n.name = s;
      n.index = static_cast<std::size_t>(it - plan_.builtins.begin());
      return {add(std::move(n)), Kind::scalar};
    }
    for (const char* f : kFunctions) {
      if (s == f) fail(d, e.column, "'" + s + "' is a function: call it as " + s + "(...)");
    }
    fail(d, e.column, "unknown name '" + s + "'");
  }

  Compiled unary(const Expr& e, const Definition& d, std::size_t self) {
    const Compiled a = compile(e.args[0], d, self);
    if (e.text == "not") {
      need_scalar(a, e.args[0], d, "'not'");
      return op(Op::logical_not, Kind::scalar, {a.node});
    }
    need_data(a, e.args[0], d, "unary '-'");
    return op(Op::neg, a.kind, {a.node});
  }

  void need_scalar(const Compiled& c, const Expr& at, const Definition& d,
                   const std::string& what) {
    if (c.kind != Kind::scalar) {
      fail(d, at.column, what + " needs a scalar, got " + kind_name(c.kind));
    }
  }
  void need_vector(const Compiled& c, const Expr& at, const Definition& d,
                   const std::string& what) {
    if (c.kind != Kind::vector) {
      fail(d, at.column, what + " needs a vector, got " + kind_name(c.kind));
    }
  }
  void need_data(const Compiled& c, const Expr& at, const Definition& d, const std::string& what) {
    if (c.kind != Kind::vector && c.kind != Kind::scalar) {
      fail(d, at.column, what + " needs a vector or a scalar, got " + kind_name(c.kind));
    }
  }

  Compiled binary(const Expr& e, const Definition& d, std::size_t self) {
    const Compiled a = compile(e.args[0], d, self), b = compile(e.args[1], d, self);
    const std::string& t = e.text;
    static const std::map<std::string, Op> kArith = {
        {"+", Op::add}, {"-", Op::sub}, {"*", Op::mul}, {"/", Op::div}};
    static const std::map<std::string, Op> kLogic = {{"<", Op::lt},
                                                     {"<=", Op::le},
                                                     {">", Op::gt},
                                                     {">=", Op::ge},
                                                     {"==", Op::eq},
                                                     {"!=", Op::ne},
                                                     {"and", Op::logical_and},
                                                     {"or", Op::logical_or}};
    if (auto it = kArith.find(t); it != kArith.end()) {
      need_data(a, e.args[0], d, "'" + t + "'");
      need_data(b, e.args[1], d, "'" + t + "'");
      const Kind k = a.kind == Kind::vector || b.kind == Kind::vector ? Kind::vector : Kind::scalar;
      return op(it->second, k, {a.node, b.node});
    }
    if (t == "^") {
      if (a.kind == Kind::vector) {
        fail(d, e.column, "'^' raises scalars; for a vector use power(x, p)");
      }
      need_scalar(a, e.args[0], d, "'^'");
      need_scalar(b, e.args[1], d, "'^'");
      return op(Op::pow, Kind::scalar, {a.node, b.node});
    }
    const Op o = kLogic.at(t);
    need_scalar(a, e.args[0], d, "'" + t + "'");
    need_scalar(b, e.args[1], d, "'" + t + "'");
    return op(o, Kind::scalar, {a.node, b.node});
  }

  // ---- calls ----
  struct Args {
    std::vector<Compiled> pos;
    std::map<std::string, const Kwarg*> kw;
  };

  Compiled call(const Expr& e, const Definition& d, std::size_t self) {
    const std::string& f = e.text;
    auto arity = [&](std::size_t lo, std::size_t hi, const char* signature) {
      const std::size_t n = e.args.size();
      if (n < lo || n > hi) {
        fail(d, e.column,
             f + "() takes " + signature + ", got " + std::to_string(n) +
                 (n == 1 ? " argument" : " arguments"));
      }
    };
    auto keywords = [&](std::initializer_list<const char*> allowed) {
      for (const Kwarg& k : e.kwargs) {
        bool ok = false;
        std::string list;
        for (const char* a : allowed) {
          ok = ok || k.key == a;
          list += std::string(list.empty() ? "" : ", ") + a;
        }
        if (!ok) {
          fail(d, k.column,
               f + "() has no keyword '" + k.key + "'" +
                   (list.empty() ? std::string(" (it takes none)") : " (it takes " + list + ")"));
        }
      }
    };
    auto kwarg = [&](const char* key) -> const Kwarg* {
      for (const Kwarg& k : e.kwargs) {
        if (k.key == key) return &k;
      }
      return nullptr;
    };
    auto arg = [&](std::size_t i) { return compile(e.args[i], d, self); };
    auto vec = [&](std::size_t i) {
      const Compiled c = arg(i);
      need_vector(c, e.args[i], d, f + "() argument " + std::to_string(i + 1));
      return c;
    };
    auto scal = [&](std::size_t i) {
      const Compiled c = arg(i);
      need_scalar(c, e.args[i], d, f + "() argument " + std::to_string(i + 1));
      return c;
    };
    // A keyword whose value is one of some words: ties=first.
    auto word = [&](const char* key, std::initializer_list<const char*> words,
                    const char* dflt) -> std::string {
      const Kwarg* k = kwarg(key);
      if (!k) return dflt;
      const Expr& v = k->value[0];
      std::string list;
      for (const char* w : words) {
        if (v.kind == Expr::Kind::name && v.text == w) return w;
        list += std::string(list.empty() ? "" : " or ") + w;
      }
      fail(d, v.column, f + "(): " + key + " must be " + list);
    };
    // A keyword whose value is a constant number: ddof=1, rcond=1e-6.
    auto number = [&](const char* key, double dflt) -> double {
      const Kwarg* k = kwarg(key);
      if (!k) return dflt;
      const Compiled c = compile(k->value[0], d, self);
      if (c.kind != Kind::scalar || plan_.nodes[c.node].op != Op::constant) {
        fail(d, k->value[0].column, f + "(): " + key + " must be a constant number");
      }
      return plan_.nodes[c.node].value;
    };
    auto over_era = [&]() { return word("over", {"ids", "era"}, "ids") == "era"; };
    auto reduction1 = [&](Op o) {
      arity(1, 1, "1 argument (a vector)");
      keywords({"over"});
      const Compiled x = vec(0);
      const bool wide = over_era();
      if (wide && plan_.nodes[x.node].per_model) {
        fail(d, kwarg("over")->column, "over=era needs an argument that does not depend on pred");
      }
      return op(o, Kind::scalar, {x.node}, 0, wide);
    };

    if (f == "rank") {
      arity(1, 1, "1 argument (a vector) and the keyword ties=average|first");
      keywords({"ties"});
      const Compiled x = vec(0);
      const std::string ties = word("ties", {"average", "first"}, "average");
      const Compiled order = op(Op::sort, Kind::order, {x.node});
      if (ties == "first") return op(Op::rank_first, Kind::vector, {order.node});
      return op(Op::rank_average, Kind::vector, {x.node, order.node});
    }
    if (f == "gaussian") {
      arity(1, 1, "1 argument (a vector)");
      keywords({});
      return op(Op::gaussian, Kind::vector, {vec(0).node});
    }
    if (f == "power") {
      arity(2, 2, "2 arguments (a vector and a scalar exponent)");
      keywords({});
      const Compiled x = vec(0), p = scal(1);
      return op(Op::power, Kind::vector, {x.node, p.node});
    }
    if (f == "center") {
      arity(1, 1, "1 argument (a vector) and the keyword over=ids|era");
      keywords({"over"});
      const Compiled x = vec(0);
      const bool wide = over_era();
      if (wide && plan_.nodes[x.node].per_model) {
        fail(d, kwarg("over")->column, "over=era needs an argument that does not depend on pred");
      }
      return op(Op::center, Kind::vector, {x.node}, 0, wide);
    }
    if (f == "neutralize") {
      if (e.args.size() < 2) {
        fail(d, e.column,
             "neutralize() takes a vector and at least one exposure (vectors or "
             "features), got " +
                 std::to_string(e.args.size()) + (e.args.size() == 1 ? " argument" : " arguments"));
      }
      keywords({"proportion", "rcond"});
      const Compiled x = vec(0);
      std::vector<std::uint32_t> by;
      for (std::size_t i = 1; i < e.args.size(); ++i) {
        const Compiled c = arg(i);
        if (c.kind != Kind::vector && c.kind != Kind::matrix) {
          fail(d, e.args[i].column,
               "neutralize() argument " + std::to_string(i + 1) +
                   " needs a vector or features, got " + kind_name(c.kind));
        }
        by.push_back(c.node);
      }
      const double rcond = number("rcond", 1e-6);
      if (!(rcond >= 0)) fail(d, kwarg("rcond")->column, "neutralize(): rcond must be >= 0");
      std::uint32_t proportion = constant(1.0);
      if (const Kwarg* k = kwarg("proportion")) {
        const Compiled p = compile(k->value[0], d, self);
        need_scalar(p, k->value[0], d, "neutralize(): proportion");
        proportion = p.node;
      }
      const Compiled proj = op(Op::project, Kind::projector, by, rcond);
      return op(Op::neutralize, Kind::vector, {x.node, proj.node, proportion});
    }
    if (f == "orthogonalize") {
      arity(2, 2, "2 arguments (two vectors)");
      keywords({});
      const Compiled x = vec(0), y = vec(1);
      // y . y is a stage of its own: computed once per era when y does not depend on pred.
      const Compiled yy = op(Op::dot, Kind::scalar, {y.node, y.node});
      return op(Op::orthogonalize, Kind::vector, {x.node, y.node, yy.node});
    }
    if (f == "top_bottom") {
      arity(2, 2, "2 arguments (a vector and a constant count n)");
      keywords({});
      const Compiled x = vec(0), n = scal(1);
      const Node& nn = plan_.nodes[n.node];
      if (nn.op != Op::constant || !(nn.value >= 1) || nn.value != std::floor(nn.value) ||
          nn.value > 1e9) {
        fail(d, e.args[1].column, "top_bottom(): n must be a constant whole number >= 1");
      }
      return op(Op::top_bottom, Kind::vector, {x.node}, nn.value);
    }
    if (f == "pearson" || f == "dot") {
      arity(2, 2, "2 arguments (two vectors)");
      keywords({});
      const Compiled x = vec(0), y = vec(1);
      return op(f == "pearson" ? Op::pearson : Op::dot, Kind::scalar, {x.node, y.node});
    }
    if (f == "cov") {
      arity(2, 2, "2 arguments (two vectors) and the keyword ddof");
      keywords({"ddof"});
      const Compiled x = vec(0), y = vec(1);
      const double ddof = number("ddof", 1);
      if (ddof < 0 || ddof != std::floor(ddof))
        fail(d, kwarg("ddof")->column, "cov(): ddof must be a whole number >= 0");
      return op(Op::cov, Kind::scalar, {x.node, y.node}, ddof);
    }
    if (f == "std") {
      arity(1, 1, "1 argument (a vector) and the keywords ddof, over");
      keywords({"ddof", "over"});
      const Compiled x = vec(0);
      const double ddof = number("ddof", 0);
      if (ddof < 0 || ddof != std::floor(ddof))
        fail(d, kwarg("ddof")->column, "std(): ddof must be a whole number >= 0");
      const bool wide = over_era();
      if (wide && plan_.nodes[x.node].per_model) {
        fail(d, kwarg("over")->column, "over=era needs an argument that does not depend on pred");
      }
      return op(Op::std, Kind::scalar, {x.node}, ddof, wide);
    }
    if (f == "mean") return reduction1(Op::mean);
    if (f == "sum") return reduction1(Op::sum);
    if (f == "count") {
      arity(1, 1, "1 argument (a vector)");
      keywords({});
      return op(Op::count, Kind::scalar, {vec(0).node});
    }
    if (f == "min" || f == "max") {
      keywords({});
      if (e.args.size() == 1) {
        const Compiled x = arg(0);
        if (x.kind == Kind::vector)
          return op(f == "min" ? Op::min_of : Op::max_of, Kind::scalar, {x.node});
        fail(d, e.column,
             f + "() of one argument needs a vector (its smallest/largest value), got " +
                 kind_name(x.kind));
      }
      if (e.args.empty())
        fail(d, e.column, f + "() takes a vector, or 2 or more scalars, got 0 arguments");
      std::vector<std::uint32_t> args;
      for (std::size_t i = 0; i < e.args.size(); ++i) args.push_back(scal(i).node);
      return op(f == "min" ? Op::min : Op::max, Kind::scalar, args);
    }
    if (f == "clip") {
      arity(3, 3, "3 arguments (x, low, high)");
      keywords({});
      const Compiled x = arg(0), lo = scal(1), hi = scal(2);
      need_data(x, e.args[0], d, "clip() argument 1");
      return op(Op::clip, x.kind, {x.node, lo.node, hi.node});
    }
    if (f == "abs" || f == "sign") {
      arity(1, 1, "1 argument");
      keywords({});
      const Compiled x = arg(0);
      need_data(x, e.args[0], d, f + "() argument 1");
      return op(f == "abs" ? Op::abs : Op::sign, x.kind, {x.node});
    }
    if (f == "if") {
      arity(3, 3, "3 arguments (condition, then, else)");
      keywords({});
      const Compiled c = scal(0), a = scal(1), b = scal(2);
      return op(Op::cond, Kind::scalar, {c.node, a.node, b.node});
    }
    if (by_name_.count(f) || builtin_by_name(f)) {
      fail(d, e.column, "'" + f + "' is a formula, not a function: use it without parentheses");
    }
    for (const char* v : kVariables) {
      if (f == v) fail(d, e.column, "'" + f + "' is a variable, not a function");
    }
    fail(d, e.column, "unknown function '" + f + "'");
  }

  // Schedules, users and evaluation hints.
  void finish() {
    std::vector<Node>& nodes = plan_.nodes;
    std::vector<char> needed(nodes.size(), 0);
    for (std::size_t fi = 0; fi < plan_.formulas.size(); ++fi) {
      std::vector<char> seen(nodes.size(), 0);
      std::vector<std::uint32_t> todo{plan_.formulas[fi].root};
      while (!todo.empty()) {
        const std::uint32_t id = todo.back();
        todo.pop_back();
        if (seen[id]) continue;
        seen[id] = needed[id] = 1;
        nodes[id].users.push_back(static_cast<std::uint32_t>(fi));
        for (std::uint32_t a : nodes[id].args) todo.push_back(a);
      }
    }
    for (std::uint32_t id = 0; id < nodes.size(); ++id) {
      if (!needed[id] || nodes[id].op == Op::constant) continue;
      (nodes[id].per_model ? plan_.model_schedule : plan_.era_schedule).push_back(id);
    }
    for (std::uint32_t id = 0; id < nodes.size(); ++id) {
      Node& p = nodes[id];
      if (!needed[id] || p.op != Op::power) continue;
      const Node& expo = nodes[p.args[1]];
      Node& g = nodes[p.args[0]];
      if (expo.op == Op::constant && expo.value == 1.5 && g.op == Op::gaussian &&
          nodes[g.args[0]].op == Op::rank_average && g.fused_pow15 < 0) {
        g.fused_pow15 = id;
      }
    }
  }

  const std::vector<Definition>& defs_;
  const Binding& binding_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<State> state_;
  std::vector<Compiled> compiled_;
  std::vector<std::vector<std::size_t>> deps_;
  std::vector<std::size_t> stack_;
  std::unordered_map<std::string, std::uint32_t> cse_;
  Plan plan_;
};

std::string node_text(const Plan& plan, std::uint32_t id) {
  const Node& n = plan.nodes[id];
  auto ref = [&](std::uint32_t a) {
    const Node& m = plan.nodes[a];
    if (m.op == Op::constant) return format_number(m.value);
    return "#" + std::to_string(a);
  };
  auto call = [&](const char* f, std::initializer_list<std::string> extra = {}) {
    std::string s = std::string(f) + "(";
    bool first = true;
    for (std::uint32_t a : n.args) {
      s += (first ? "" : ", ") + ref(a);
      first = false;
    }
    for (const std::string& x : extra) {
      s += (first ? "" : ", ") + x;
      first = false;
    }
    return s + ")";
  };
  const std::string wide = n.era_wide ? "over=era" : "";
  switch (n.op) {
    case Op::constant:
      return format_number(n.value);
    case Op::pred:
      return "pred";
    case Op::target:
    case Op::meta_model:
    case Op::benchmark:
    case Op::features:
      return n.name;
    case Op::builtin:
      return "built-in " + n.name;
    case Op::input:
      return "score " + n.name;
    case Op::sort:
      return call("sort");
    case Op::rank_average:
      return "rank(" + ref(n.args[0]) + ", ties=average)";
    case Op::rank_first:
      return "rank(" + ref(plan.nodes[n.args[0]].args[0]) + ", ties=first)";
    case Op::gaussian:
      return call("gaussian");
    case Op::power:
      return call("power");
    case Op::center:
      return n.era_wide ? call("center", {wide}) : call("center");
    case Op::project:
      return call("qr", {"intercept", "rcond=" + format_number(n.value)});
    case Op::neutralize:
      return "neutralize(" + ref(n.args[0]) + ", by " + ref(n.args[1]) +
             ", proportion=" + ref(n.args[2]) + ")";
    case Op::orthogonalize:
      return "orthogonalize(" + ref(n.args[0]) + ", " + ref(n.args[1]) + ") with " +
             ref(n.args[1]) + "." + ref(n.args[1]) + " = " + ref(n.args[2]);
    case Op::top_bottom:
      return call("top_bottom", {format_number(n.value)});
    case Op::cov:
      return call("cov", {"ddof=" + format_number(n.value)});
    case Op::std:
      return n.era_wide ? call("std", {"ddof=" + format_number(n.value), wide})
                        : call("std", {"ddof=" + format_number(n.value)});
    case Op::mean:
      return n.era_wide ? call("mean", {wide}) : call("mean");
    case Op::sum:
      return n.era_wide ? call("sum", {wide}) : call("sum");
    default:
      break;
  }
  static const std::map<Op, const char*> kInfix = {
      {Op::add, "+"},        {Op::sub, "-"}, {Op::mul, "*"}, {Op::div, "/"},
      {Op::pow, "^"},        {Op::lt, "<"},  {Op::le, "<="}, {Op::gt, ">"},
      {Op::ge, ">="},        {Op::eq, "=="}, {Op::ne, "!="}, {Op::logical_and, "and"},
      {Op::logical_or, "or"}};
  if (auto it = kInfix.find(n.op); it != kInfix.end()) {
    return ref(n.args[0]) + " " + it->second + " " + ref(n.args[1]);
  }
  if (n.op == Op::neg) return "-" + ref(n.args[0]);
  if (n.op == Op::logical_not) return "not " + ref(n.args[0]);
  return call(op_name(n.op));
}

}  // namespace

const char* op_name(Op op) {
  switch (op) {
    case Op::constant:
      return "constant";
    case Op::pred:
      return "pred";
    case Op::target:
      return "target";
    case Op::meta_model:
      return "meta_model";
    case Op::benchmark:
      return "benchmark";
    case Op::features:
      return "features";
    case Op::builtin:
      return "builtin";
    case Op::input:
      return "input";
    case Op::sort:
      return "sort";
    case Op::rank_average:
      return "rank_average";
    case Op::rank_first:
      return "rank_first";
    case Op::gaussian:
      return "gaussian";
    case Op::power:
      return "power";
    case Op::center:
      return "center";
    case Op::neutralize:
      return "neutralize";
    case Op::project:
      return "qr";
    case Op::orthogonalize:
      return "orthogonalize";
    case Op::top_bottom:
      return "top_bottom";
    case Op::add:
      return "add";
    case Op::sub:
      return "sub";
    case Op::mul:
      return "mul";
    case Op::div:
      return "div";
    case Op::neg:
      return "neg";
    case Op::pow:
      return "pow";
    case Op::abs:
      return "abs";
    case Op::sign:
      return "sign";
    case Op::clip:
      return "clip";
    case Op::min:
      return "min";
    case Op::max:
      return "max";
    case Op::pearson:
      return "pearson";
    case Op::cov:
      return "cov";
    case Op::dot:
      return "dot";
    case Op::mean:
      return "mean";
    case Op::std:
      return "std";
    case Op::count:
      return "count";
    case Op::sum:
      return "sum";
    case Op::min_of:
      return "min";
    case Op::max_of:
      return "max";
    case Op::cond:
      return "if";
    case Op::lt:
      return "lt";
    case Op::le:
      return "le";
    case Op::gt:
      return "gt";
    case Op::ge:
      return "ge";
    case Op::eq:
      return "eq";
    case Op::ne:
      return "ne";
    case Op::logical_and:
      return "and";
    case Op::logical_or:
      return "or";
    case Op::logical_not:
      return "not";
  }
  return "?";
}

double apply_scalar(Op op, const double* a, std::size_t n) {
  switch (op) {
    case Op::add:
      return a[0] + a[1];
    case Op::sub:
      return a[0] - a[1];
    case Op::mul:
      return a[0] * a[1];
    case Op::div:
      return a[1] == 0 ? kNaN : a[0] / a[1];
    case Op::neg:
      return -a[0];
    case Op::pow:
      return std::pow(a[0], a[1]);
    case Op::abs:
      return std::fabs(a[0]);
    case Op::sign:
      return std::isnan(a[0]) ? kNaN : (a[0] > 0 ? 1.0 : (a[0] < 0 ? -1.0 : 0.0));
    case Op::clip:
      if (std::isnan(a[0]) || std::isnan(a[1]) || std::isnan(a[2])) return kNaN;
      return std::min(std::max(a[0], a[1]), a[2]);
    case Op::min:
    case Op::max: {
      double r = a[0];
      for (std::size_t i = 0; i < n; ++i) {
        if (std::isnan(a[i])) return kNaN;
        r = op == Op::min ? std::min(r, a[i]) : std::max(r, a[i]);
      }
      return r;
    }
    case Op::cond:
      return truthy(a[0]) ? a[1] : a[2];
    case Op::lt:
      return a[0] < a[1] ? 1.0 : 0.0;
    case Op::le:
      return a[0] <= a[1] ? 1.0 : 0.0;
    case Op::gt:
      return a[0] > a[1] ? 1.0 : 0.0;
    case Op::ge:
      return a[0] >= a[1] ? 1.0 : 0.0;
    case Op::eq:
      return a[0] == a[1] ? 1.0 : 0.0;
    case Op::ne:
      return (!std::isnan(a[0]) && !std::isnan(a[1]) && a[0] != a[1]) ? 1.0 : 0.0;
    case Op::logical_and:
      return truthy(a[0]) && truthy(a[1]) ? 1.0 : 0.0;
    case Op::logical_or:
      return truthy(a[0]) || truthy(a[1]) ? 1.0 : 0.0;
    case Op::logical_not:
      return truthy(a[0]) ? 0.0 : 1.0;
    default:
      return kNaN;
  }
}

std::optional<FormulaSpec> builtin_by_name(const std::string& name) {
  if (std::optional<Builtin> b = find_builtin(name)) return FormulaSpec{*b, 0};
  const auto tb = name.rfind("_tb");
  if (tb == std::string::npos || tb + 3 >= name.size()) return std::nullopt;
  const std::optional<Builtin> b = find_builtin(name.substr(0, tb));
  if (!b || !builtin_info(*b).has_top_bottom) return std::nullopt;
  int k = 0;
  const char* first = name.data() + tb + 3;
  const char* last = name.data() + name.size();
  const auto r = std::from_chars(first, last, k);
  if (r.ec != std::errc() || r.ptr != last || k <= 0 || *first == '0') return std::nullopt;
  return FormulaSpec{*b, k};
}

bool is_reserved_name(const std::string& name) {
  for (const char* v : kVariables) {
    if (name == v) return true;
  }
  for (const char* f : kFunctions) {
    if (name == f) return true;
  }
  return name == "era" || name == "ids" || name == "average" || name == "first" ||
         builtin_by_name(name).has_value();
}

Plan compile(const std::vector<Definition>& definitions, const std::vector<std::string>& outputs,
             const Binding& binding) {
  return Compiler(definitions, binding).run(outputs);
}

std::string Plan::describe() const {
  std::ostringstream s;
  auto users_of = [&](const Node& n) {
    std::string u;
    for (std::uint32_t f : n.users) u += (u.empty() ? "" : ", ") + formulas[f].name;
    return u;
  };
  auto is_stage = [&](const Node& n) { return n.kind != Kind::scalar; };
  std::size_t era_stages = 0, model_stages = 0, scalars = 0;
  for (std::uint32_t id : era_schedule) (is_stage(nodes[id]) ? era_stages : scalars) += 1;
  for (std::uint32_t id : model_schedule) (is_stage(nodes[id]) ? model_stages : scalars) += 1;
  s << "plan: " << formulas.size() << " formulas, " << era_stages << " era stages, " << model_stages
    << " model stages, " << scalars << " scalar steps\n";
  auto line = [&](std::uint32_t id) {
    const Node& n = nodes[id];
    char buf[32];
    std::snprintf(buf, sizeof buf, "  #%-4u %-9s ", id,
                  n.kind == Kind::vector      ? "vector"
                  : n.kind == Kind::matrix    ? "matrix"
                  : n.kind == Kind::order     ? "order"
                  : n.kind == Kind::projector ? "qr"
                                              : "scalar");
    std::string text = buf + node_text(*this, id);
    if (text.size() < 60) text.resize(60, ' ');
    s << text << "  used by: " << users_of(n) << "\n";
  };
  s << "era stages (once per era, on the model's ids when it misses some; shared by every "
       "model):\n";
  for (std::uint32_t id : era_schedule) {
    if (is_stage(nodes[id])) line(id);
  }
  s << "model stages (once per model-era; each stage can run batched over the models):\n";
  for (std::uint32_t id : model_schedule) {
    if (is_stage(nodes[id])) line(id);
  }
  if (!builtins.empty()) {
    s << "built-in formulas used (their compiled path):";
    for (const FormulaSpec& b : builtins) s << " " << b.name();
    s << "\n";
  }
  s << "scalars per era:\n";
  for (std::uint32_t id : era_schedule) {
    if (!is_stage(nodes[id])) line(id);
  }
  s << "scalars per model-era:\n";
  for (std::uint32_t id : model_schedule) {
    if (!is_stage(nodes[id])) line(id);
  }
  s << "formulas:\n";
  for (const PlanFormula& f : formulas) {
    const Node& root = nodes[f.root];
    s << "  " << f.name << " = "
      << (root.op == Op::constant ? format_number(root.value) : "#" + std::to_string(f.root))
      << "    (" << f.definition << ")\n";
  }
  return s.str();
}

std::string Plan::fingerprint() const {
  std::string s;
  for (const std::string& d : definitions) s += "define " + d + "\n";
  s += "outputs";
  for (const PlanFormula& f : formulas) s += " " + f.name;
  return s;
}

}  // namespace backscore::lang
