// The formula language (host/lang/) compiling definitions: compile errors and their messages
// (quoted definition, column, one line from the CLI), the plan's sharing of stages, constant
// folding, and the evaluation of small plans by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
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

// Compiling and destroying a tree recurse over it: a too-deep tree is a clear error, never a
// stack overflow (deep parentheses, 10,000 prefix minus, 5,000 not). A long flat sum is not deep
// (tests/lang_limits_test.cpp).
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
  expect_too_deep("x = " + std::string(10000, '-') + "corr");
  std::string nots = "x = ";
  for (int i = 0; i < 5000; ++i) nots += "not ";
  expect_too_deep(nots + "1");
  // Deep but within the limit: fine.
  std::string ok = "x = corr";
  for (int i = 0; i < 200; ++i) ok += " + (corr";
  EXPECT_EQ(compile_error({ok + std::string(200, ')')}), "(no error)");
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

}  // namespace
}  // namespace backscore
