// The operation table of the formula language (host/lang/operations.hpp): one row per operation,
// each function and operator spelled once, rows consistent with what the compiler does with them,
// and the plan text of every function and operator unchanged (the run journal's fingerprint and
// `backscore explain` print it).
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "host/lang/operations.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "lang_support.hpp"

namespace backscore {
namespace {

using namespace lang_testing;
using lang::OpInfo;
using lang::Print;
using lang::Syntax;

TEST(LangOperations, OneRowPerOpInOpOrder) {
  const auto ops = lang::operations();
  ASSERT_EQ(ops.size(), static_cast<std::size_t>(lang::Op::logical_not) + 1);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(ops[i].op), i);
    ASSERT_NE(ops[i].name, nullptr) << i;
    EXPECT_EQ(&lang::op_info(ops[i].op), &ops[i]);
    EXPECT_STREQ(lang::op_name(ops[i].op), ops[i].name);
  }
}

TEST(LangOperations, NamesAndSpellingsAreUnique) {
  // The plan's names are unique but for min(x)/max(x) of a vector, which print as min/max.
  std::set<std::string> names;
  for (const OpInfo& o : lang::operations()) {
    if (o.op == lang::Op::min_of || o.op == lang::Op::max_of) continue;
    EXPECT_TRUE(names.insert(o.name).second) << "op name twice: " << o.name;
  }
  EXPECT_STREQ(lang::op_name(lang::Op::min_of), "min");
  EXPECT_STREQ(lang::op_name(lang::Op::max_of), "max");
  // Each variable, function and operator of the language is spelled by one row.
  std::set<std::pair<Syntax, std::string>> words;
  for (const OpInfo& o : lang::operations()) {
    if (o.syntax == Syntax::none) {
      EXPECT_EQ(o.word, nullptr) << o.name;
      continue;
    }
    ASSERT_NE(o.word, nullptr) << o.name;
    EXPECT_TRUE(words.insert({o.syntax, o.word}).second) << "spelled twice: " << o.word;
  }
}

TEST(LangOperations, RowsAreConsistent) {
  for (const OpInfo& o : lang::operations()) {
    SCOPED_TRACE(o.name);
    const bool spelled =
        o.syntax == Syntax::function || o.syntax == Syntax::infix || o.syntax == Syntax::prefix;
    EXPECT_EQ(o.build != nullptr, spelled);
    if (o.syntax == Syntax::function) {
      EXPECT_GE(o.min_args, 1u);
      EXPECT_LE(o.min_args, o.max_args);
      ASSERT_NE(o.takes, nullptr);
      EXPECT_EQ(lang::find_function(o.word), &o);
    } else {
      EXPECT_EQ(o.min_args, 0u);
      EXPECT_EQ(o.max_args, 0u);
      EXPECT_EQ(o.takes, nullptr);
      EXPECT_EQ(o.keywords[0], nullptr);
      EXPECT_FALSE(o.keywords_first);
    }
    if (o.syntax == Syntax::infix || o.syntax == Syntax::prefix) {
      EXPECT_EQ(lang::find_operator(o.word, o.syntax), &o);
    }
    if (o.syntax == Syntax::variable || o.syntax == Syntax::function) {
      EXPECT_TRUE(lang::is_reserved_name(o.word));
    }
    // Infix and prefix rows print as they are written; custom text exactly on custom rows.
    if (o.print == Print::infix) {
      EXPECT_EQ(o.syntax, Syntax::infix);
    }
    if (o.print == Print::prefix) {
      EXPECT_EQ(o.syntax, Syntax::prefix);
    }
    EXPECT_EQ(o.text != nullptr, o.print == Print::custom);
    if (o.print != Print::call) {
      EXPECT_EQ(o.extra, nullptr);
      EXPECT_EQ(o.value_key, nullptr);
    }
    // Folding rows are scalar operations with a scalar semantics (apply_scalar).
    if (o.folds) {
      EXPECT_EQ(o.kind, lang::Kind::scalar);
      const double args[3] = {1, 2, 3};
      EXPECT_FALSE(std::isnan(lang::apply_scalar(o.op, args, o.op == lang::Op::clip ? 3 : 2)));
    }
    if (o.elementwise) {
      EXPECT_TRUE(o.folds);
    }
  }
  // and, or and not are words of the language, reserved like functions.
  for (const char* w : {"and", "or", "not"}) EXPECT_TRUE(lang::is_function_word(w)) << w;
  EXPECT_FALSE(lang::is_function_word("pred"));
  EXPECT_TRUE(lang::is_variable("features"));
}

