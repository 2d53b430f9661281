// The subcommands of the `backscore` executable. Each add_* registers its options on `app` and a
// callback that runs it; run_cli parses, dispatches and maps errors to exit statuses.
#pragma once

#include <CLI/CLI.hpp>

#include "host/run/run.hpp"

namespace backscore::cli {

void add_synth(CLI::App& app);
void add_import(CLI::App& app);
void add_import_numerai(CLI::App& app);
void add_inspect(CLI::App& app);
void add_run(CLI::App& app, const RunSeams& seams);
void add_simulate(CLI::App& app, const RunSeams& seams);
void add_formulas(CLI::App& app);
void add_explain(CLI::App& app);
void add_compare(CLI::App& app);
void add_audit(CLI::App& app);
void add_report(CLI::App& app);

// 0 on success, 2 for bad input or usage (one line on stderr), 1 for internal errors. seams: test
// seams for `run` (main passes none).
int run_cli(int argc, char** argv, const RunSeams& seams = {});

}  // namespace backscore::cli
