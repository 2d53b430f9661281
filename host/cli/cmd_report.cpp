// `backscore report`: one self-contained HTML page (inline SVG plots, no scripts, no network) with
// the compare and audit results of a scored history, and/or the results of `backscore simulate`
// (--simulation).
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>

#include "core/error.hpp"
#include "host/cli/audit_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/formula_options.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/report/report.hpp"
#include "host/report/simulation_report.hpp"
#include "io/name_list.hpp"
#include "io/scores_file.hpp"
#include "io/sim_file.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

struct ReportArgs {
  std::string scores, store, simulation, out, formulas, models;
  std::vector<std::string> payout_params;
  ReportOptions o;
  std::string scores_option_given;  // the first option given that only a scores file uses
};

void run(ReportArgs& a) {
  // What the page is made of: a scores file with its store, a simulation file, or both.
  if (a.scores.empty() && a.simulation.empty()) {
    throw InputError(
        "report needs a scores file with --store, or --simulation SIM.h5 (or both), e.g. "
        "`backscore report scores.h5 --store history.h5 --out report.html`");
  }
  if (!a.scores.empty() && a.store.empty()) {
    throw InputError("--store is required with a scores file (the store that was scored)");
  }
  if (a.scores.empty() && !a.store.empty()) {
    throw InputError(
        "--store is used only with a scores file (give the scores file too, or drop "
        "--store)");
  }
  if (a.scores.empty() && !a.scores_option_given.empty()) {
    throw InputError(a.scores_option_given +
                     " is used only with a scores file (the simulation section has no options)");
  }
  refuse_aliased_outputs(
      {{"the scores file", a.scores}, {"--store", a.store}, {"--simulation", a.simulation}},
      {{"--out", a.out}});
  check_output_file({"--out", a.out});
  std::optional<SimulationFileReader> sim;
  if (!a.simulation.empty()) sim.emplace(a.simulation);
  if (a.scores.empty()) {
    const SimulationReportSummary s = write_simulation_report(*sim, a.out);
    std::printf("backscore report: wrote %s: simulation of %zu rules over %zu eras, %zu plots\n",
                a.out.c_str(), s.rules, s.eras, s.plot_ids.size());
    return;
  }
  a.o.formulas = split_names(a.formulas, "--formulas");
  a.o.models = split_names(a.models, "--models");
  const OptionError::Flags flags = {{"formulas", "--formulas"},
                                    {"models", "--models"},
                                    {"payout", "--payout"},
                                    {"payout_params", "--payout-param"},
                                    {"payout_threshold", "--payout-threshold"},
                                    {"baseline", "--baseline"},
                                    {"candidate", "--candidate"},
                                    {"corr_formula", "--corr-formula"}};
  with_flags(flags, [&] {
    for (const std::string& p : a.payout_params) a.o.payout_params.push_back(parse_payout_param(p));
  });
  const ScoresFileReader file(a.scores);
  StoreReader store(a.store);
  const ReportSummary s = with_flags(
      flags, [&] { return write_report(file, store, a.o, a.out, sim ? &*sim : nullptr); });
  std::printf("backscore report: wrote %s: %zu formulas%s, %zu plots%s%s\n", a.out.c_str(),
              s.formulas.size(), sim ? " and the simulation" : "", s.plot_ids.size(),
              s.payouts ? "" : "; ", s.payouts ? "" : s.payout_note.c_str());
}

}  // namespace

void add_report(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  a->o.audit.worst = 5;
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Write one self-contained HTML report (plots, audit, payouts) of a scored history.");
  cmd->footer(
      "Example:\n  backscore report scores.h5 --store history.h5 --out report.html "
      "--formulas mmc,mmc2,mmc2_burnflip --models model0001,model0002\n"
      "The page opens with a one-screen summary (each formula's burn-era verdict with its slope "
      "and interval, the --candidate's payout against the --baseline's, the biggest leaderboard "
      "movers) linking to the details: the audit (as `backscore audit`), the payout comparison "
      "(as `backscore compare`, each formula in place of --baseline), the model diagnostics "
      "(docs/FORMULAS.md, \"Model diagnostics\"), cumulative scores of selected models, score "
      "vs correlation with the meta-model in burn and other eras, per-era distributions and the "
      "formula-to-formula Spearman matrix. Open it in any browser; it needs no network.\n"
      "  backscore report --simulation sim.h5 --out simulation.html\n"
      "A simulation file (`backscore simulate --out`) adds a section: which rule grows the better "
      "meta-model (mean per-era mm_corr difference with a Newey-West interval, whole history and "
      "second half), and per rule the cumulative mm_corr, effective models, Gini and total stake "
      "over time. Give it alone for a page of that section only, or with a scores file and "
      "--store for both.");
  cmd->add_option("scores", a->scores,
                  "Scores file written by `backscore run --out`, e.g. scores.h5 (needs --store; "
                  "optional with --simulation)");
  cmd->add_option("--store", a->store,
                  "The store that was scored (meta-model, predictions, stakes), e.g. --store "
                  "history.h5; required with a scores file");
  cmd->add_option("--simulation", a->simulation,
                  "Simulation file written by `backscore simulate --out`, e.g. --simulation "
                  "sim.h5");
  cmd->add_option("--out", a->out, "The HTML file to write, e.g. --out report.html")->required();
  cmd->add_option("--formulas", a->formulas,
                  "Formulas shown, comma-separated (default: all in the scores file), e.g. "
                  "--formulas mmc,mmc2,mmc2_burnflip");
  cmd->add_option("--models", a->models,
                  "Models in the cumulative-score plots, comma-separated (default: the 6 scored "
                  "in the most eras), e.g. --models model0001,model0007");
  cmd->add_option("--baseline", a->o.baseline,
                  "The formula of the payout rule each formula replaces, e.g. --baseline mmc")
      ->capture_default_str();
  cmd->add_option("--candidate", a->o.candidate,
                  "The formula the summary sets against --baseline (payout headline, biggest "
                  "movers); default: the first of --formulas that is not the baseline, e.g. "
                  "--candidate mmc2_burnflip");
  cmd->add_option("--payout", a->o.payout,
                  "Payout rule or preset (" + payout_preset_list() +
                      "), or none, e.g. --payout 'clip(pf*(corr + mmc), -0.25, 0.25)'")
      ->capture_default_str();
  add_payout_tuning_options(cmd, a->payout_params, a->o.payout_threshold);
  cmd->add_option("--eras-per-year", a->o.eras_per_year,
                  "Eras in a year, for the Calmar ratio and APY (52: weekly eras, as Numerai's "
                  "classic data), e.g. --eras-per-year 250 for daily rounds")
      ->check(real_number(1e-3, 1e6))
      ->capture_default_str();
  add_audit_options(cmd, a->o.audit);
  cmd->callback([a, cmd] {
    for (const char* name : {"--formulas", "--models", "--baseline", "--candidate", "--payout",
                             "--payout-param", "--payout-threshold", "--eras-per-year",
                             "--corr-formula", "--corr-tol", "--xcorr-tol", "--worst"}) {
      if (cmd->count(name) > 0) {
        a->scores_option_given = name;
        break;
      }
    }
    run(*a);
  });
}

}  // namespace backscore::cli