TEST(LangOperations, EveryFoldingOperationFoldsOnConstants) {
  for (const OpInfo& o : lang::operations()) {
    if (!o.folds) continue;
    std::string expr;
    if (o.syntax == Syntax::infix) expr = std::string("2 ") + o.word + " 3";
    if (o.syntax == Syntax::prefix) expr = std::string(o.word) + " (2)";
    if (o.syntax == Syntax::function) {
      expr = std::string(o.word) + (o.min_args == 1 && o.max_args == 1 ? "(2)" : "(2, 1, 3)");
    }
    SCOPED_TRACE(expr);
    const lang::Plan plan = compile({"x = " + expr});
    EXPECT_EQ(plan.nodes[plan.formulas[0].root].op, lang::Op::constant);
  }
}

TEST(LangOperations, ArityErrorsComeFromTheTable) {
  for (const OpInfo& o : lang::operations()) {
    if (o.syntax != Syntax::function) continue;
    SCOPED_TRACE(o.word);
    std::string args;
    for (std::size_t i = 0; i < o.min_args - 1; ++i) args += (i ? ", " : "") + std::string("pred");
    try {
      compile({"x = " + std::string(o.word) + "(" + args + ")"});
      ADD_FAILURE() << "no error";
    } catch (const lang::FormulaError& e) {
      const std::size_t n = o.min_args - 1;
      EXPECT_EQ(e.message(), std::string(o.word) + "() takes " + o.takes + ", got " +
                                 std::to_string(n) + (n == 1 ? " argument" : " arguments"));
    }
  }
}

