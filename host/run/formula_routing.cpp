#include "host/run/formula_routing.hpp"

#include <algorithm>
#include <stdexcept>

namespace backscore {

FormulaRouting FormulaRouting::of(std::span<const FormulaSpec> formulas, const lang::Plan* plan) {
  FormulaRouting r;
  const std::size_t n = formulas.size();
  r.from_builtin.assign(n, SIZE_MAX);
  r.from_plan.assign(n, SIZE_MAX);
  for (std::size_t f = 0; f < n; ++f) {
    const FormulaSpec& spec = formulas[f];
    if (spec.is_defined()) {
      if (plan == nullptr)
        throw std::invalid_argument("run_eras: a defined formula without a plan");
      for (std::size_t p = 0; p < plan->formulas.size(); ++p) {
        if (plan->formulas[p].name == spec.defined_name) r.from_plan[f] = p;
      }
      if (r.from_plan[f] == SIZE_MAX) {
        throw std::invalid_argument("run_eras: the plan has no formula " + spec.defined_name);
      }
    } else {
      r.from_builtin[f] = r.builtins.size();
      r.builtins.push_back(spec);
    }
  }
  if (plan != nullptr) {
    for (const FormulaSpec& b : plan->builtins) {
      auto it = std::find(r.builtins.begin(), r.builtins.end(), b);
      if (it == r.builtins.end()) it = r.builtins.insert(r.builtins.end(), b);
      r.plan_builtin.push_back(static_cast<std::size_t>(it - r.builtins.begin()));
    }
  }
  return r;
}

}  // namespace backscore
