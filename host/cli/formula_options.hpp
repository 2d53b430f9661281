// The formula options shared by `run` and `explain`, so both read them the same way.
#pragma once

#include <CLI/CLI.hpp>

#include "host/lang/select.hpp"

namespace backscore::cli {

// Registers --formulas, --formula, --formula-file and --top-bottom into `a`. Returns the
// --formulas option: its count() tells the callback whether --formulas was given
// (a.formulas_given).
CLI::Option* add_formula_options(CLI::App* cmd, lang::FormulaArgs& a);

}  // namespace backscore::cli
