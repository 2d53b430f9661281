// The formula options shared by `run` and `explain`, so both read them the same way, and the
// payout rule's tuning shared by `compare` and `report`.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/lang/select.hpp"

namespace backscore::cli {

// A command's formula options as given on its command line, as text; the calls below turn them
// into lang's.
struct FormulaArgs {
  std::string formulas = "all";          // --formulas: comma-separated names
  bool formulas_given = false;           // --formulas was on the command line
  int top_bottom = 0;                    // --top-bottom
  std::vector<std::string> definitions;  // --formula, in order
  std::vector<std::string> files;        // --formula-file, in order
};

// Registers --formulas, --formula, --formula-file and --top-bottom into `a`. Returns the
// --formulas option: its count() tells the callback whether --formulas was given
// (a.formulas_given).
CLI::Option* add_formula_options(CLI::App* cmd, FormulaArgs& a);

// lang::read_definitions of --formula and --formula-file. A file that cannot be read is an
// InputError naming --formula-file; a bad definition is the lang::FormulaError.
std::vector<lang::Definition> read_formula_definitions(const FormulaArgs& a);

// lang::select_formulas of --formulas (split at commas) and --top-bottom. A formula name that
// cannot be run is an InputError naming --formulas; a bad definition is the lang::FormulaError.
lang::FormulaSelection select_formula_columns(const FormulaArgs& a,
                                              const std::vector<lang::Definition>& defs,
                                              const lang::Binding& binding);

// --payout-param (a preset's NAME=VALUE, repeatable or comma-separated) and --payout-threshold
// (NMR, payout_threshold_bounds), as compare and report take them for the store's stakes
// (simulate says them of its simulated stakes, with its own help).
void add_payout_tuning_options(CLI::App* cmd, std::vector<std::string>& params, double& threshold);

}  // namespace backscore::cli
