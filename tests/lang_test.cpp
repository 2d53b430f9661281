// The formula language (host/lang/): the toy era of the 2020 debate computed the thread's way,
// every built-in re-expressed in the language (docs/FORMULAS.md) against the compiled built-in
// on a synthetic store, compile errors and their messages, the plan's sharing of stages, and the
// run-time behaviour (undefined scores, references to built-ins, the journal, thread counts).
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
#include "host/lang/select.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::read_file;
using testing::run_backscore;
using testing::TempDir;
using testing::write_file;
using Vec = std::vector<double>;

std::vector<lang::Definition> parse_all(const std::vector<std::string>& texts) {
  std::vector<lang::Definition> defs;
  for (const std::string& t : texts) defs.push_back(lang::parse_definition(t));
  return defs;
}

lang::Plan compile(const std::vector<std::string>& texts, const StoreSchema* schema = nullptr,
                   const std::vector<std::string>& outputs = {}) {
  return lang::compile(parse_all(texts), outputs, lang::Binding{schema, 0, 0});
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string c;
  while (std::getline(ss, c, ',')) cells.push_back(c);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

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

// The ```formulas block of docs/FORMULAS.md.
std::string docs_definitions() {
  const std::string doc = read_file(std::string(BACKSCORE_SOURCE_DIR) + "/docs/FORMULAS.md");
  const std::string open = "```formulas\n";
  const auto a = doc.find(open);
  if (a == std::string::npos) return "";
  const auto b = doc.find("```", a + open.size());
  return doc.substr(a + open.size(), b - a - open.size());
}

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

// A synthetic history with burn eras, missing ids (some models on their own subset, some
// skipped), ties, a meta-model, benchmarks and features.
void synth_store(const std::filesystem::path& path, const char* seed = "3") {
  const auto r = run_backscore({"synth", "--models", "40", "--eras", "8", "--stocks", "1000",
                                "--features", "5", "--burn-fraction", "0.4", "--seed", seed,
                                "--out", path.string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
}

TEST(LangBuiltins, EveryBuiltinInTheLanguageEqualsTheCompiledBuiltin) {
  const std::string defs = docs_definitions();
  ASSERT_FALSE(defs.empty()) << "docs/FORMULAS.md has no ```formulas block";
  TempDir dir;
  synth_store(dir / "s.h5");
  write_file(dir / "builtins.txt", defs);
  const std::vector<std::string> builtins = {"corr_v1",   "corr",          "mmc",      "bmc",
                                             "mmc2",      "mmc2_burnflip", "fnc",      "corr_tb200",
                                             "mmc_tb200", "bmc_tb200",     "fnc_tb200"};
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

// ---- Compile errors: quoted definition, column, message ----

std::string compile_error(const std::vector<std::string>& texts,
                          const StoreSchema* schema = nullptr) {
  try {
    compile(texts, schema);
  } catch (const lang::FormulaError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(LangErrors, UnknownName) {
  EXPECT_EQ(compile_error({"x = rank(foo)"}),
            "formula 'x = rank(foo)': column 10: unknown name 'foo'");
  EXPECT_EQ(compile_error({"x = pearson(target, rnk(pred))"}),
            "formula 'x = pearson(target, rnk(pred))': column 21: unknown function 'rnk'");
  EXPECT_EQ(compile_error({"x = mean(rank)"}),
            "formula 'x = mean(rank)': column 10: 'rank' is a function: call it as rank(...)");
}

TEST(LangErrors, ArityAndKeywords) {
  EXPECT_EQ(compile_error({"x = pearson(target)"}),
            "formula 'x = pearson(target)': column 5: pearson() takes 2 arguments (two vectors), "
            "got 1 argument");
  EXPECT_EQ(compile_error({"x = mean(rank(pred, target))"}),
            "formula 'x = mean(rank(pred, target))': column 10: rank() takes 1 argument (a vector) "
            "and the keyword ties=average|first, got 2 arguments");
  EXPECT_EQ(compile_error({"x = mean(rank(pred, ties=last))"}),
            "formula 'x = mean(rank(pred, ties=last))': column 26: rank(): ties must be average or "
            "first");
  EXPECT_EQ(compile_error({"x = mean(rank(pred, method=first))"}),
            "formula 'x = mean(rank(pred, method=first))': column 21: rank() has no keyword "
            "'method' (it takes ties)");
}

TEST(LangErrors, VectorWhereScalarAndBack) {
  EXPECT_EQ(compile_error({"x = rank(pred)"}), "(no error)")
      << "a vector definition is a stage, not an error";
  EXPECT_EQ(compile_error({"x = rank(mean(pred))"}),
            "formula 'x = rank(mean(pred))': column 10: rank() argument 1 needs a vector, got a "
            "scalar");
  EXPECT_EQ(compile_error({"x = if(pred > 0, 1, 0)"}),
            "formula 'x = if(pred > 0, 1, 0)': column 8: '>' needs a scalar, got a vector");
  EXPECT_EQ(compile_error({"x = mean(pred) ^ pred"}),
            "formula 'x = mean(pred) ^ pred': column 18: '^' needs a scalar, got a vector");
  EXPECT_EQ(compile_error({"x = mean(features)"}),
            "formula 'x = mean(features)': column 10: mean() argument 1 needs a vector, got a "
            "matrix");
  EXPECT_EQ(compile_error({"x = top_bottom(pred, mean(pred))"}),
            "formula 'x = top_bottom(pred, mean(pred))': column 22: top_bottom(): n must be a "
            "constant whole number >= 1");
  EXPECT_EQ(compile_error({"x = mean(center(pred, over=era))"}),
            "formula 'x = mean(center(pred, over=era))': column 23: over=era needs an argument "
            "that does not depend on pred");
}

TEST(LangErrors, CyclesBetweenFormulas) {
  EXPECT_EQ(compile_error({"a = b + 1", "b = c * 2", "c = a - corr"}),
            "formula 'c = a - corr': column 5: cycle between formulas: a -> b -> c -> a");
  EXPECT_EQ(compile_error({"a = a + 1"}),
            "formula 'a = a + 1': column 5: cycle between formulas: a -> a");
}

TEST(LangErrors, NameClashes) {
  EXPECT_EQ(compile_error({"mmc = pearson(target, pred)"}),
            "formula 'mmc = pearson(target, pred)': column 1: name clash with the built-in "
            "formula 'mmc' (choose another name)");
  EXPECT_EQ(compile_error({"corr_tb200 = pearson(target, pred)"}),
            "formula 'corr_tb200 = pearson(target, pred)': column 1: name clash with the built-in "
            "formula 'corr_tb200' (choose another name)");
  EXPECT_EQ(compile_error({"pred = 1"}),
            "formula 'pred = 1': column 1: 'pred' is a reserved name of the language");
  EXPECT_EQ(compile_error({"x = 1", "x = 2"}),
            "formula 'x = 2': column 1: 'x' is defined twice (first as 'x = 1')");
}

TEST(LangErrors, Syntax) {
  EXPECT_EQ(compile_error({"x = pearson(target, pred"}),
            "formula 'x = pearson(target, pred': column 25: expected ',' between arguments or ')' "
            "to close the call, got 'end of the definition'");
  EXPECT_EQ(compile_error({"x pearson(target, pred)"}),
            "formula 'x pearson(target, pred)': column 3: expected '=' after the formula's name");
  EXPECT_EQ(compile_error({"x = 1 $ 2"}),
            "formula 'x = 1 $ 2': column 7: unexpected character '$'");
  EXPECT_EQ(compile_error({"x = 1 < 2 < 3"}),
            "formula 'x = 1 < 2 < 3': column 11: comparisons do not chain: use 'and'");
}

// Compiling, printing and destroying a tree recurse over it: a too-deep tree is a clear error,
// never a stack overflow (deep parentheses, a generated 20,000-term sum, 10,000 prefix minus).
TEST(LangErrors, TooDeepIsAnErrorNotACrash) {
  const std::string too_deep =
      "column %: expression nested too deeply (more than 256 levels of "
      "operators, calls and parentheses); split it into several "
      "definitions";
  auto message_of = [](const std::string& text) {
    const std::string e = compile_error({text});
    return e.substr(e.find("': ") + 3);
  };
  auto expect_too_deep = [&](const std::string& text) {
    const std::string m = message_of(text);
    EXPECT_EQ(m.substr(m.find(": ") + 2), too_deep.substr(too_deep.find(": ") + 2)) << m;
  };
  expect_too_deep("x = " + std::string(5000, '(') + "corr" + std::string(5000, ')'));
  std::string sum = "x = corr";
  for (int i = 0; i < 20000; ++i) sum += " + corr";
  expect_too_deep(sum);
  expect_too_deep("x = " + std::string(10000, '-') + "corr");
  std::string nots = "x = ";
  for (int i = 0; i < 5000; ++i) nots += "not ";
  expect_too_deep(nots + "1");
  // Deep but within the limit: fine.
  std::string ok = "x = corr";
  for (int i = 0; i < 200; ++i) ok += " + corr";
  EXPECT_EQ(compile_error({ok}), "(no error)");
}

TEST(LangErrors, LineBreakInsideADefinition) {
  EXPECT_EQ(compile_error({"x = corr\n + mmc"}),
            "formula 'x = corr  + mmc': column 9: line break inside a definition (one definition "
            "per line)");
}

TEST(LangErrors, StoreLacksWhatAFormulaReads) {
  StoreSchema s;
  s.targets = {"target", "target_b"};
  EXPECT_EQ(compile_error({"x = pearson(meta_model, pred)"}, &s),
            "formula 'x = pearson(meta_model, pred)': column 13: the store has no meta_model");
  EXPECT_EQ(compile_error({"x = pearson(target_c, pred)"}, &s),
            "formula 'x = pearson(target_c, pred)': column 13: the store has no target 'target_c'");
  EXPECT_EQ(compile_error({"x = pearson(target_b, pred)"}, &s), "(no error)");
  EXPECT_EQ(compile_error({"x = mmc + 1"}, &s),
            "formula 'x = mmc + 1': column 5: 'mmc' needs a meta_model and the store has none");
}

TEST(LangErrors, CaretMarksTheColumn) {
  try {
    compile({"x = rank(foo)"});
    FAIL() << "no error";
  } catch (const lang::FormulaError& e) {
    EXPECT_EQ(
        e.caret(),
        "formula 'x = rank(foo)': column 10: unknown name 'foo'\n  x = rank(foo)\n           ^");
  }
}

TEST(LangErrors, CliReportsOneLineBeforeReadingTheStore) {
  TempDir dir;
  // The store does not exist: the formula error comes first.
  auto r = run_backscore({"run", (dir / "missing.h5").string(), "--formula", "x = rank(foo)"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "backscore: error: formula 'x = rank(foo)': column 10: unknown name 'foo'\n");
  write_file(dir / "f.txt", "# proposals\na = pearson(target, pred)  # fine\n\nb = a + c\n");
  r = run_backscore(
      {"run", (dir / "missing.h5").string(), "--formula-file", (dir / "f.txt").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "backscore: error: " + (dir / "f.txt").string() +
                       ":4: formula 'b = a + c': column 9: unknown name 'c'\n");
  r = run_backscore({"explain", "--formula", "x = rank(foo)"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("\n  x = rank(foo)\n           ^"), std::string::npos) << r.err;
  synth_store(dir / "s.h5");
  r = run_backscore(
      {"run", (dir / "s.h5").string(), "--formula", "g = rank(pred)", "--formulas", "g"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("'g' is a vector stage, not a formula"), std::string::npos) << r.err;
}

// ---- The plan: one plan, shared stages ----

std::size_t count_ops(const lang::Plan& p, lang::Op op) {
  std::size_t n = 0;
  for (std::uint32_t id : p.era_schedule) n += p.nodes[id].op == op;
  for (std::uint32_t id : p.model_schedule) n += p.nodes[id].op == op;
  return n;
}

TEST(LangPlan, CommonSubexpressionsAreComputedOnce) {
  const lang::Plan plan = compile({
      "a = pearson(target, gaussian(rank(pred, ties=average)))",
      "b = dot(center(target), orthogonalize(gaussian(rank(pred)), gaussian(rank(meta_model)))) / "
      "count(pred)",
      "c = pearson(rank(meta_model), rank(pred, ties=average))",
      "d = std(power(gaussian(rank(pred)), 1.5)) + pearson(rank(meta_model, ties=first), "
      "rank(pred, ties=first))",
  });
  ASSERT_EQ(plan.formulas.size(), 4u);
  // rank(pred, ties=average): one model stage used by all four formulas
  std::size_t pred_rank = 0;
  for (std::uint32_t id : plan.model_schedule) {
    const lang::Node& n = plan.nodes[id];
    if (n.op == lang::Op::rank_average && plan.nodes[n.args[0]].op == lang::Op::pred) {
      ++pred_rank;
      EXPECT_EQ(n.users.size(), 4u);
    }
  }
  EXPECT_EQ(pred_rank, 1u);
  // one sort of pred feeds both of its ranks; one sort of the meta-model likewise
  EXPECT_EQ(count_ops(plan, lang::Op::sort), 2u);
  EXPECT_EQ(count_ops(plan, lang::Op::gaussian), 2u);  // of pred, of the meta-model
  // stages that do not depend on pred are era stages, shared by every model
  for (std::uint32_t id : plan.era_schedule) EXPECT_FALSE(plan.nodes[id].per_model);
  std::size_t meta_era_stages = 0;
  for (std::uint32_t id : plan.era_schedule) {
    const lang::Node& n = plan.nodes[id];
    if (n.op == lang::Op::sort || n.op == lang::Op::rank_average || n.op == lang::Op::gaussian ||
        n.op == lang::Op::rank_first) {
      ++meta_era_stages;
    }
  }
  EXPECT_EQ(meta_era_stages, 4u);  // sort, rank average, rank first, gaussian of meta_model
  // m.m of orthogonalize is a per-era scalar
  bool era_norm = false;
  for (std::uint32_t id : plan.era_schedule)
    era_norm = era_norm || plan.nodes[id].op == lang::Op::dot;
  EXPECT_TRUE(era_norm);
  // the text plan names the sharing
  const std::string text = plan.describe();
  EXPECT_NE(text.find("rank(#1, ties=average)                      used by: a, b, c, d"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("used by: a, b, c, d"), std::string::npos) << text;
}

TEST(LangPlan, ConstantsFoldAndReferencesInline) {
  const lang::Plan plan = compile({"k = 0.29^2", "x = cov(pred, target) / k"});
  ASSERT_EQ(plan.formulas.size(), 2u);
  EXPECT_EQ(plan.nodes[plan.formulas[0].root].op, lang::Op::constant);
  EXPECT_EQ(plan.nodes[plan.formulas[0].root].value, 0.29 * 0.29);
  EXPECT_EQ(plan.formulas[1].definition, "x = cov(pred, target) / k; where k = 0.29^2");
}

TEST(LangPlan, SemanticsOfVectorsAndScalars) {
  StoreSchema schema;
  schema.targets = {"target"};
  schema.has_meta_model = true;
  const lang::Plan plan = compile(
      {
          "tb = count(top_bottom(pred, 2))",     // 4 rows kept
          "tbmean = mean(top_bottom(pred, 1))",  // (lowest + highest) / 2
          "div0 = mean(pred) / 0",               // undefined
          "vdiv0 = mean(pred / (pred - pred))",  // 0/0 in a vector: undefined
          "cond = if(mean(pred) > 100, 1, 2) + clip(5, 0, 3) + abs(-1) + sign(-2)",
          "mx = max(pred) - min(pred)",
          "ranks = sum(rank(pred))",               // n/2 for percentile ranks
          "nanif = if(mean(pred) / 0 < 0, 1, 2)",  // NaN compares false
          "tbtoo = count(top_bottom(pred, 4))",    // 2n > rows: undefined -> 0 rows
      },
      &schema);
  Era era;
  era.name = "e";
  era.ids = {"a", "b", "c", "d", "e", "f", "g"};
  era.targets = {0, 0.25, 0.5, 0.75, 1, 0.5, 0.25};
  era.meta_model = {1, 2, 3, 4, 5, 6, 7};
  const lang::EraStages stages(plan, era, {});
  lang::ModelEvaluator eval(plan);
  Vec out(plan.formulas.size());
  eval.evaluate(stages, Vec{3, 1, 4, 1, 5, 9, 2}, {}, out);
  EXPECT_EQ(out[0], 4);
  EXPECT_EQ(out[1], 5);  // (1 + 9) / 2
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_TRUE(std::isnan(out[3]));
  EXPECT_EQ(out[4], 2 + 3 + 1 - 1);
  EXPECT_EQ(out[5], 8);
  EXPECT_DOUBLE_EQ(out[6], 3.5);
  EXPECT_EQ(out[7], 2);
  EXPECT_EQ(out[8], 0);
}

TEST(LangPlan, SubsetModelsSeeRestrictedEraVectors) {
  StoreSchema schema;
  schema.targets = {"target"};
  schema.has_meta_model = true;
  const lang::Plan plan =
      compile({"n = count(target)", "m = mean(target)", "mw = mean(center(target, over=era))",
               "r = sum(rank(meta_model))"},
              &schema);
  Era era;
  era.name = "e";
  era.ids = {"a", "b", "c", "d", "e"};
  era.targets = {1, 2, 3, 4, 10};
  era.meta_model = {5, 4, 3, 2, 1};
  const lang::EraStages full(plan, era, {});
  const std::vector<std::uint32_t> rows = {0, 1, 2, 3};
  const lang::EraStages own(plan, era, rows, &full);
  lang::ModelEvaluator eval(plan);
  Vec out(4);
  eval.evaluate(own, Vec{1, 2, 3, 4}, {}, out);
  EXPECT_EQ(out[0], 4);        // the target restricted to the model's ids
  EXPECT_EQ(out[1], 2.5);      // and centered there by center()
  EXPECT_EQ(out[2], 2.5 - 4);  // but over=era centers over the whole era (mean 4)
  EXPECT_EQ(out[3], 2);        // ranks of the meta-model among the model's 4 ids: sum n/2
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
  ::setenv("BACKSCORE_TEST_KILL_AFTER_ERAS", "2", 1);
  auto r = run_backscore({"run", (dir / "s.h5").string(), "--formula", "x = pearson(target, pred)",
                          "--csv", (dir / "k.csv").string(), "--quiet"});
  ::unsetenv("BACKSCORE_TEST_KILL_AFTER_ERAS");
  ASSERT_NE(r.status, 0);
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
