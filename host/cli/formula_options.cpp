#include "host/cli/formula_options.hpp"

namespace backscore::cli {

CLI::Option* add_formula_options(CLI::App* cmd, lang::FormulaArgs& a) {
  CLI::Option* formulas =
      cmd->add_option("--formulas", a.formulas,
                      "Comma-separated built-in formulas (see `backscore formulas`) and formulas "
                      "defined with --formula, or 'all' for every built-in the store supports and "
                      "every defined formula (default: all, or only the defined formulas when "
                      "there are some), e.g. --formulas corr,mmc,my_mmc")
          ->capture_default_str();
  cmd->add_option("--formula", a.definitions,
                  "Define a formula in the formula language (repeatable; see docs/FORMULAS.md), "
                  "e.g. --formula 'mmc_half = mmc - 0.5 * corr'");
  cmd->add_option("--formula-file", a.files,
                  "Definitions from FILE, one a line, # comments (repeatable), "
                  "e.g. --formula-file proposals.txt");
  cmd->add_option("--top-bottom", a.top_bottom,
                  "Also the top/bottom-N variants of corr, mmc, bmc and fnc, as <name>_tb<N>, "
                  "e.g. --top-bottom 200")
      ->check(CLI::NonNegativeNumber);
  return formulas;
}

}  // namespace backscore::cli
