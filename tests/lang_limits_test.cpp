// The formula language (host/lang/) on generated, very large input: deep nesting is one clear
// error line and never a stack overflow, a flat chain of operators is not nesting, compiling many
// chained definitions costs time and memory linear in their size, and error lines quote a short
// excerpt of the definition, never all of it (issue 13). Limits: docs/FORMULAS.md, "Limits".
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "host/lang/error.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "lang_support.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using namespace lang_testing;

const std::string kTooDeep =
    "expression nested too deeply (more than 256 levels of operators, calls and parentheses); "
    "split it into several definitions";

std::string compile_error(const std::vector<std::string>& texts) {
  try {
    compile(texts);
  } catch (const lang::FormulaError& e) {
    return e.what();
  }
  return "(no error)";
}

// `x = corr^1^1^...^1` with `levels` carets.
std::string power_tower(int levels) {
  std::string s = "x = corr";
  for (int i = 0; i < levels; ++i) s += "^1";
  return s;
}

// `d0 = FIRST`, `d1 = d0 + 1`, ...: each definition names the one before (`reversed`: the one
// after, defined later in the file; the last is `= FIRST`).
std::vector<std::string> chained_definitions(int n, bool reversed = false,
                                             const std::string& first = "1") {
  std::vector<std::string> defs;
  for (int i = 0; i < n; ++i) {
    const int named = reversed ? i + 1 : i - 1;
    const bool end = reversed ? i == n - 1 : i == 0;
    defs.push_back("d" + std::to_string(i) + " = " +
                   (end ? first : "d" + std::to_string(named) + " + 1"));
  }
  return defs;
}

std::string lines(const std::vector<std::string>& texts) {
  std::string s;
  for (const std::string& t : texts) s += t + "\n";
  return s;
}

// ---- nesting: one clear line, never a crash ----

// Each recursive path of the parser stops at the same limit before it recurses further: `^` used
// to recurse without a guard (a stack overflow, exit by signal, at 10,000 levels under ASan).
TEST(LangLimits, DeepPowerTowerIsAnErrorNotACrash) {
  TempDir dir;
  write_file(dir / "f.txt", power_tower(200000) + "\n");
  const auto r = run_backscore({"explain", "--formula-file", (dir / "f.txt").string()});
  EXPECT_EQ(r.status, 2) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find(kTooDeep), std::string::npos) << r.err.substr(0, 300);
  EXPECT_LT(r.err.size(), 1000u) << "the error quotes an excerpt, not the whole definition";

  const std::string e = compile_error({power_tower(10000)});
  EXPECT_NE(e.find(": column 519: " + kTooDeep), std::string::npos) << e.substr(0, 300);
  EXPECT_EQ(compile_error({power_tower(200)}), "(no error)");
  // and every kind of nesting through `run` (the formulas are read before the store): exit 2,
  // one line
  for (const std::string& deep :
       {power_tower(200000), "x = " + std::string(100000, '(') + "corr" + std::string(100000, ')'),
        "x = " + std::string(100000, '-') + "corr", "x = abs(" + std::string(100000, '-') + "1)"}) {
    write_file(dir / "g.txt", deep + "\n");
    const auto g = run_backscore(
        {"run", (dir / "missing.h5").string(), "--formula-file", (dir / "g.txt").string()});
    EXPECT_EQ(g.status, 2) << g.err.substr(0, 300);
    EXPECT_NE(g.err.find(kTooDeep), std::string::npos) << g.err.substr(0, 300);
    EXPECT_EQ(g.err.find('\n'), g.err.size() - 1) << "one line";
    EXPECT_LT(g.err.size(), 500u);
  }
  std::string calls = "x = ";
  for (int i = 0; i < 100000; ++i) calls += "abs(";
  calls += "corr" + std::string(100000, ')');
  EXPECT_NE(compile_error({calls}).find(kTooDeep), std::string::npos);
}

// A chain of operators of one precedence is parsed in a loop into one flat node: a generated sum
// of 100,000 terms is one level, not 100,000, and compiles (it used to be "nested too deeply").
TEST(LangLimits, FlatChainsAreNotNesting) {
  std::string sum = "x = 1";
  for (int i = 1; i < 100000; ++i) sum += " + 1";
  const lang::Plan plan = compile({sum});
  ASSERT_EQ(plan.formulas.size(), 1u);
  const lang::Node& root = plan.nodes[plan.formulas[0].root];
  EXPECT_EQ(root.op, lang::Op::constant);
  EXPECT_EQ(root.value, 100000);

  std::string scores = "y = corr";
  for (int i = 0; i < 100000; ++i) scores += i % 3 == 0 ? " - mmc" : " + corr * 2 / 3";
  EXPECT_EQ(compile_error({scores}), "(no error)");
  std::string logic = "z = corr > 0";
  for (int i = 0; i < 50000; ++i) logic += i % 2 ? " and mmc < 1" : " or not corr == 2";
  EXPECT_EQ(compile_error({logic}), "(no error)");
}

