// The plan's public functions (see plan.hpp): compile() runs the compiler (compiler.hpp); the
// reserved names; the scalar operations shared by constant folding and the evaluator; the plan's
// text for `explain` and the resume journal.
#include "host/lang/plan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <sstream>

#include "host/lang/compiler.hpp"
#include "host/lang/operations.hpp"

namespace backscore::lang {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool truthy(double v) { return v != 0 && !std::isnan(v); }

}  // namespace

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
  return is_variable(name) || is_function_word(name) || name == "era" || name == "ids" ||
         name == "average" || name == "first" || builtin_by_name(name).has_value();
}

Plan compile(const std::vector<Definition>& definitions, const std::vector<std::string>& outputs,
             const Binding& binding) {
  return Compiler(definitions, binding).run(outputs);
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

std::string Plan::describe() const {
  std::ostringstream s;
  auto users_of = [&](const Node& n) {
    std::string u;
    for (std::uint32_t f : n.users) u += (u.empty() ? "" : ", ") + formulas[f].name;
    return n.more_users ? u + " and more" : u;
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
