// `backscore compare`: a candidate formula against a baseline over one scores file — per-model
// statistics, rank agreement per era, leaderboard moves and (with the store's stakes) payouts.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/report/compare.hpp"
#include "host/report/compare_tables.hpp"
#include "host/report/payout_input.hpp"
#include "host/report/payout_rule.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

struct CompareArgs {
  std::string scores, baseline, candidate, store, payout = "numerai2024", out_dir;
  std::size_t top = 10;
  bool payout_given = false;
};

// The CSV tables compare writes into --out-dir.
constexpr const char* kTables[] = {"models.csv", "eras.csv", "leaderboard.csv", "payouts.csv"};

void run(const CompareArgs& a) {
  if (!a.out_dir.empty()) {
    std::vector<NamedPath> outputs;
    for (const char* name : kTables) outputs.push_back({"--out-dir", fs::path(a.out_dir) / name});
    refuse_aliased_outputs({{"the scores file", a.scores}, {"--store", a.store}}, outputs);
    check_output_dir({"--out-dir", a.out_dir});
  }
  // Parse the rule first: a typo should not wait for the scores to load.
  std::optional<PayoutRule> rule;
  if (!a.store.empty()) {
    rule = PayoutRule::parse(a.payout);
  } else if (a.payout_given) {
    throw InputError("--payout needs --store (the stakes live in the store)");
  }
  const ScoresFileReader file(a.scores);
  const ScoreMatrix base = load_scores(file, a.baseline, "baseline");
  const ScoreMatrix cand = load_scores(file, a.candidate, "candidate");
  PayoutData payout;
  if (rule) {
    check_rule_formulas(*rule, file, true);
    StoreReader store(a.store);
    payout = load_payout(*rule, store, file, &base);
  }
  const CompareResult r = compare(base, cand, rule ? &payout.input : nullptr);
  // Every input is read and checked: only now may the output directory appear.
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError("--out-dir: cannot create " + a.out_dir + ": " + ec.message());
  }
  const std::vector<std::string>& models = file.models();
  const std::vector<std::size_t> listed = listed_models(r);
  const auto write_csv = [&](const Table& t, const char* name) {
    if (!a.out_dir.empty()) t.write_csv(fs::path(a.out_dir) / name);
  };

  std::printf("compare %s (baseline) with %s (candidate): %zu models, %zu eras, %s\n\n",
              base.formula.c_str(), cand.formula.c_str(), models.size(), file.eras().size(),
              file.path().c_str());

  std::printf("models (b_ = %s, c_ = %s; best baseline mean first):\n", base.formula.c_str(),
              cand.formula.c_str());
  model_stats_table(r, models, listed, false).print(stdout, a.top);
  write_csv(model_stats_table(r, models, listed, true), "models.csv");

  std::printf("\nSpearman(%s, %s) across models, per era (%zu eras with a value):\n",
              base.formula.c_str(), cand.formula.c_str(), r.era_spearman_dist.n);
  era_agreement_summary(r).print(stdout);
  std::printf("overall Spearman over %zu model-eras: %s\n", r.overall_pairs,
              fixed(r.overall_spearman, 4).c_str());
  write_csv(era_agreement_table(r, file.eras()), "eras.csv");

  for (bool up : {true, false}) {
    std::printf("\nbiggest movers %s (rank by mean score; top %zu):\n", up ? "up" : "down", a.top);
    const Table t = movers_table(r, models, up, a.top);
    if (t.rows.empty()) {
      std::printf("(none)\n");
    } else {
      t.print(stdout);
    }
  }
  write_csv(leaderboard_table(r, models, listed), "leaderboard.csv");

  if (!r.payouts) {
    std::printf("\npayouts: not computed (give --store STORE for stakes)\n");
  } else {
    std::printf("\npayouts under %s, stake x rule per model-era (candidate: %s in place of %s):\n",
                payout.input.rule.text().c_str(), cand.formula.c_str(), base.formula.c_str());
    if (!r.rule_names_baseline) {
      std::fprintf(stderr,
                   "backscore compare: note: the payout rule does not use '%s', so the candidate "
                   "pays the same as the baseline\n",
                   base.formula.c_str());
    }
    std::printf("largest changes (NaN columns: model-eras paid 0 for a missing score):\n");
    payout_changes_table(r, models).print(stdout, a.top);
    payout_total_table(r).print(stdout);
    write_csv(payout_table(r, models, listed), "payouts.csv");
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
      "--store history.h5 --payout numerai2024 --out-dir report/ --top 20\n"
      "Payout rules: one scalar expression of the formula language over the scores file's "
      "formula names (numbers, + - * / ^, clip, min, max, abs, sign, if(cond, a, b), "
      "comparisons, and/or/not; docs/FORMULAS.md); presets numerai2024 = clip(0.5*corr + 2*mmc, "
      "-0.05, 0.05) and "
      "numerai2020 = clip(corr + mmc, -0.25, 0.25). Under the candidate, the candidate formula "
      "replaces the baseline wherever the rule names it. A model-era with a NaN score in the "
      "rule pays 0 and is counted.");
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
                  "Payout rule or preset (needs --store), e.g. --payout numerai2020 or "
                  "--payout 'clip(corr + 2*mmc, -0.1, 0.1)'")
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
    with_flags({{"baseline", "--baseline"}, {"candidate", "--candidate"}, {"payout", "--payout"}},
               [&] { run(*a); });
  });
}

}  // namespace backscore::cli
