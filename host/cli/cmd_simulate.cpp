// `backscore simulate`: stakes and meta-model under each payout rule (host/run/simulation.hpp),
// journaled era by era for --resume, then written as a simulation file and CSV tables. The
// steps are simulate_job.*'s, shared with the Python module; here the options and the report.
#include <memory>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/run_job.hpp"
#include "host/cli/simulate_job.hpp"
#include "host/lang/payout_rule.hpp"

namespace backscore::cli {
namespace {

void run(const SimulateArgs& a, const RunSeams& seams) {
  if (a.out_h5.empty() && a.csv_dir.empty()) {
    throw InputError("simulate needs --out SIM.h5 or --csv DIR (or both)");
  }
  print_simulate_report(a, simulate_journaled(a, seams));
}

}  // namespace

void add_simulate(CLI::App& app, const RunSeams& seams) {
  auto a = std::make_shared<SimulateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "simulate",
      "What stakes and the meta-model would have become had the tournament paid by each rule.");
  cmd->footer(
      "Example:\n  backscore simulate history.h5 --rule mmc=numerai2024 "
      "--rule mmc2='clip(pf*(0.5*corr + 2*mmc2), -0.05, 0.05)' "
      "--rule burnflip='clip(pf*(0.5*corr + 2*mmc2_burnflip), -0.05, 0.05)' --out sim.h5 "
      "--csv sim\n"
      "Each rule keeps its own stakes: every era its meta-model is rebuilt from them, every model "
      "is scored against that meta-model and paid by the rule, and the payout joins the stake "
      "--resolve-lag eras later (docs/FORMULAS.md, \"Simulation\"). A killed simulation continues "
      "with the same command plus --resume. backscore report --simulation sim.h5 draws it.");
  cmd->add_option("store", a->store, "The store (HDF5), e.g. history.h5")->required();
  cmd->add_option("--rule", a->rules,
                  "NAME=RULE: a payout rule of the formula language or a preset (" +
                      payout_preset_list() +
                      "); a preset's name alone names the rule after it. Repeatable, e.g. "
                      "--rule numerai2024 --rule half='clip(0.5*corr + mmc, -0.05, 0.05)'")
      ->required();
  cmd->add_option("--formula", a->definitions,
                  "Define a formula in the formula language for the rules to name (repeatable; "
                  "evaluated against each rule's meta-model), e.g. --formula 'mmc_half = mmc - "
                  "0.5 * corr' --rule 'half=clip(mmc_half, -0.05, 0.05)'");
  cmd->add_option("--formula-file", a->formula_files,
                  "Definitions from FILE, one a line, # comments (repeatable), e.g. "
                  "--formula-file proposals.txt");
  cmd->add_option("--out", a->out_h5, "Simulation file (HDF5) to write, e.g. --out sim.h5");
  cmd->add_option("--csv", a->csv_dir,
                  "Directory for eras.csv (per rule and era) and stakes.csv (per rule, model and "
                  "era), created when missing, e.g. --csv sim");
  cmd->add_option("--target", a->target, "Target scored against, e.g. --target target_b")
      ->capture_default_str();
  cmd->add_option("--benchmark", a->benchmark,
                  "Benchmark model of bmc (default: the store's first), e.g. --benchmark lgbm");
  cmd->add_option("--start", a->start,
                  "First era simulated (default: the store's first); every model starts from "
                  "its stake in its first era from then on, e.g. --start era0100");
  cmd->add_option("--resolve-lag", a->resolve_lag,
                  "Eras from an era to its payout joining the stake (1: the next era; 4: weekly "
                  "eras with 20-day targets), e.g. --resolve-lag 1")
      ->check(resolve_lag_bounds())
      ->capture_default_str();
  cmd->add_option("--flows", a->flows,
                  "none: stakes move by the simulated payouts only; observed: also by the "
                  "store's stake changes between a model's eras (deposits, withdrawals), scaled "
                  "to its simulated stake")
      ->check(flows_choices())
      ->capture_default_str();
  cmd->add_option("--observed-payout", a->observed_payout,
                  "With --flows observed: the rule or preset the store's stakes were paid by; its "
                  "payouts (against the store's meta-model, on the store's stakes, after "
                  "--resolve-lag) are taken out of the observed stake changes, so only deposits "
                  "and withdrawals remain as flows (default: none, every change is a flow), e.g. "
                  "--observed-payout classic-2024");
  cmd->add_option("--payout-param", a->payout_params,
                  "A preset's parameter NAME=VALUE for the presets among the rules, e.g. "
                  "--payout-param cm=1,mm=2")
      ->delimiter(',');
  cmd->add_option("--payout-threshold", a->payout_threshold,
                  "NMR: pf = min(1, this / the rule's simulated total stake); default: each "
                  "rule's (72000 for classic and rules written out), e.g. --payout-threshold "
                  "300000")
      ->check(payout_threshold_bounds());
  cmd->add_option("--threads", a->threads, "OpenMP threads (default: all cores), e.g. --threads 8")
      ->check(simulate_threads_bounds());
  add_backend_options(cmd, a->backend, a->device, a->gpu_memory_mib, a->gpu_streams);
  cmd->add_flag("--resume", a->resume, "Continue a killed simulation of the same command");
  cmd->add_flag("--quiet", a->quiet, "No progress line");
  cmd->add_flag("--timings", a->timings, "Where the time went, on stderr");
  cmd->callback([a, seams] { run(*a, seams); });
}

}  // namespace backscore::cli
