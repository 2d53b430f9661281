// Compilation of formula-language definitions into one plan (see compiler.hpp). What each
// function and operator compiles to is its row of the operation table (operations.cpp).
#include "host/lang/compiler.hpp"

#include <algorithm>
#include <iterator>
#include <sstream>
#include <unordered_set>

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
      throw FormulaError(d.text, d.name_column,
                         "'" + d.name + "' is defined twice (first as '" +
                             excerpt(defs[by_name_[d.name]].text).text + "')",
                         d.where);
    }
    by_name_[d.name] = i;
  }
  done_.assign(defs.size(), 0);
  compiled_.resize(defs.size());
  deps_.resize(defs.size());
}

Plan Compiler::run(const std::vector<std::string>& outputs) {
  for (std::size_t i : dependency_order()) compile_definition(i);
  std::vector<std::size_t> out;
  std::vector<char> chosen(defs_.size(), 0);
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
      if (!chosen[it->second]) out.push_back(it->second);
      chosen[it->second] = 1;
    }
  }
  for (std::size_t i : out) {
    PlanFormula f;
    f.name = defs_[i].name;
    f.root = compiled_[i].node;
    f.definition = definition_text(i);
    plan_.formulas.push_back(std::move(f));
  }
  for (const Definition& d : defs_) plan_.definitions.push_back(d.text);
  finish();
  return std::move(plan_);
}

void Compiler::fail(const Definition& d, std::size_t column, const std::string& msg) const {
  throw FormulaError(d.text, column, msg, d.where);
}

std::vector<Compiler::Reference> Compiler::references(const Expr& root) const {
  std::vector<Reference> refs;
  std::vector<const Expr*> todo{&root};
  while (!todo.empty()) {
    const Expr* e = todo.back();
    todo.pop_back();
    if (e->kind == Expr::Kind::name) {
      if (auto it = by_name_.find(e->text); it != by_name_.end()) {
        refs.push_back({it->second, e->column});
      }
      continue;
    }
    // pushed right to left, so taken left to right: positional arguments, then keywords
    for (auto k = e->kwargs.rbegin(); k != e->kwargs.rend(); ++k) todo.push_back(&k->value[0]);
    for (auto a = e->args.rbegin(); a != e->args.rend(); ++a) todo.push_back(&*a);
  }
  return refs;
}

// Every definition after the ones it names: a depth-first walk with its own stack, definitions in
// order and names left to right, so that compiling in this order never goes from one definition
// into another (a chain of 100,000 definitions, in any order, costs no recursion) and costs time
// linear in the definitions' size. A name of a definition still on the walk's path is a cycle.
std::vector<std::size_t> Compiler::dependency_order() const {
  enum State : char { todo, active, done };
  std::vector<char> state(defs_.size(), todo);
  struct Frame {
    std::size_t definition;
    std::vector<Reference> refs;
    std::size_t next = 0;
  };
  std::vector<Frame> path;
  std::vector<std::size_t> order;
  order.reserve(defs_.size());
  for (std::size_t start = 0; start < defs_.size(); ++start) {
    if (state[start] != todo) continue;
    state[start] = active;
    path.push_back({start, references(defs_[start].expr)});
    while (!path.empty()) {
      Frame& top = path.back();
      if (top.next == top.refs.size()) {
        state[top.definition] = done;
        order.push_back(top.definition);
        path.pop_back();
        continue;
      }
      const Reference r = top.refs[top.next++];
      if (state[r.definition] == done) continue;
      if (state[r.definition] == active) {
        std::size_t from = 0;
        while (path[from].definition != r.definition) ++from;
        // at most 10 names of a long cycle
        const std::size_t n = path.size() - from;
        std::string cycle;
        for (std::size_t k = 0; k < n; ++k) {
          if (n > 10 && k == 5) {
            cycle += "... (" + std::to_string(n - 10) + " more) -> ";
            k = n - 5;
          }
          cycle += defs_[path[from + k].definition].name + " -> ";
        }
        cycle += defs_[r.definition].name;
        fail(defs_[top.definition], r.column, "cycle between formulas: " + cycle);
      }
      state[r.definition] = active;
      path.push_back({r.definition, references(defs_[r.definition].expr)});
    }
  }
  return order;
}

