// The formula language (host/lang/) computing scores: the toy era of the 2020 debate computed the
// thread's way, every built-in re-expressed in the language (docs/FORMULAS.md) against the
// compiled built-in on a synthetic store, and the run-time behaviour (undefined scores,
// references to built-ins, the journal, thread counts, explain).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "host/lang/eval.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "io/store.hpp"
#include "lang_support.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using namespace lang_testing;

// ---- The toy era of MOTIVATION.md, from tests/data ----

struct ToyEra {
  Era era;
  std::map<std::string, Vec> models;  // model -> predictions in id order
};

ToyEra read_toy() {
  const std::string dir = std::string(BACKSCORE_SOURCE_DIR) + "/tests/data/";
  std::ifstream uni(dir + "toy_universe.csv");
  std::string line;
  std::getline(uni, line);  // era,id,target,meta_model
  std::vector<std::tuple<std::string, double, double>> rows;
  while (std::getline(uni, line)) {
    const auto c = split_csv_line(line);
    rows.emplace_back(c[1], std::stod(c[2]), std::stod(c[3]));
  }
  std::sort(rows.begin(), rows.end());
  ToyEra toy;
  toy.era.name = "toy";
  for (const auto& [id, t, m] : rows) {
    toy.era.ids.push_back(id);
    toy.era.targets.push_back(t);
    toy.era.meta_model.push_back(m);
  }
  std::ifstream preds(dir + "toy_predictions.csv");
  std::getline(preds, line);  // model,era,id,prediction
  std::map<std::string, std::map<std::string, double>> by_model;
  while (std::getline(preds, line)) {
    const auto c = split_csv_line(line);
    by_model[c[0]][c[2]] = std::stod(c[3]);
  }
  for (const auto& [model, values] : by_model) {
    for (const std::string& id : toy.era.ids) toy.models[model].push_back(values.at(id));
  }
  return toy;
}

TEST(LangToy, Mmc2OnRawValuesReproducesTheThread) {
  const ToyEra toy = read_toy();
  ASSERT_EQ(toy.era.ids.size(), 20u) << "tests/data/toy_universe.csv not found or malformed";
  ASSERT_TRUE(toy.models.count("A") && toy.models.count("B"));
  StoreSchema schema;
  schema.targets = {"target"};
  schema.has_meta_model = true;
  // The thread's script: MMC2 on the raw values (no re-ranking), neutralized against the raw
  // meta-model and a constant column, np.cov (ddof 1) with the target, / 0.29^2; correlations
  // as Pearson of the raw target with the tie-broken percentile rank.
  const lang::Plan plan = compile(
      {"mmc2_raw = cov(neutralize(pred, meta_model, proportion=1), target, ddof=1) / 0.29^2",
       "corr_thread = pearson(target, rank(pred, ties=first))"},
      &schema);
  ASSERT_EQ(plan.formulas.size(), 2u);
  const lang::EraStages stages(plan, toy.era, {});
  lang::ModelEvaluator eval(plan);
  Vec out(2);
  eval.evaluate(stages, toy.models.at("A"), {}, out);
  EXPECT_NEAR(out[0], 0.108540897427874, 1e-12);
  EXPECT_NEAR(out[1], 0.024525573579399, 1e-12);
  eval.evaluate(stages, toy.models.at("B"), {}, out);
  EXPECT_NEAR(out[0], -0.437097127479817, 1e-12);
  EXPECT_NEAR(out[1], 0.024525573579399, 1e-12);
  eval.evaluate(stages, toy.era.meta_model, {}, out);  // the meta-model's own corr: a burn era
  EXPECT_NEAR(out[1], -0.055182540553647, 1e-12);
}

TEST(LangToy, MirrorImageNegatesTheRawMmc2) {
  const ToyEra toy = read_toy();
  ASSERT_TRUE(toy.models.count("B") && toy.models.count("mirror_B"));
  StoreSchema schema;
  schema.targets = {"target"};
  schema.has_meta_model = true;
  const lang::Plan plan =
      compile({"m = cov(neutralize(pred, meta_model), target) / 0.29^2"}, &schema);
  const lang::EraStages stages(plan, toy.era, {});
  lang::ModelEvaluator eval(plan);
  Vec b(1), mirror(1);
  eval.evaluate(stages, toy.models.at("B"), {}, b);
  eval.evaluate(stages, toy.models.at("mirror_B"), {}, mirror);
  EXPECT_NEAR(mirror[0], -b[0], 1e-15);
}

// ---- Every built-in re-expressed in the language (docs/FORMULAS.md) ----

