// The formulas of a run from the command line: --formulas (built-in and defined names, or
// "all"), --top-bottom, --formula and --formula-file. Shared by `run` and `explain`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"

namespace backscore::lang {

struct FormulaArgs {
  std::string formulas = "all";          // --formulas
  bool formulas_given = false;           // --formulas was on the command line
  int top_bottom = 0;                    // --top-bottom
  std::vector<std::string> definitions;  // --formula, in order
  std::vector<std::string> files;        // --formula-file, in order
};

struct FormulaSelection {
  std::vector<FormulaSpec> specs;    // the output columns, in order
  std::shared_ptr<const Plan> plan;  // the defined formulas' plan (null when none)
};

// Parses every --formula and --formula-file definition. Throws FormulaError / InputError.
std::vector<Definition> read_definitions(const FormulaArgs& args);

// The output columns and the plan. Without --formulas, a run with definitions scores every
// scalar definition (and no built-in), a run without scores every built-in the store supports;
// --formulas names built-ins and defined formulas ("all" = every supported built-in and every
// scalar definition). binding.schema null (explain without a store): built-ins are not checked
// against the store and store names stay unbound. Throws FormulaError / InputError.
FormulaSelection select_formulas(const FormulaArgs& args, const std::vector<Definition>& defs,
                                 const Binding& binding);

}  // namespace backscore::lang