// The flat chains keep the language's meaning: left-associative, by precedence; `^` nests to the
// right; messages point where they did.
TEST(LangLimits, ChainsKeepAssociativityAndPrecedence) {
  const lang::Plan plan =
      compile({"a = 10 - 2 - 3 + 1", "b = 2 * 3 / 4 * 2", "c = 2 ^ 3 ^ 2", "d = -2 ^ 2",
               "e = 1 + 2 * 3 - 8 / 4 / 2", "f = 1 < 2 and 0 or 1 and 2 > 3", "g = not 0 and 0"});
  const std::vector<double> expect = {6, 3, 512, -4, 6, 0, 0};
  ASSERT_EQ(plan.formulas.size(), expect.size());
  for (std::size_t i = 0; i < expect.size(); ++i) {
    const lang::Node& root = plan.nodes[plan.formulas[i].root];
    EXPECT_EQ(root.op, lang::Op::constant) << plan.formulas[i].name;
    EXPECT_EQ(root.value, expect[i]) << plan.formulas[i].name;
  }
  // The left operand of a later operator is the chain so far, at its last operator's column.
  EXPECT_EQ(compile_error({"x = corr + mmc - features"}),
            "formula 'x = corr + mmc - features': column 18: '-' needs a vector or a scalar, got "
            "a matrix");
  EXPECT_EQ(compile_error({"x = features + 1 + 2"}),
            "formula 'x = features + 1 + 2': column 5: '+' needs a vector or a scalar, got a "
            "matrix");
  EXPECT_EQ(compile_error({"x = pred + 1 ^ 2 + pred ^ 2"}),
            "formula 'x = pred + 1 ^ 2 + pred ^ 2': column 25: '^' raises scalars; for a vector "
            "use power(x, p)");
}

// ---- many definitions: linear ----

// 20,000 chained definitions used to take 67 s and 6.5 GB to compile (100,000: more than 24 GB):
// every formula re-walked and quoted all the definitions before it, and every plan node listed
// every formula above it. Now each is compiled once and quotes a bounded part of its chain.
TEST(LangLimits, ManyChainedDefinitionsCompileInLinearCost) {
  TempDir dir;
  for (const bool reversed : {false, true}) {
    write_file(dir / "chain.txt", lines(chained_definitions(20000, reversed, "mean(pred)")));
    const auto start = std::chrono::steady_clock::now();
    const auto r = run_backscore({"explain", "--formula-file", (dir / "chain.txt").string()});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ASSERT_EQ(r.status, 0) << r.err.substr(0, 300);
    // Release: 0.4 s and 140 MB; generous for sanitizer builds, far below the quadratic cost.
    EXPECT_LT(seconds, 30.0) << "reversed " << reversed;
    EXPECT_LT(r.max_rss_kib, 2048L * 1024) << "reversed " << reversed;  // 2 GiB
    EXPECT_LT(r.out.size(), 50u << 20) << "explain's text is linear in the definitions";
    EXPECT_NE(r.out.find("plan: 20000 formulas"), std::string::npos) << r.out.substr(0, 300);
    EXPECT_NE(r.out.find("; where ..."), std::string::npos);
    EXPECT_NE(r.out.find("used by: d0, d1, d2, d3, d4, d5, d6, d7, d8, d9, d10, d11, d12, d13, "
                         "d14, d15 and more\n"),
              std::string::npos);
  }
}

TEST(LangLimits, ChainedDefinitionsCompileCorrectly) {
  for (const bool reversed : {false, true}) {
    const lang::Plan plan = compile(chained_definitions(50, reversed));
    ASSERT_EQ(plan.formulas.size(), 50u);
    for (int i = 0; i < 50; ++i) {
      const lang::Node& root = plan.nodes[plan.formulas[static_cast<std::size_t>(i)].root];
      ASSERT_EQ(root.op, lang::Op::constant);
      EXPECT_EQ(root.value, reversed ? 50 - i : i + 1) << "d" << i;
    }
  }
  const lang::Plan plan = compile({"c = b * mmc", "a = corr", "b = a + 1"});
  EXPECT_EQ(plan.formulas[0].definition, "c = b * mmc; where a = corr; where b = a + 1");
  // A long chain quotes its nearest definitions, about 1,000 characters of them, then "...".
  const lang::Plan big = compile(chained_definitions(20000));
  const std::string& last = big.formulas.back().definition;
  EXPECT_EQ(last.rfind("d19999 = d19998 + 1; where d", 0), 0u) << last.substr(0, 200);
  EXPECT_NE(last.find("; where d19998 = d19997 + 1"), std::string::npos);
  EXPECT_EQ(last.substr(last.size() - 11), "; where ...");
  EXPECT_LT(last.size(), 1100u);
}

