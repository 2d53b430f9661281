// Top-level command line: subcommand registration and the error-to-exit-status contract.
#include <cstdio>
#include <exception>
#include <string>

#include "host/cli/commands.hpp"
#include "host/cli/errors.hpp"
#include "version.hpp"

namespace backscore::cli {

int run_cli(int argc, char** argv, const RunSeams& seams) {
  CLI::App app{"backscore: rescore a whole tournament history under proposed scoring formulas.",
               "backscore"};
  app.set_version_flag("--version", std::string("backscore ") + kVersion);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  add_synth(app);
  add_import(app);
  add_import_numerai(app);
  add_inspect(app);
  add_run(app, seams);
  add_simulate(app, seams);
  add_formulas(app);
  add_explain(app);
  add_compare(app);
  add_audit(app);
  add_report(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "backscore: error: %s\n", e.what());
    return 2;
  } catch (...) {
    const CapturedError error = capture_error(std::current_exception());
    std::fprintf(stderr, "%s\n", error_line(error).c_str());
    return exit_status(error.kind);
  }
  return 0;
}

}  // namespace backscore::cli
