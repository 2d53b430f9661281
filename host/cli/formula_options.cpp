#include "host/cli/formula_options.hpp"

#include <utility>

#include "core/error.hpp"
#include "host/cli/option_bounds.hpp"
#include "io/name_list.hpp"

namespace backscore::cli {
namespace {

// Runs a lang call, naming in its OptionErrors the flags the formula options came from.
template <typename Call>
decltype(auto) with_formula_flags(Call&& call) {
  return with_flags(
      {{"formulas", "--formulas"}, {"definitions", "--formula"}, {"files", "--formula-file"}},
      std::forward<Call>(call));
}

}  // namespace

CLI::Option* add_formula_options(CLI::App* cmd, FormulaArgs& a) {
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
      ->check(whole_number(0, 10'000'000));
  return formulas;
}

std::vector<lang::Definition> read_formula_definitions(const FormulaArgs& a) {
  return with_formula_flags([&] { return lang::read_definitions(a.definitions, a.files); });
}

lang::FormulaSelection select_formula_columns(const FormulaArgs& a,
                                              const std::vector<lang::Definition>& defs,
                                              const lang::Binding& binding) {
  lang::FormulaRequest request;
  if (a.formulas_given) request.names = split_names(a.formulas, "--formulas");
  request.top_bottom = a.top_bottom;
  return with_formula_flags([&] { return lang::select_formulas(request, defs, binding); });
}

void add_payout_tuning_options(CLI::App* cmd, std::vector<std::string>& params, double& threshold) {
  cmd->add_option("--payout-param", params,
                  "A payout preset's parameter NAME=VALUE, repeatable or comma-separated, e.g. "
                  "--payout classic-2026 --payout-param cm=1,mm=2")
      ->delimiter(',');
  cmd->add_option("--payout-threshold", threshold,
                  "NMR: pf = min(1, this / the era's total stake at risk); default: the preset's "
                  "(72000 classic, 36000 Signals, 10000 Crypto; 72000 for a rule written out), "
                  "e.g. --payout-threshold 300000")
      ->check(payout_threshold_bounds());
}

}  // namespace backscore::cli
