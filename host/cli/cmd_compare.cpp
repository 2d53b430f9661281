// `backscore compare`: a candidate formula against a baseline over one scores file — per-model
// statistics, rank agreement per era, leaderboard moves and (with the store's stakes) payouts.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/compare_job.hpp"
#include "host/cli/formula_options.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/report/compare.hpp"
#include "host/report/compare_tables.hpp"
#include "host/report/diagnostics.hpp"
#include "host/report/payout_input.hpp"
#include "host/lang/payout_rule.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

// The CSV tables compare writes into --out-dir (compare_csv_tables; payouts.csv with payouts).
constexpr const char* kTables[] = {"models.csv", "eras.csv", "leaderboard.csv", "payouts.csv"};

void run(const CompareArgs& a) {
  if (!a.out_dir.empty()) {
    std::vector<NamedPath> outputs;
    for (const char* name : kTables) outputs.push_back({"--out-dir", fs::path(a.out_dir) / name});
    refuse_aliased_outputs({{"the scores file", a.scores}, {"--store", a.store}}, outputs);
    check_output_dir({"--out-dir", a.out_dir});
  }
  const std::unique_ptr<CompareJob> job = run_compare(a);
  const ScoresFileReader& file = job->file;
  const ScoreMatrix& base = job->base;
  const ScoreMatrix& cand = job->cand;
  const ModelExtras& extras = job->extras;
  const PayoutData& payout = job->payout;
  const CompareResult& r = job->result;
  // Every input is read and checked: only now may the output directory appear.
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError("--out-dir: cannot create " + a.out_dir + ": " + ec.message());
    for (const NamedTable& t : compare_csv_tables(*job)) {
      t.table.write_csv(fs::path(a.out_dir) / t.name);
    }
  }
  const std::vector<std::string>& models = file.models();
  const std::vector<std::size_t>& listed = job->listed;

  std::printf("compare %s (baseline) with %s (candidate): %zu models, %zu eras, %s\n\n",
              base.formula.c_str(), cand.formula.c_str(), models.size(), file.eras().size(),
              file.path().c_str());

  std::printf("models (b_ = %s, c_ = %s; best baseline mean first):\n", base.formula.c_str(),
              cand.formula.c_str());
  model_stats_table(r, models, listed, false).print(stdout, a.top);
  std::printf(
      "\nmodel diagnostics (ac1: lag-1 autocorrelation of the era scores; smart: Sharpe penalized "
      "by it; calmar: %g x mean / max drawdown; apy: the payout rule compounded over the staked "
      "eras, %g eras a year; max_fe: mean max_feature_corr; churn: 1 - corr with the previous "
      "era's predictions; -: not available; docs/FORMULAS.md):\n",
      a.eras_per_year, a.eras_per_year);
  diagnostics_table(r, models, listed, extras).print(stdout, a.top);

  std::printf("\nSpearman(%s, %s) across models, per era (%zu eras with a value):\n",
              base.formula.c_str(), cand.formula.c_str(), r.era_spearman_dist.n);
  era_agreement_summary(r).print(stdout);
  std::printf("overall Spearman over %zu model-eras: %s\n", r.overall_pairs,
              fixed(r.overall_spearman, 4).c_str());

  for (bool up : {true, false}) {
    std::printf("\nbiggest movers %s (rank by mean score; top %zu):\n", up ? "up" : "down", a.top);
    const Table t = movers_table(r, models, up, a.top);
    if (t.rows.empty()) {
      std::printf("(none)\n");
    } else {
      t.print(stdout);
    }
  }

  if (!r.payouts) {
    std::printf("\npayouts: not computed (give --store STORE for stakes)\n");
  } else {
    std::printf("\npayouts under %s, stake x rule per model-era (candidate: %s in place of %s)",
                payout.input.rule.text().c_str(), cand.formula.c_str(), base.formula.c_str());
    if (payout.input.rule.uses_payout_factor()) {
      std::printf("; pf = min(1, %g / the era's total stake at risk)", payout.threshold);
    }
    std::printf(":\n");
    if (!r.rule_names_baseline) {
      std::fprintf(stderr,
                   "backscore compare: note: the payout rule does not use '%s', so the candidate "
                   "pays the same as the baseline\n",
                   base.formula.c_str());
    }
    std::printf("largest changes (NaN columns: model-eras paid 0 for a missing score):\n");
    payout_changes_table(r, models).print(stdout, a.top);
    payout_total_table(r).print(stdout);
  }
  if (!a.out_dir.empty()) std::printf("\nCSV tables written to %s\n", a.out_dir.c_str());
}

}  // namespace

void add_compare(CLI::App& app) {
  auto a = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Compare a candidate formula with a baseline over a scores file.");
  cmd->footer(
      "Example:\n  backscore compare scores.h5 --baseline mmc --candidate mmc2_burnflip "
      "--store history.h5 --payout classic-2024 --out-dir report/ --top 20\n"
      "Payout rules: one scalar expression of the formula language over the scores file's "
      "formula names (numbers, + - * / ^, clip, min, max, abs, sign, if(cond, a, b), "
      "comparisons, and/or/not; docs/FORMULAS.md) and pf, the era's payout factor min(1, "
      "threshold / total stake at risk), or a preset (docs/FORMULAS.md, \"Payout presets\"): " +
      payout_preset_list() +
      ". Under the candidate, the candidate formula replaces the baseline wherever the rule names "
      "it. A model-era with a NaN score in the rule pays 0 and is counted. models.csv also "
      "holds each model's diagnostics (docs/FORMULAS.md, \"Model diagnostics\"); APY and churn "
      "need --store (churn reads the store's predictions once more).");
  cmd->add_option("scores", a->scores,
                  "Scores file written by `backscore run --out`, e.g. scores.h5")
      ->required();
  cmd->add_option("--baseline", a->baseline, "The current formula, e.g. --baseline mmc")
      ->required();
  cmd->add_option("--candidate", a->candidate,
                  "The proposed formula, e.g. --candidate mmc2_burnflip")
      ->required();
  cmd->add_option("--store", a->store,
                  "The store that was scored: its stakes give payouts (no payouts without it), "
                  "e.g. --store history.h5");
  cmd->add_option("--payout", a->payout,
                  "Payout rule or preset (needs --store), e.g. --payout classic-2020 or "
                  "--payout 'clip(pf*(corr + 2*mmc), -0.1, 0.1)'")
      ->capture_default_str();
  add_payout_tuning_options(cmd, a->payout_params, a->payout_threshold);
  cmd->add_option("--eras-per-year", a->eras_per_year,
                  "Eras in a year, for the Calmar ratio and APY (52: weekly eras, as Numerai's "
                  "classic data), e.g. --eras-per-year 250 for daily rounds")
      ->check(real_number(1e-3, 1e6))
      ->capture_default_str();
  cmd->add_option("--out-dir", a->out_dir,
                  "Also write models.csv, eras.csv, leaderboard.csv and payouts.csv here (each "
                  "written whole under a temporary name, then renamed), e.g. --out-dir report/");
  cmd->add_option("--top", a->top,
                  "Rows shown per table on the terminal (movers up, movers down, models, payout "
                  "changes); the CSV files hold every row, e.g. --top 20")
      ->check(whole_number(1, 1'000'000))
      ->capture_default_str();
  cmd->callback([a, cmd] {
    a->payout_given = cmd->count("--payout") > 0;
    with_flags({{"baseline", "--baseline"},
                {"candidate", "--candidate"},
                {"payout", "--payout"},
                {"payout_params", "--payout-param"}},
               [&] { run(*a); });
  });
}

}  // namespace backscore::cli
