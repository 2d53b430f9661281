// backscore-mpi's command line (see main.hpp): the `run` subcommand with backscore run's options.
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "host/cli/errors.hpp"
#include "host/cli/run_job.hpp"
#include "host/mpi/main.hpp"
#include "host/mpi/sharded_run.hpp"
#include "host/mpi/world.hpp"
#include "version.hpp"

namespace backscore::mpi {

int main_of_rank(int argc, char** argv, const RunSeams& seams) {
  std::optional<World> world;
  try {
    world.emplace(&argc, &argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "backscore: error: %s\n", e.what());
    return 2;
  }
  const bool root = world->rank() == 0;
  CLI::App app{"backscore-mpi: backscore run with the eras split among the ranks of an MPI job.",
               "backscore-mpi"};
  app.set_version_flag("--version", std::string("backscore ") + kVersion);
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::help);
  cli::RunArgs args;
  CLI::App* cmd = app.add_subcommand(
      "run", "Score every model in every era of a store, the eras split among the MPI ranks.");
  cmd->footer(
      "Example:\n  mpirun -q -n 8 backscore-mpi run history.h5 --formulas corr,mmc,fnc "
      "--out scores.h5 --csv scores.csv\n"
      "The outputs are the bytes `backscore run` writes with the same options, for any number of "
      "ranks; rank 0 writes them and keeps the journal, so --resume works with any number of "
      "ranks. Each rank takes --threads threads (default: its share of the node's cores) and, "
      "with CUDA, the GPU (its rank on the node) mod (the node's GPUs).");
  cli::add_run_options(cmd, args);
  int status = 0;
  cmd->callback([&] { status = run_sharded(*world, args, seams); });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Every rank parses the same command line: rank 0 speaks for them.
    if (!root) return e.get_exit_code() == 0 ? 0 : 2;
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    std::fprintf(stderr, "backscore: error: %s\n", e.what());
    return 2;
  } catch (...) {
    // run_sharded handles its own errors; this is a failure of the command line itself.
    const cli::CapturedError error = cli::capture_error(std::current_exception());
    if (root) std::fprintf(stderr, "%s\n", cli::error_line(error).c_str());
    return cli::exit_status(error.kind);
  }
  return status;
}

}  // namespace backscore::mpi