// A formula's definition and, after "; where", the definitions it uses, directly or not, in the
// order of the definitions; at most kWhereText characters of those, nearest first, then
// "; where ...": the formula at the end of a chain of 20,000 definitions does not quote all of
// them (the plan's and the scores file's text would grow with the square of the chain).
std::string Compiler::definition_text(std::size_t i) const {
  constexpr std::size_t kWhereText = 1000, kScanned = 4000;
  std::vector<std::size_t> used;
  std::unordered_set<std::size_t> seen{i};
  std::size_t chars = 0, scanned = 0;
  bool cut = false;
  for (std::size_t q = 0; q <= used.size() && !cut; ++q) {  // breadth first: i, then used
    for (std::size_t dep : deps_[q == 0 ? i : used[q - 1]]) {
      if (++scanned > kScanned) {
        cut = true;
        break;
      }
      if (!seen.insert(dep).second) continue;
      chars += 8 + defs_[dep].text.size();  // "; where " and the definition
      if (chars > kWhereText) {
        cut = true;
        break;
      }
      used.push_back(dep);
    }
  }
  std::sort(used.begin(), used.end());
  std::string s = defs_[i].text;
  for (std::size_t d : used) s += "; where " + defs_[d].text;
  if (cut) s += "; where ...";
  return s;
}

void Compiler::compile_definition(std::size_t i) {
  compiled_[i] = compile(defs_[i].expr, defs_[i], i);
  if (compiled_[i].kind == Kind::matrix) {
    fail(defs_[i], defs_[i].expr.column,
         "a definition must give a scalar (a formula) or a vector (a stage), not a matrix");
  }
  std::vector<std::size_t>& deps = deps_[i];
  std::sort(deps.begin(), deps.end());
  deps.erase(std::unique(deps.begin(), deps.end()), deps.end());
  done_[i] = 1;
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
  // The parser's trees are at most kMaxExprDepth deep; this recursion keeps to it whatever the
  // tree.
  struct Level {
    std::size_t& depth;
    ~Level() { --depth; }
  } level{++depth_};
  if (depth_ > kMaxExprDepth) fail(d, e.column, too_deep_message());
  switch (e.kind) {
    case Expr::Kind::number:
      return {constant(e.number), Kind::scalar};
    case Expr::Kind::name:
      return name(e, d, self);
    case Expr::Kind::unary:
      return operation(find_operator(e.text, Syntax::prefix), e, d, self);
    case Expr::Kind::binary:
      return chain(e, d, self);
    case Expr::Kind::call:
      return call(e, d, self);
  }
  fail(d, e.column, "internal: unknown expression");
}

