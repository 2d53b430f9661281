// `backscore compare`: a candidate formula against a baseline over one scores file — per-model
// statistics, rank agreement per era, leaderboard moves and (with the store's stakes) payouts.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <unordered_map>

#include "host/cli/commands.hpp"
#include "host/report/compare.hpp"
#include "host/report/payout_rule.hpp"
#include "core/error.hpp"
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

void run(const CompareArgs& a) {
  // Parse the rule first: a typo should not wait for the scores to load.
  std::optional<PayoutRule> rule;
  if (!a.store.empty()) {
    rule = PayoutRule::parse(a.payout);
  } else if (a.payout_given) {
    throw InputError("--payout needs --store (the stakes live in the store)");
  }
  const ScoresFileReader file(a.scores);
  const ScoreMatrix base = load_scores(file, a.baseline, "--baseline");
  const ScoreMatrix cand = load_scores(file, a.candidate, "--candidate");

  std::vector<ScoreMatrix> rule_scores;
  PayoutInput payout;
  if (rule) {
    for (const std::string& name : rule->names()) {
      if (!file.has_formula(name)) {
        throw InputError("--payout: the rule '" + rule->text() + "' uses '" + name + "' but " +
                         file.path().string() +
                         " has no such formula (it has: " + formula_list(file) + ")");
      }
    }
    const StoreReader store(a.store);
    payout.stakes = read_stakes(store, file);
    rule_scores.reserve(rule->names().size());
    for (const std::string& name : rule->names()) {
      rule_scores.push_back(name == base.formula ? base : load_scores(file, name, "--payout"));
    }
    for (const ScoreMatrix& m : rule_scores) payout.baseline_scores.push_back(&m);
    payout.rule = *rule;
  }
  const CompareResult r = compare(base, cand, rule ? &payout : nullptr);
  // Every input is read and checked: only now may the output directory appear.
  if (!a.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(a.out_dir, ec);
    if (ec) throw InputError("--out-dir: cannot create " + a.out_dir + ": " + ec.message());
  }
  const std::vector<std::string>& models = file.models();

  std::printf("compare %s (baseline) with %s (candidate): %zu models, %zu eras, %s\n\n",
              base.formula.c_str(), cand.formula.c_str(), models.size(), file.eras().size(),
              file.path().c_str());

  // Per-model statistics, best baseline mean first.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < models.size(); ++i) {
    if (r.base_stats[i].n_eras > 0 || r.cand_stats[i].n_eras > 0) order.push_back(i);
  }
  auto rank_key = [](std::size_t rank) { return rank == 0 ? SIZE_MAX : rank; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return rank_key(r.base_rank[x]) < rank_key(r.base_rank[y]);
  });
  {
    Table csv{{"model"}, {}};
    Table term{{"model"}, {}};
    for (const auto* f : {&base.formula, &cand.formula}) {
      for (const char* col : {"eras", "mean", "std", "sharpe", "max_drawdown"}) {
        csv.header.push_back(*f + "_" + col);
      }
      for (const char* col : {"eras", "mean", "std", "sharpe", "max_dd"}) {
        term.header.push_back(std::string(f == &base.formula ? "b_" : "c_") + col);
      }
    }
    for (std::size_t i : order) {
      std::vector<std::string> c{models[i]}, t{models[i]};
      for (const ModelStats* s : {&r.base_stats[i], &r.cand_stats[i]}) {
        c.insert(c.end(), {std::to_string(s->n_eras), csv_number(s->mean), csv_number(s->std),
                           csv_number(s->sharpe), csv_number(s->max_drawdown)});
        t.insert(t.end(), {std::to_string(s->n_eras), fixed(s->mean, 5), fixed(s->std, 5),
                           fixed(s->sharpe, 3), fixed(s->max_drawdown, 4)});
      }
      csv.rows.push_back(std::move(c));
      term.rows.push_back(std::move(t));
    }
    std::printf("models (b_ = %s, c_ = %s; best baseline mean first):\n", base.formula.c_str(),
                cand.formula.c_str());
    term.print(stdout, a.top);
    if (!a.out_dir.empty()) csv.write_csv(fs::path(a.out_dir) / "models.csv");
  }

  // Agreement between the formulas.
  {
    const Distribution& d = r.era_spearman_dist;
    std::printf("\nSpearman(%s, %s) across models, per era (%zu eras with a value):\n",
                base.formula.c_str(), cand.formula.c_str(), d.n);
    Table t{{"", "mean", "min", "q1", "median", "q3", "max"},
            {{"per era", fixed(d.mean, 4), fixed(d.min, 4), fixed(d.q1, 4), fixed(d.median, 4),
              fixed(d.q3, 4), fixed(d.max, 4)}}};
    t.print(stdout);
    std::printf("overall Spearman over %zu model-eras: %s\n", r.overall_pairs,
                fixed(r.overall_spearman, 4).c_str());
    if (!a.out_dir.empty()) {
      Table eras{{"era", "models", "spearman"}, {}};
      for (std::size_t j = 0; j < file.eras().size(); ++j) {
        eras.rows.push_back(
            {file.eras()[j], std::to_string(r.era_pairs[j]), csv_number(r.era_spearman[j])});
      }
      eras.write_csv(fs::path(a.out_dir) / "eras.csv");
    }
  }

  // Leaderboard: ranks by mean score under each formula, biggest moves.
  {
    auto rank_text = [](std::size_t rank) { return rank ? std::to_string(rank) : std::string(); };
    for (bool up : {true, false}) {
      const std::vector<Mover> mv = movers(r, up, a.top);
      std::printf("\nbiggest movers %s (rank by mean score; top %zu):\n", up ? "up" : "down",
                  a.top);
      Table t{{"model", "base_rank", "cand_rank", "move", "base_mean", "cand_mean"}, {}};
      for (const Mover& m : mv) {
        t.rows.push_back(
            {models[m.model], rank_text(r.base_rank[m.model]), rank_text(r.cand_rank[m.model]),
             (m.move > 0 ? "+" : "") + std::to_string(m.move), fixed(r.base_stats[m.model].mean, 5),
             fixed(r.cand_stats[m.model].mean, 5)});
      }
      if (t.rows.empty()) {
        std::printf("(none)\n");
      } else {
        t.print(stdout);
      }
    }
    if (!a.out_dir.empty()) {
      Table lb{
          {"model", "baseline_rank", "candidate_rank", "move", "baseline_mean", "candidate_mean"},
          {}};
      for (std::size_t i : order) {
        const bool both = r.base_rank[i] && r.cand_rank[i];
        const long move = static_cast<long>(r.base_rank[i]) - static_cast<long>(r.cand_rank[i]);
        lb.rows.push_back({models[i], rank_text(r.base_rank[i]), rank_text(r.cand_rank[i]),
                           both ? std::to_string(move) : std::string(),
                           csv_number(r.base_stats[i].mean), csv_number(r.cand_stats[i].mean)});
      }
      lb.write_csv(fs::path(a.out_dir) / "leaderboard.csv");
    }
  }

  // Payouts.
  if (!r.payouts) {
    std::printf("\npayouts: not computed (give --store STORE for stakes)\n");
  } else {
    const auto& per = *r.payouts;
    std::printf("\npayouts under %s, stake x rule per model-era (candidate: %s in place of %s):\n",
                payout.rule.text().c_str(), cand.formula.c_str(), base.formula.c_str());
    if (!r.rule_names_baseline) {
      std::fprintf(stderr,
                   "backscore compare: note: the payout rule does not use '%s', so the candidate "
                   "pays the same as the baseline\n",
                   base.formula.c_str());
    }
    std::vector<std::size_t> by_change;
    for (std::size_t i = 0; i < per.size(); ++i) {
      if (per[i].staked_eras > 0) by_change.push_back(i);
    }
    std::stable_sort(by_change.begin(), by_change.end(), [&](std::size_t x, std::size_t y) {
      return std::fabs(per[x].candidate - per[x].baseline) >
             std::fabs(per[y].candidate - per[y].baseline);
    });
    auto row = [&](const std::string& name, const ModelPayout& p, bool csv) {
      auto num = [&](double v) { return csv ? csv_number(v) : fixed(v, 4); };
      return std::vector<std::string>{name,
                                      std::to_string(p.staked_eras),
                                      num(p.baseline),
                                      num(p.candidate),
                                      num(p.candidate - p.baseline),
                                      std::to_string(p.baseline_nan),
                                      std::to_string(p.candidate_nan)};
    };
    const std::vector<std::string> header{"model",  "staked_eras",  "baseline",     "candidate",
                                          "change", "baseline_nan", "candidate_nan"};
    Table t{header, {}};
    for (std::size_t i : by_change) t.rows.push_back(row(models[i], per[i], false));
    std::printf("largest changes (NaN columns: model-eras paid 0 for a missing score):\n");
    t.print(stdout, a.top);
    Table total{header, {row("TOTAL", r.payout_total, false)}};
    total.print(stdout);
    if (!a.out_dir.empty()) {
      Table csv{header, {}};
      for (std::size_t i : order) {
        if (per[i].staked_eras > 0) csv.rows.push_back(row(models[i], per[i], true));
      }
      csv.rows.push_back(row("TOTAL", r.payout_total, true));
      csv.write_csv(fs::path(a.out_dir) / "payouts.csv");
    }
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
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([a, cmd] {
    a->payout_given = cmd->count("--payout") > 0;
    run(*a);
  });
}

}  // namespace backscore::cli
