// `backscore explain`: compile formula-language definitions and print the plan a run would
// evaluate: the era and model stages, which formulas share each, the scalar steps.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/formula_options.hpp"
#include "host/cli/run_job.hpp"
#include "host/lang/select.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

struct ExplainArgs {
  std::string store;
  FormulaArgs formulas;
  std::string target = "target", benchmark;
};

void explain(const ExplainArgs& a) {
  try {
    const std::vector<lang::Definition> defs = read_formula_definitions(a.formulas);
    lang::Binding binding;
    std::unique_ptr<StoreReader> store;
    if (!a.store.empty()) {
      store = std::make_unique<StoreReader>(a.store);
      const StoreSchema& schema = store->schema();
      binding.schema = &schema;
      const TargetChoice chosen = choose_target(schema, a.target, a.benchmark);
      binding.target = chosen.target;
      binding.benchmark = chosen.benchmark;
    }
    const lang::FormulaSelection sel = select_formula_columns(a.formulas, defs, binding);
    std::printf("columns:");
    for (const FormulaSpec& f : sel.specs) {
      std::printf(" %s%s", f.name().c_str(), f.is_defined() ? "" : " (built-in)");
    }
    std::printf("\n");
    if (sel.plan) {
      std::fputs(sel.plan->describe().c_str(), stdout);
    } else {
      std::printf("no defined formulas: the built-ins run on their compiled path\n");
    }
  } catch (const lang::FormulaError& e) {
    throw InputError(e.caret());  // explain shows where, under the definition
  }
}

}  // namespace

void add_explain(CLI::App& app) {
  auto a = std::make_shared<ExplainArgs>();
  CLI::App* cmd = app.add_subcommand(
      "explain", "Compile formula definitions and print the plan a run would evaluate.");
  cmd->footer(
      "Example:\n  backscore explain --formula 'a = pearson(target, rank(pred))' "
      "--formula 'b = dot(center(target), gaussian(rank(pred))) / count(pred)'\n"
      "  backscore explain history.h5 --formula-file proposals.txt --formulas mmc,proposal\n"
      "The language: docs/FORMULAS.md, \"The formula language\".");
  cmd->add_option("store", a->store,
                  "A store to check the names against (targets, benchmarks, meta_model, "
                  "features); optional, e.g. history.h5");
  CLI::Option* formulas = add_formula_options(cmd, a->formulas);
  cmd->add_option("--target", a->target,
                  "With a store: what `target` means, e.g. --target target_b")
      ->capture_default_str();
  cmd->add_option("--benchmark", a->benchmark,
                  "With a store: what `benchmark` means (default: the store's first), "
                  "e.g. --benchmark lgbm");
  cmd->callback([a, formulas] {
    a->formulas.formulas_given = formulas->count() > 0;
    explain(*a);
  });
}

}  // namespace backscore::cli
