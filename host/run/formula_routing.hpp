// Where each output column of a run gets its score: from a built-in (scored by the compiled path,
// score_model or the GPU) or from a defined formula of the plan (the CPU evaluator). Computed once
// per run from the requested formulas and the plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/lang/plan.hpp"

namespace backscore {

struct FormulaRouting {
  // The built-ins scored per model: the requested ones, then those the plan's definitions use.
  std::vector<FormulaSpec> builtins;
  // Per output column, its index in `builtins` or in plan->formulas (the other is SIZE_MAX).
  std::vector<std::size_t> from_builtin, from_plan;
  // plan->builtins[i] is builtins[plan_builtin[i]].
  std::vector<std::size_t> plan_builtin;

  // Throws std::invalid_argument when a defined formula has no plan or no formula of its name in
  // it (the caller compiled them together: a bug, not bad input).
  static FormulaRouting of(std::span<const FormulaSpec> formulas, const lang::Plan* plan);
  std::size_t outputs() const { return from_builtin.size(); }
};

}  // namespace backscore
