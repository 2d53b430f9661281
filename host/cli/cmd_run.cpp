// `backscore run`: score every model in every era of a store under the chosen formulas, in one
// process (the steps are in run_job.hpp; backscore-mpi runs the same steps over MPI ranks).
#include "host/cli/commands.hpp"
#include "host/cli/run_job.hpp"

namespace backscore::cli {

void add_run(CLI::App& app, const RunSeams& seams) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Score every model in every era of a store.");
  cmd->footer(
      "Example:\n  backscore run history.h5 --formulas corr,mmc,mmc2 --top-bottom 200 "
      "--out scores.h5 --csv scores.csv --threads 8\n"
      "  backscore run history.h5 --formula 'mmc_half = mmc - 0.5 * corr' --formulas mmc,mmc_half\n"
      "A killed run continues with the same command plus --resume. On a cluster: "
      "mpirun -q -n RANKS backscore-mpi run ... (README, \"Running on a cluster\").");
  add_run_options(cmd, *a);
  cmd->callback([a, seams] {
    PreparedRun run = prepare_run(*a, seams, /*writes_outputs=*/true);
    const JournaledRun result =
        score_journaled(run, *a, run_first_line(run, a->threads), [&](RunJournal& journal) {
          return run_eras(run.store, run.options, journal.finished(),
                          [&](const EraScores& era) { journal.append(era); });
        });
    print_run_report(run, *a, result);
  });
}

}  // namespace backscore::cli