Compiled Compiler::name(const Expr& e, const Definition& d, std::size_t self) {
  const std::string& s = e.text;
  if (auto it = by_name_.find(s); it != by_name_.end()) {
    const std::size_t other = it->second;  // compiled already (dependency_order)
    if (!done_[other]) fail(d, e.column, "internal: '" + s + "' used before it is compiled");
    deps_[self].push_back(other);
    return compiled_[other];
  }
  const StoreSchema* schema = binding_.schema;
  if (binding_.scores_as_inputs) {
    if (is_variable(s) || s.rfind("target_", 0) == 0 || s.rfind("benchmark_", 0) == 0) {
      fail(d, e.column,
           "'" + s + "' is per-stock data; this expression combines scores by formula name");
    }
    if (is_function_word(s))
      fail(d, e.column, "'" + s + "' is a function: call it as " + s + "(...)");
    const auto [it, added] = input_index_.emplace(s, plan_.inputs.size());
    if (added) plan_.inputs.push_back(s);
    return leaf(Op::input, Kind::scalar, s, it->second);
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
  if (s == "neutralizers") {
    if (schema && schema->neutralizers.empty()) fail(d, e.column, "the store has no neutralizers");
    plan_.needs_neutralizers = true;
    return leaf(Op::neutralizers, Kind::matrix, s);
  }
  if (s == "sample_weight") {
    if (schema && !schema->has_sample_weights) {
      fail(d, e.column, "the store has no sample weights");
    }
    plan_.needs_sample_weights = true;
    return leaf(Op::sample_weight, Kind::vector, s);
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
      if (info.needs_neutralizers && schema->neutralizers.empty()) {
        fail(d, e.column, "'" + s + "' needs neutralizers and the store has none");
      }
      if (info.needs_sample_weights && !schema->has_sample_weights) {
        fail(d, e.column, "'" + s + "' needs sample weights and the store has none");
      }
    }
    if (b->builtin == Builtin::mpc && !binding_.scores_as_inputs) {
      fail(d, e.column,
           "'mpc' is computed once per era over every model's portfolio, after the models are "
           "scored: a defined formula cannot use it (name it in --formulas)");
    }
    const auto [it, added] = builtin_index_.emplace(s, plan_.builtins.size());
    if (added) plan_.builtins.push_back(*b);
    return leaf(Op::builtin, Kind::scalar, s, it->second);
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

// `a + b - c`: the chain's operators one after the other, left to right, each on the chain so
// far: a loop, however long the chain.
Compiled Compiler::chain(const Expr& e, const Definition& d, std::size_t self) {
  Compiled so_far;
  for (std::size_t k = 0; k < e.ops.size(); ++k) {
    const OpInfo* info = find_operator(e.ops[k].text, Syntax::infix);
    if (info == nullptr)
      fail(d, e.ops[k].column, "internal: unknown operator '" + e.ops[k].text + "'");
    CallSite site(*this, *info, e, k, so_far, d, self);
    so_far = info->build(site);
  }
  return so_far;
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
  // The users of a node are those of the nodes that read it, and the formulas rooted at it:
  // merged from the last node to the first (a node's readers come after it), each list kept to
  // its kListedUsers smallest, so this is linear in the plan's size however many formulas share
  // a node.
  for (std::size_t fi = 0; fi < plan_.formulas.size(); ++fi) {
    Node& root = nodes[plan_.formulas[fi].root];
    if (root.users.size() < kListedUsers) {
      root.users.push_back(static_cast<std::uint32_t>(fi));
    } else {
      root.more_users = true;
    }
  }
  std::vector<std::uint32_t> merged;
  for (std::size_t id = nodes.size(); id-- > 0;) {
    const Node& n = nodes[id];
    if (n.users.empty()) continue;
    for (std::uint32_t a : n.args) {
      Node& m = nodes[a];
      merged.clear();
      std::set_union(m.users.begin(), m.users.end(), n.users.begin(), n.users.end(),
                     std::back_inserter(merged));
      m.more_users = m.more_users || n.more_users || merged.size() > kListedUsers;
      if (merged.size() > kListedUsers) merged.resize(kListedUsers);
      m.users.assign(merged.begin(), merged.end());
    }
  }
  for (std::uint32_t id = 0; id < nodes.size(); ++id) {
    if (nodes[id].users.empty() || nodes[id].op == Op::constant) continue;
    (nodes[id].per_model ? plan_.model_schedule : plan_.era_schedule).push_back(id);
  }
  for (std::uint32_t id = 0; id < nodes.size(); ++id) {
    Node& p = nodes[id];
    if (p.users.empty() || p.op != Op::power) continue;
    const Node& expo = nodes[p.args[1]];
    Node& g = nodes[p.args[0]];
    if (expo.op == Op::constant && expo.value == 1.5 && g.op == Op::gaussian &&
        nodes[g.args[0]].op == Op::rank_average && g.fused_pow15 < 0) {
      g.fused_pow15 = id;
    }
  }
}

}  // namespace backscore::lang