// "used by" names at most 16 formulas of a shared node, then "and more".
TEST(LangLimits, UsersListedUpToALimit) {
  std::vector<std::string> texts;
  for (int i = 0; i < 20; ++i) texts.push_back("f" + std::to_string(i) + " = mean(rank(pred))");
  const lang::Plan plan = compile(texts);
  const std::string text = plan.describe();
  EXPECT_NE(text.find("used by: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, "
                      "f15 and more\n"),
            std::string::npos)
      << text;
  for (const lang::Node& n : plan.nodes) EXPECT_LE(n.users.size(), lang::kListedUsers);
}

TEST(LangLimits, LongCycleIsOneShortLine) {
  std::vector<std::string> texts;
  for (int i = 0; i < 20000; ++i) {
    texts.push_back("c" + std::to_string(i) + " = c" + std::to_string((i + 1) % 20000) + " + 1");
  }
  EXPECT_EQ(compile_error(texts),
            "formula 'c19999 = c0 + 1': column 10: cycle between formulas: c0 -> c1 -> c2 -> c3 "
            "-> c4 -> ... (19990 more) -> c19995 -> c19996 -> c19997 -> c19998 -> c19999 -> c0");
}

// ---- error lines quote an excerpt ----

TEST(LangLimits, ErrorsQuoteAnExcerpt) {
  // an error at the end of a 1.2 MB sum
  std::string sum = "x = corr";
  for (int i = 0; i < 100000; ++i) sum += " + corr_v1";
  const std::size_t column = sum.size() + 4;
  sum += " + nope";
  const std::string e = compile_error({sum});
  EXPECT_LT(e.size(), 200u) << e.substr(0, 300);
  EXPECT_EQ(e, "formula '..." + sum.substr(sum.size() - 80) + "': column " +
                   std::to_string(column) + ": unknown name 'nope'");
  // at the start, in the middle
  std::string head = "x = nope" + sum.substr(8);
  EXPECT_EQ(compile_error({head}),
            "formula '" + head.substr(0, 80) + "...': column 5: unknown name 'nope'");
  try {
    compile({"x = " + std::string(500, '(') + "corr"});
    FAIL() << "no error";
  } catch (const lang::FormulaError& err) {
    const std::string what = err.what();
    EXPECT_LT(what.size(), 300u) << what;
    // the caret form: the same excerpt, the caret under the column
    const std::string caret = err.caret();
    const std::string quoted = caret.substr(caret.find("\n  ") + 3);
    const std::string excerpt = quoted.substr(0, quoted.find('\n'));
    const std::string under = quoted.substr(quoted.find('\n') + 3);
    ASSERT_EQ(under.size(), under.find('^') + 1);
    EXPECT_EQ(excerpt.substr(0, 3), "...");
    EXPECT_EQ(excerpt.substr(excerpt.size() - 3), "...");
    EXPECT_EQ(excerpt[under.size() - 1], '(') << caret;  // the 257th '('
    EXPECT_EQ(lang::excerpt(err.definition(), err.column()).text, excerpt);
  }
  // the first definition of a name given twice, a long name or number
  EXPECT_EQ(
      compile_error({sum, "x = 1"}),
      "formula 'x = 1': column 1: 'x' is defined twice (first as '" + sum.substr(0, 80) + "...')");
  const std::string name(1000, 'n');
  EXPECT_EQ(compile_error({"x = " + name}), "formula 'x = " + name.substr(0, 76) +
                                                "...': column 5: name longer than 128 characters");
  EXPECT_EQ(compile_error({"x = 1" + std::string(500, '0')}),
            "formula 'x = 1" + std::string(75, '0') +
                "...': column 5: number longer than 128 characters");
  // through the CLI: one short line
  TempDir dir;
  write_file(dir / "f.txt", "ok = corr\n" + sum + "\n");
  const auto r = run_backscore({"explain", "--formula-file", (dir / "f.txt").string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_LT(r.err.size(), 500u) << r.err.substr(0, 600);
  EXPECT_NE(r.err.find((dir / "f.txt").string() + ":2: formula '..."), std::string::npos) << r.err;
}

}  // namespace
}  // namespace backscore