// Runs backscore and returns the CSV as model,era -> column -> cell.
struct Csv {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::size_t column(const std::string& name) const {
    const auto it = std::find(header.begin(), header.end(), name);
    return static_cast<std::size_t>(it - header.begin());
  }
};
Csv read_csv(const std::filesystem::path& p) {
  std::istringstream in(read_file(p));
  Csv csv;
  std::string line;
  std::getline(in, line);
  csv.header = split_csv_line(line);
  while (std::getline(in, line)) {
    auto cells = split_csv_line(line);
    cells.resize(csv.header.size());
    csv.rows.push_back(std::move(cells));
  }
  return csv;
}

// Every cell of column a equals column b to tol (NaN where the other is NaN); returns finite
// cells compared.
std::size_t expect_columns_agree(const Csv& csv, const std::string& a, const std::string& b,
                                 double tol) {
  const std::size_t ca = csv.column(a), cb = csv.column(b);
  EXPECT_LT(ca, csv.header.size()) << a;
  EXPECT_LT(cb, csv.header.size()) << b;
  if (ca >= csv.header.size() || cb >= csv.header.size()) return 0;
  std::size_t finite = 0;
  for (const auto& r : csv.rows) {
    if (r[ca].empty() || r[cb].empty()) {
      EXPECT_EQ(r[ca].empty(), r[cb].empty()) << a << " vs " << b << " at " << r[0] << " " << r[1];
      continue;
    }
    EXPECT_NEAR(std::stod(r[ca]), std::stod(r[cb]), tol)
        << a << " vs " << b << " at " << r[0] << " " << r[1];
    ++finite;
  }
  return finite;
}

TEST(LangBuiltins, EveryBuiltinInTheLanguageEqualsTheCompiledBuiltin) {
  const std::string defs = docs_definitions();
  ASSERT_FALSE(defs.empty()) << "docs/FORMULAS.md has no ```formulas block";
  TempDir dir;
  synth_store(dir / "s.h5");
  write_file(dir / "builtins.txt", defs);
  const std::vector<std::string> builtins = {
      "corr_v1",   "corr",      "mmc",       "bmc",          "mmc2",
      "mmc2_burnflip", "fnc",   "neutral_corr", "neutral_mmc", "alpha",
      "corr_tb200", "mmc_tb200", "bmc_tb200", "fnc_tb200", "neutral_corr_tb200",
      "neutral_mmc_tb200"};
  std::string lang_names;
  for (const std::string& b : builtins) lang_names += (lang_names.empty() ? "" : ",") + b + "_lang";
  // The built-ins alone, and the language versions alone: two runs, no sharing between them.
  const auto r1 =
      run_backscore({"run", (dir / "s.h5").string(), "--formulas", "all", "--top-bottom", "200",
                     "--csv", (dir / "b.csv").string(), "--quiet"});
  ASSERT_EQ(r1.status, 0) << r1.err;
  const auto r2 = run_backscore({"run", (dir / "s.h5").string(), "--formula-file",
                                 (dir / "builtins.txt").string(), "--formulas", lang_names, "--csv",
                                 (dir / "l.csv").string(), "--quiet"});
  ASSERT_EQ(r2.status, 0) << r2.err;
  EXPECT_NE(r2.err.find("on their own id subset"), std::string::npos);
  EXPECT_EQ(r2.err.find(" 0 on their own id subset"), std::string::npos)
      << "the store should have models scored on a subset of ids: " << r2.err;
  const Csv b = read_csv(dir / "b.csv"), l = read_csv(dir / "l.csv");
  ASSERT_EQ(b.rows.size(), l.rows.size());
  // Join side by side (same model, era order).
  Csv both = b;
  for (const std::string& h : l.header) {
    if (h != "model" && h != "era") both.header.push_back(h);
  }
  for (std::size_t i = 0; i < b.rows.size(); ++i) {
    ASSERT_EQ(b.rows[i][0], l.rows[i][0]);
    ASSERT_EQ(b.rows[i][1], l.rows[i][1]);
    both.rows[i].insert(both.rows[i].end(), l.rows[i].begin() + 2, l.rows[i].end());
  }
  for (const std::string& name : builtins) {
    EXPECT_GT(expect_columns_agree(both, name, name + "_lang", 1e-12), 100u) << name;
  }
}

