// The formulas of a run: which built-in and defined formulas to score, in which order, and the
// plan of the defined ones. Shared by `run` and `explain` (through host/cli/formula_options.hpp).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"

namespace backscore::lang {

// Which formulas to score.
struct FormulaRequest {
  // Built-in and defined formula names in output order, "all" for every built-in the store
  // supports and every scalar definition; nullopt: the default (see select_formulas).
  std::optional<std::vector<std::string>> names;
  int top_bottom = 0;  // also the top/bottom-N variants of the built-ins that have one
};

struct FormulaSelection {
  std::vector<FormulaSpec> specs;    // the output columns, in order
  std::shared_ptr<const Plan> plan;  // the defined formulas' plan (null when none)
};

// Why a store cannot support a built-in ("" when it can, or without a store): the data it lacks.
std::string unsupported_reason(const BuiltinInfo& info, const StoreSchema* schema);

// Parses the definitions given as text, then those of each file, in order. Throws FormulaError,
// OptionError ("files").
std::vector<Definition> read_definitions(const std::vector<std::string>& texts,
                                         const std::vector<std::string>& files);

// The output columns and the plan. By default a run with definitions scores every scalar
// definition (and no built-in), a run without scores every built-in the store supports.
// binding.schema null (explain without a store): built-ins are not checked against the store and
// store names stay unbound. Throws FormulaError, OptionError ("formulas").
FormulaSelection select_formulas(const FormulaRequest& request, const std::vector<Definition>& defs,
                                 const Binding& binding);

}  // namespace backscore::lang
