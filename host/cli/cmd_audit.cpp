// `backscore audit`: checks formulas' incentive properties (MOTIVATION.md) era by era on a scored
// history: originality never punished, relative performance rewarded, and the slope of the score
// on the correlation with the meta-model in burn and other eras. Several formulas share one pass
// over the store; the first is the reference the others are judged against for the burn eras.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "host/cli/audit_job.hpp"
#include "host/cli/audit_options.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/report/audit.hpp"
#include "host/report/compare.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

void run(AuditArgs& a) {
  if (!a.out_dir.empty()) {
    std::vector<NamedPath> outputs;
    for (const char* name : {"audit_summary.csv", "audit_violations.csv"}) {
      outputs.push_back({"--out-dir", fs::path(a.out_dir) / name});
    }
    refuse_aliased_outputs({{"the scores file", a.scores}, {"--store", a.store}}, outputs);
    check_output_dir({"--out-dir", a.out_dir});
  }
  const std::unique_ptr<AuditJob> job = run_audit(a);
  const ScoresFileReader& file = job->file;
  const AuditQuantities& q = job->q;
  const std::vector<AuditResult>& results = job->results;
  // Every input is read and checked: only now may the output directory appear.
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError("--out-dir: cannot create " + a.out_dir + ": " + ec.message());
  }

  std::printf(
      "audit of %s: %zu eras, %zu burn eras (meta-model %s < 0), %zu submitted "
      "model-eras\nxcorr = Spearman(predictions, meta-model) on the ids submitted; "
      "pairs within one era\n%s",
      file.path().c_str(), q.n_eras, q.burn_eras(), a.o.corr_formula.c_str(), q.model_eras,
      q.corr_from_store ? (a.o.corr_formula + " of each model-era computed from the store (the "
                                              "scores file has no such column)\n")
                              .c_str()
                        : "");
  for (const AuditResult& r : results) {
    std::printf("\n== %s (%zu model-eras with %s, %s and xcorr finite)\n", r.formula.c_str(),
                r.observed, r.formula.c_str(), a.o.corr_formula.c_str());
    std::printf(
        "(a) originality is never punished (|%s diff| < %g; the one less correlated with "
        "the meta-model should not score lower): %s\n",
        a.o.corr_formula.c_str(), a.o.corr_tol, pair_verdict(r.originality).c_str());
    std::printf(
        "(b) relative performance is rewarded (|xcorr diff| < %g; the one with the higher "
        "%s - meta-model %s should not score lower): %s\n",
        a.o.xcorr_tol, a.o.corr_formula.c_str(), a.o.corr_formula.c_str(),
        pair_verdict(r.relative).c_str());
    std::printf(
        "(c) slope of %s on xcorr, controlling for %s and the era (era fixed effects, "
        "95%% CI clustered by era):\n  %s\n  %s\n",
        r.formula.c_str(), a.o.corr_formula.c_str(), slope_verdict(r.burn, "burn eras").c_str(),
        slope_verdict(r.other, "other eras").c_str());
    for (int p = 0; p < 2; ++p) {
      const PairCheck& c = p == 0 ? r.originality : r.relative;
      if (c.worst.empty()) continue;
      std::printf(
          "worst violations of (%c) (the first model should score at least the "
          "second's):\n",
          p == 0 ? 'a' : 'b');
      violations_table(r, c, file.models(), file.eras(), false).print(stdout);
    }
  }
  std::printf("\nsummary (rates: violating / comparable pairs; slopes: on xcorr, 95%% CI):\n");
  audit_summary_table(results, false).print(stdout);
  for (const std::string& line : burn_punishment_lines(results)) {
    std::printf("%s\n", line.c_str());
  }
  if (!a.out_dir.empty()) {
    for (const NamedTable& t : audit_csv_tables(*job)) t.table.write_csv(fs::path(a.out_dir) / t.name);
    std::printf("\nCSV tables written to %s\n", a.out_dir.c_str());
  }
}

}  // namespace

void add_audit(CLI::App& app) {
  auto a = std::make_shared<AuditArgs>();
  CLI::App* cmd = app.add_subcommand(
      "audit", "Check formulas' incentive properties era by era on a scored history.");
  cmd->footer(
      "Example:\n  backscore audit scores.h5 --store history.h5 --formula mmc2,mmc2_burnflip,mmc "
      "--worst 5 --out-dir audit/\n"
      "xcorr = Spearman correlation of a model's predictions with the meta-model on the ids it "
      "submitted. Burn era: the meta-model's --corr-formula score < 0. (a) counts every same-era "
      "pair within --corr-tol on corr whose xcorr differ; a violation is the less "
      "meta-correlated one scoring strictly lower. (b) counts every same-era pair within "
      "--xcorr-tol on xcorr whose corr differ; a violation is the higher-corr one scoring "
      "strictly lower. (c) OLS of the score on corr and xcorr with era fixed effects, burn and "
      "other eras apart, 95% intervals clustered by era. Definitions: docs/FORMULAS.md.");
  cmd->add_option("scores", a->scores,
                  "Scores file written by `backscore run --out`, e.g. scores.h5")
      ->required();
  cmd->add_option("--store", a->store,
                  "The store that was scored (meta-model and predictions), e.g. --store history.h5")
      ->required();
  cmd->add_option("--formula", a->formulas,
                  "Formulas to audit, comma-separated; the first is the reference for the "
                  "burn-era verdicts, e.g. --formula mmc2,mmc2_burnflip,mmc")
      ->required();
  add_audit_options(cmd, a->o);
  cmd->add_option("--out-dir", a->out_dir,
                  "Also write audit_summary.csv and audit_violations.csv here (each written whole "
                  "under a temporary name, then renamed), e.g. --out-dir audit/");
  cmd->add_option("--batch", a->o.batch,
                  "Prediction columns read per batch (bounds memory), e.g. --batch 512")
      ->check(whole_number(1, kMaxBatch))
      ->capture_default_str();
  cmd->callback([a] {
    with_flags({{"formulas", "--formula"}, {"corr_formula", "--corr-formula"}}, [&] { run(*a); });
  });
}

}  // namespace backscore::cli