TEST(LangBuiltins, Mmc2BurnflipInTheLanguageEqualsTheBuiltin) {
  TempDir dir;
  synth_store(dir / "s.h5", "5");
  const auto r = run_backscore(
      {"run", (dir / "s.h5").string(), "--formulas", "mmc2_burnflip,mmc2,burnflip", "--formula",
       "burnflip = if(mm_corr < 0, max((1 - pearson(meta_model, u)) * (c - mm_corr), "
       "cov(neutralize(u, rank(meta_model, ties=first), proportion=-1), target) / 0.29^2, c), "
       "cov(neutralize(u, rank(meta_model, ties=first)), target) / 0.29^2)",
       "--formula", "u = rank(pred, ties=first)", "--formula",
       "mm_corr = pearson(target, rank(meta_model, ties=first))", "--formula",
       "c = pearson(target, u)", "--csv", (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Csv csv = read_csv(dir / "o.csv");
  EXPECT_EQ(csv.header,
            (std::vector<std::string>{"model", "era", "mmc2_burnflip", "mmc2", "burnflip"}));
  EXPECT_GT(expect_columns_agree(csv, "mmc2_burnflip", "burnflip", 1e-12), 100u);
  // burn eras took the other branch somewhere: the two built-ins differ there
  std::size_t differ = 0;
  for (const auto& row : csv.rows) differ += !row[2].empty() && row[2] != row[3];
  EXPECT_GT(differ, 0u) << "no burn era in the synthetic store";
}

// ---- Runs ----

TEST(LangRun, ReferencesToBuiltinsUseTheirExactScores) {
  TempDir dir;
  synth_store(dir / "s.h5");
  const auto r =
      run_backscore({"run", (dir / "s.h5").string(), "--formula", "mix = 0.5 * corr + 2 * mmc",
                     "--formulas", "corr,mmc,mix", "--csv", (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Csv csv = read_csv(dir / "o.csv");
  std::size_t checked = 0;
  for (const auto& row : csv.rows) {
    if (row[2].empty()) continue;
    EXPECT_EQ(std::stod(row[4]), 0.5 * std::stod(row[2]) + 2 * std::stod(row[3]));
    ++checked;
  }
  EXPECT_GT(checked, 100u);
}

TEST(LangRun, UndefinedScoresAreNaNAndCounted) {
  TempDir dir;
  synth_store(dir / "s.h5");
  const auto r = run_backscore(
      {"run", (dir / "s.h5").string(), "--formula", "z = pearson(target, pred) / 0", "--formula",
       "ok = pearson(target, pred)", "--csv", (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  const Csv csv = read_csv(dir / "o.csv");
  std::size_t scored = 0;
  for (const auto& row : csv.rows) {
    EXPECT_TRUE(row[2].empty());
    scored += !row[3].empty();
  }
  EXPECT_NE(r.err.find("z " + std::to_string(scored) + ", ok 0"), std::string::npos) << r.err;
}

TEST(LangRun, SameBytesForAnyThreadCountAndTheJournalKnowsTheDefinitions) {
  TempDir dir;
  synth_store(dir / "s.h5");
  write_file(dir / "f.txt", docs_definitions());
  std::string outs[2];
  const char* threads[2] = {"1", "3"};
  for (int i = 0; i < 2; ++i) {
    const auto csv = dir / ("t" + std::string(threads[i]) + ".csv");
    const auto r =
        run_backscore({"run", (dir / "s.h5").string(), "--formula-file", (dir / "f.txt").string(),
                       "--threads", threads[i], "--batch", "7", "--csv", csv.string(), "--quiet"});
    ASSERT_EQ(r.status, 0) << r.err;
    outs[i] = read_file(csv);
  }
  EXPECT_EQ(outs[0], outs[1]);
  // A killed run resumes only with the same definitions.
  auto r = testing::run_with_seams(
      {"--kill-after-eras", "2"},
      {"run", (dir / "s.h5").string(), "--formula", "x = pearson(target, pred)", "--csv",
       (dir / "k.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 128 + SIGKILL) << r.err;
  r = run_backscore({"run", (dir / "s.h5").string(), "--formula", "x = pearson(target, rank(pred))",
                     "--csv", (dir / "k.csv").string(), "--quiet", "--resume"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("belongs to another job"), std::string::npos) << r.err;
  r = run_backscore({"run", (dir / "s.h5").string(), "--formula", "x = pearson(target, pred)",
                     "--csv", (dir / "k.csv").string(), "--quiet", "--resume"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(LangRun, ExplainPrintsThePlan) {
  const auto r =
      run_backscore({"explain", "--formula", "a = pearson(target, rank(pred))", "--formula",
                     "b = pearson(rank(meta_model), rank(pred)) - mmc", "--formulas", "corr,a,b"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("columns: corr (built-in) a b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("era stages"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank(#"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("used by: a, b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("built-in formulas used (their compiled path): mmc"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace backscore
