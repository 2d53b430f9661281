// Compilation of formula-language definitions into one plan (see compiler.hpp). What each
// function and operator compiles to is its row of the operation table (operations.cpp).
#include "host/lang/compiler.hpp"

#include <algorithm>
#include <sstream>

namespace backscore::lang {

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

Compiler::Compiler(const std::vector<Definition>& defs, const Binding& binding)
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

Plan Compiler::run(const std::vector<std::string>& outputs) {
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
        throw unknown_formula(name);
      }
      if (compiled_[it->second].kind != Kind::scalar) {
        throw OptionError::about(
            "formulas", "'" + name + "' is " + kind_name(compiled_[it->second].kind) +
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

void Compiler::fail(const Definition& d, std::size_t column, const std::string& msg) const {
  throw FormulaError(d.text, column, msg, d.where);
}

void Compiler::collect_deps(std::size_t i, std::set<std::size_t>& all) const {
  if (!all.insert(i).second) return;
  for (std::size_t d : deps_[i]) collect_deps(d, all);
}

Compiled Compiler::compile_definition(std::size_t i) {
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

std::uint32_t Compiler::add(Node n) {
  for (std::uint32_t a : n.args) n.per_model = n.per_model || plan_.nodes[a].per_model;
  if (n.op == Op::pred || n.op == Op::builtin || n.op == Op::input) n.per_model = true;
  std::ostringstream key;
  key << static_cast<int>(n.op) << '|' << static_cast<int>(n.kind) << '|' << format_number(n.value)
      << '|' << n.name << '|' << n.index << '|' << n.era_wide;
  for (std::uint32_t a : n.args) key << ',' << a;
  auto [it, inserted] = cse_.emplace(key.str(), static_cast<std::uint32_t>(plan_.nodes.size()));
  if (inserted) plan_.nodes.push_back(std::move(n));
  return it->second;
}

std::uint32_t Compiler::constant(double v) {
  Node n;
  n.op = Op::constant;
  n.value = v;
  return add(std::move(n));
}

Compiled Compiler::leaf(Op op, Kind kind, std::string name, std::size_t index, bool bound) {
  Node n;
  n.op = op;
  n.kind = kind;
  n.name = std::move(name);
  n.index = index;
  n.bound = bound;
  return {add(std::move(n)), kind};
}

Compiled Compiler::op(Op o, Kind kind, std::vector<std::uint32_t> args, double value,
                      bool era_wide) {
  if (kind == Kind::scalar && !args.empty() && op_info(o).folds &&
      std::all_of(args.begin(), args.end(),
                  [&](std::uint32_t a) { return plan_.nodes[a].op == Op::constant; })) {
    std::vector<double> v;
    for (std::uint32_t a : args) v.push_back(plan_.nodes[a].value);
    return {constant(apply_scalar(o, v.data(), v.size())), Kind::scalar};
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

Compiled Compiler::compile(const Expr& e, const Definition& d, std::size_t self) {
  switch (e.kind) {
    case Expr::Kind::number:
      return {constant(e.number), Kind::scalar};
    case Expr::Kind::name:
      return name(e, d, self);
    case Expr::Kind::unary:
      return operation(find_operator(e.text, Syntax::prefix), e, d, self);
    case Expr::Kind::binary:
      return operation(find_operator(e.text, Syntax::infix), e, d, self);
    case Expr::Kind::call:
      return call(e, d, self);
  }
  fail(d, e.column, "internal: unknown expression");
}

Compiled Compiler::name(const Expr& e, const Definition& d, std::size_t self) {
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
    if (is_variable(s) || s.rfind("target_", 0) == 0 || s.rfind("benchmark_", 0) == 0) {
      fail(d, e.column,
           "'" + s + "' is per-stock data; this expression combines scores by formula name");
    }
    if (is_function_word(s))
      fail(d, e.column, "'" + s + "' is a function: call it as " + s + "(...)");
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
    return leaf(Op::builtin, Kind::scalar, s,
                static_cast<std::size_t>(it - plan_.builtins.begin()));
  }
  if (is_function_word(s))
    fail(d, e.column, "'" + s + "' is a function: call it as " + s + "(...)");
  fail(d, e.column, "unknown name '" + s + "'");
}

Compiled Compiler::operation(const OpInfo* info, const Expr& e, const Definition& d,
                             std::size_t self) {
  if (info == nullptr) fail(d, e.column, "internal: unknown operator '" + e.text + "'");
  CallSite site(*this, *info, e, d, self);
  return info->build(site);
}

Compiled Compiler::call(const Expr& e, const Definition& d, std::size_t self) {
  const std::string& f = e.text;
  if (const OpInfo* info = find_function(f)) {
    CallSite site(*this, *info, e, d, self);
    if (info->keywords_first) site.check_keywords();
    site.check_arity();
    if (!info->keywords_first) site.check_keywords();
    return info->build(site);
  }
  if (by_name_.count(f) || builtin_by_name(f)) {
    fail(d, e.column, "'" + f + "' is a formula, not a function: use it without parentheses");
  }
  if (is_variable(f)) fail(d, e.column, "'" + f + "' is a variable, not a function");
  fail(d, e.column, "unknown function '" + f + "'");
}

// Schedules, users and evaluation hints.
void Compiler::finish() {
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

// ---- CallSite ----

void CallSite::fail(std::size_t column, const std::string& msg) const {
  throw FormulaError(d_.text, column, msg, d_.where);
}

void CallSite::check_arity() const {
  const std::size_t n = e_.args.size();
  if (n < info_.min_args || n > info_.max_args) {
    fail(e_.column, e_.text + "() takes " + info_.takes + ", got " + std::to_string(n) +
                        (n == 1 ? " argument" : " arguments"));
  }
}

void CallSite::check_keywords() const {
  for (const Kwarg& k : e_.kwargs) {
    bool ok = false;
    std::string list;
    for (const char* a : info_.keywords) {
      if (a == nullptr) continue;
      ok = ok || k.key == a;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    if (!ok) {
      fail(k.column,
           e_.text + "() has no keyword '" + k.key + "'" +
               (list.empty() ? std::string(" (it takes none)") : " (it takes " + list + ")"));
    }
  }
}

Compiled CallSite::arg(std::size_t i) { return c_.compile(e_.args[i], d_, self_); }

std::string CallSite::arg_name(std::size_t i) const {
  return e_.text + "() argument " + std::to_string(i + 1);
}

Compiled CallSite::vec(std::size_t i) {
  const Compiled c = arg(i);
  need_vector(c, arg_column(i), arg_name(i));
  return c;
}

Compiled CallSite::scal(std::size_t i) {
  const Compiled c = arg(i);
  need_scalar(c, arg_column(i), arg_name(i));
  return c;
}

void CallSite::need_scalar(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::scalar) fail(column, what + " needs a scalar, got " + kind_name(c.kind));
}

void CallSite::need_vector(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::vector) fail(column, what + " needs a vector, got " + kind_name(c.kind));
}

void CallSite::need_data(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::vector && c.kind != Kind::scalar) {
    fail(column, what + " needs a vector or a scalar, got " + kind_name(c.kind));
  }
}

const Kwarg* CallSite::kwarg(const char* key) const {
  for (const Kwarg& k : e_.kwargs) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

Compiled CallSite::keyword(const Kwarg& k) { return c_.compile(k.value[0], d_, self_); }

std::string CallSite::choice(const char* key, std::initializer_list<const char*> words,
                             const char* dflt) {
  const Kwarg* k = kwarg(key);
  if (!k) return dflt;
  const Expr& v = k->value[0];
  std::string list;
  for (const char* w : words) {
    if (v.kind == Expr::Kind::name && v.text == w) return w;
    list += std::string(list.empty() ? "" : " or ") + w;
  }
  fail(v.column, e_.text + "(): " + key + " must be " + list);
}

double CallSite::number(const char* key, double dflt) {
  const Kwarg* k = kwarg(key);
  if (!k) return dflt;
  const Compiled c = keyword(*k);
  if (c.kind != Kind::scalar || node(c.node).op != Op::constant) {
    fail(k->value[0].column, e_.text + "(): " + key + " must be a constant number");
  }
  return node(c.node).value;
}

bool CallSite::over_era(const Compiled& x) {
  const bool wide = choice("over", {"ids", "era"}, "ids") == "era";
  if (wide && node(x.node).per_model) {
    fail(kwarg("over")->column, "over=era needs an argument that does not depend on pred");
  }
  return wide;
}

}  // namespace backscore::lang