// Every function and operator of the language, and their plan text as `backscore explain` printed
// it before the operation table existed (the plan's text must not change; since definitions are
// compiled after the ones they name, pred_score's nodes come before those of a7, which names it).
TEST(LangOperations, PlanTextOfEveryFunctionIsUnchanged) {
  const lang::Plan plan = compile(
      {"a1 = mean(center(target, over=era)) + sum(target, over=era) + std(meta_model, ddof=1, "
       "over=era)",
       "a2 = std(pred) - mean(pred) * sum(pred) / count(pred)",
       "a3 = abs(pearson(target, pred)) ^ 2 + sign(-dot(pred, target)) - clip(cov(pred, target, "
       "ddof=0), -1, 1)",
       "a4 = if(not (a1 > 0) or a2 <= 1 and a3 != 2, min(a1, a2, a3), max(a1, a2))",
       "a5 = min(pred) + max(rank(pred)) + min(1, 2) * max(3, 4, 5) - abs(-3) + sign(-2) + clip(5, "
       "0, 1)",
       "a6 = pearson(neutralize(gaussian(rank(pred)), features, target_b, proportion=0.5, "
       "rcond=1e-9), benchmark_teager)",
       "a7 = dot(orthogonalize(pred, meta_model), top_bottom(rank(pred, ties=first), 50)) + 2 ^ 3 "
       "^ 2 - -pred_score",
       "pred_score = pearson(abs(pred) + sign(target) * clip(pred, 0, 1) - -target / 2, "
       "power(rank(pred), 2)) + corr + mmc_tb100",
       "a8 = 1 < 2 and 3 >= 2 or 4 == 4 and not 0 != 1", "a9 = count(abs(center(pred)) * 2 - 1)",
       "a10 = if(mean(pred) < 0 and std(pred) >= 1 or sum(pred) == 2, 1, 0)",
       "a11 = dot(span_product(sample_weight * pred, neutralizers), pred)"});
  EXPECT_EQ(plan.describe(),
            R"plan(plan: 12 formulas, 12 era stages, 20 model stages, 57 scalar steps
era stages (once per era, on the model's ids when it misses some; shared by every model):
  #0    vector    target                                      used by: a1, a3, a4, a7, pred_score
  #1    vector    center(#0, over=era)                        used by: a1, a4
  #5    vector    meta_model                                  used by: a1, a4, a7
  #54   matrix    features                                    used by: a6
  #55   vector    target_b                                    used by: a6
  #58   qr        qr(#54, #55, intercept, rcond=1e-09)        used by: a6
  #60   vector    benchmark_teager                            used by: a6
  #63   vector    sign(#0)                                    used by: a7, pred_score
  #67   vector    -#0                                         used by: a7, pred_score
  #68   vector    #67 / 2                                     used by: a7, pred_score
  #98   vector    sample_weight                               used by: a11
  #100  matrix    neutralizers                                used by: a11
model stages (once per model-era; each stage can run batched over the models):
  #9    vector    pred                                        used by: a2, a3, a4, a5, a6, a7, pred_score, a9, a10, a11
  #40   order     sort(#9)                                    used by: a5, a6, a7, pred_score
  #41   vector    rank(#9, ties=average)                      used by: a5, a6, a7, pred_score
  #53   vector    gaussian(#41)                               used by: a6
  #59   vector    neutralize(#53, by #58, proportion=0.5)     used by: a6
  #62   vector    abs(#9)                                     used by: a7, pred_score
  #64   vector    clip(#9, 0, 1)                              used by: a7, pred_score
  #65   vector    #63 * #64                                   used by: a7, pred_score
  #66   vector    #62 + #65                                   used by: a7, pred_score
  #69   vector    #66 - #68                                   used by: a7, pred_score
  #70   vector    power(#41, 2)                               used by: a7, pred_score
  #77   vector    orthogonalize(#9, #5) with #5.#5 = #76      used by: a7
  #78   vector    rank(#9, ties=first)                        used by: a7
  #80   vector    top_bottom(#78, 50)                         used by: a7
  #87   vector    center(#9)                                  used by: a9
  #88   vector    abs(#87)                                    used by: a9
  #89   vector    #88 * 2                                     used by: a9
  #90   vector    #89 - 1                                     used by: a9
  #99   vector    #98 * #9                                    used by: a11
  #101  vector    span_product(#99, #100)                     used by: a11
built-in formulas used (their compiled path): corr mmc_tb100
scalars per era:
  #2    scalar    mean(#1)                                    used by: a1, a4
  #3    scalar    sum(#0, over=era)                           used by: a1, a4
  #4    scalar    #2 + #3                                     used by: a1, a4
  #7    scalar    std(#5, ddof=1, over=era)                   used by: a1, a4
  #8    scalar    #4 + #7                                     used by: a1, a4
  #30   scalar    #8 > 0                                      used by: a4
  #31   scalar    not #30                                     used by: a4
  #76   scalar    dot(#5, #5)                                 used by: a7
scalars per model-era:
  #10   scalar    std(#9, ddof=0)                             used by: a2, a4, a10
  #11   scalar    mean(#9)                                    used by: a2, a4, a10
  #12   scalar    sum(#9)                                     used by: a2, a4, a10
  #13   scalar    #11 * #12                                   used by: a2, a4
  #14   scalar    count(#9)                                   used by: a2, a4
  #15   scalar    #13 / #14                                   used by: a2, a4
  #16   scalar    #10 - #15                                   used by: a2, a4
  #17   scalar    pearson(#0, #9)                             used by: a3, a4
  #18   scalar    abs(#17)                                    used by: a3, a4
  #20   scalar    #18 ^ 2                                     used by: a3, a4
  #21   scalar    dot(#9, #0)                                 used by: a3, a4
  #22   scalar    -#21                                        used by: a3, a4
  #23   scalar    sign(#22)                                   used by: a3, a4
  #24   scalar    #20 + #23                                   used by: a3, a4
  #26   scalar    cov(#9, #0, ddof=0)                         used by: a3, a4
  #28   scalar    clip(#26, -1, 1)                            used by: a3, a4
  #29   scalar    #24 - #28                                   used by: a3, a4
  #32   scalar    #16 <= 1                                    used by: a4
  #33   scalar    #29 != 2                                    used by: a4
  #34   scalar    #32 and #33                                 used by: a4
  #35   scalar    #31 or #34                                  used by: a4
  #36   scalar    min(#8, #16, #29)                           used by: a4
  #37   scalar    max(#8, #16)                                used by: a4
  #38   scalar    if(#35, #36, #37)                           used by: a4
  #39   scalar    min(#9)                                     used by: a5
  #42   scalar    max(#41)                                    used by: a5
  #43   scalar    #39 + #42                                   used by: a5
  #47   scalar    #43 + 5                                     used by: a5
  #49   scalar    #47 - 3                                     used by: a5
  #51   scalar    #49 + -1                                    used by: a5
  #52   scalar    #51 + 1                                     used by: a5
  #61   scalar    pearson(#59, #60)                           used by: a6
  #71   scalar    pearson(#69, #70)                           used by: a7, pred_score
  #72   scalar    built-in corr                               used by: a7, pred_score
  #73   scalar    #71 + #72                                   used by: a7, pred_score
  #74   scalar    built-in mmc_tb100                          used by: a7, pred_score
  #75   scalar    #73 + #74                                   used by: a7, pred_score
  #81   scalar    dot(#77, #80)                               used by: a7
  #84   scalar    #81 + 512                                   used by: a7
  #85   scalar    -#75                                        used by: a7
  #86   scalar    #84 - #85                                   used by: a7
  #91   scalar    count(#90)                                  used by: a9
  #92   scalar    #11 < 0                                     used by: a10
  #93   scalar    #10 >= 1                                    used by: a10
  #94   scalar    #92 and #93                                 used by: a10
  #95   scalar    #12 == 2                                    used by: a10
  #96   scalar    #94 or #95                                  used by: a10
  #97   scalar    if(#96, 1, 0)                               used by: a10
  #102  scalar    dot(#101, #9)                               used by: a11
formulas:
  a1 = #8    (a1 = mean(center(target, over=era)) + sum(target, over=era) + std(meta_model, ddof=1, over=era))
  a2 = #16    (a2 = std(pred) - mean(pred) * sum(pred) / count(pred))
  a3 = #29    (a3 = abs(pearson(target, pred)) ^ 2 + sign(-dot(pred, target)) - clip(cov(pred, target, ddof=0), -1, 1))
  a4 = #38    (a4 = if(not (a1 > 0) or a2 <= 1 and a3 != 2, min(a1, a2, a3), max(a1, a2)); where a1 = mean(center(target, over=era)) + sum(target, over=era) + std(meta_model, ddof=1, over=era); where a2 = std(pred) - mean(pred) * sum(pred) / count(pred); where a3 = abs(pearson(target, pred)) ^ 2 + sign(-dot(pred, target)) - clip(cov(pred, target, ddof=0), -1, 1))
  a5 = #52    (a5 = min(pred) + max(rank(pred)) + min(1, 2) * max(3, 4, 5) - abs(-3) + sign(-2) + clip(5, 0, 1))
  a6 = #61    (a6 = pearson(neutralize(gaussian(rank(pred)), features, target_b, proportion=0.5, rcond=1e-9), benchmark_teager))
  a7 = #86    (a7 = dot(orthogonalize(pred, meta_model), top_bottom(rank(pred, ties=first), 50)) + 2 ^ 3 ^ 2 - -pred_score; where pred_score = pearson(abs(pred) + sign(target) * clip(pred, 0, 1) - -target / 2, power(rank(pred), 2)) + corr + mmc_tb100)
  pred_score = #75    (pred_score = pearson(abs(pred) + sign(target) * clip(pred, 0, 1) - -target / 2, power(rank(pred), 2)) + corr + mmc_tb100)
  a8 = 1    (a8 = 1 < 2 and 3 >= 2 or 4 == 4 and not 0 != 1)
  a9 = #91    (a9 = count(abs(center(pred)) * 2 - 1))
  a10 = #97    (a10 = if(mean(pred) < 0 and std(pred) >= 1 or sum(pred) == 2, 1, 0))
  a11 = #102    (a11 = dot(span_product(sample_weight * pred, neutralizers), pred))
)plan");
  std::set<lang::Op> used;
  for (const lang::Node& n : plan.nodes) used.insert(n.op);
  for (const OpInfo& o : lang::operations()) {
    if (o.op == lang::Op::input) continue;  // payout rules only
    EXPECT_TRUE(used.count(o.op)) << o.name << " is not covered";
  }
}

}  // namespace
}  // namespace backscore
