// `backscore formulas`: every built-in formula with its one-line definition.
#include <cstdio>

#include "host/cli/commands.hpp"
#include "host/era/formulas.hpp"

namespace backscore::cli {

void add_formulas(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("formulas", "List the built-in formulas and their definitions.");
  cmd->footer("Example:\n  backscore formulas\nFull definitions and sources: docs/FORMULAS.md.");
  cmd->callback([] {
    for (const BuiltinInfo& f : builtin_formulas()) {
      std::printf("%-14s %s\n", f.name, f.definition);
      std::string needs;
      if (f.needs_meta_model) needs += " meta_model";
      if (f.needs_benchmark) needs += " benchmark";
      if (f.needs_features) needs += " features";
      std::printf("%-14s needs: target%s%s\n", "", needs.c_str(),
                  f.has_top_bottom ? "; --top-bottom N adds <name>_tb<N>" : "");
    }
  });
}

}  // namespace backscore::cli
