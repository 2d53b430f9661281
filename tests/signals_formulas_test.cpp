// numerai-tools 0.7.2's Signals-era formulas (host/era/formulas_signals.*, host/run/
// mpc_portfolio.*): the toy era of docs/FORMULAS.md ("mpc") with numerai-tools' numbers, and
// properties that tie the new formulas to the old ones (a neutralizer set of only the intercept
// leaves neutral_corr = Pearson of the gauss ranks and neutral_mmc = mmc). End to end against
// numerai-tools on random histories: tests/oracle (its Signals history).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/era/formulas_signals.hpp"
#include "host/era/stats.hpp"
#include "host/synth/synth.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using Vec = std::vector<double>;

// The toy era of docs/FORMULAS.md, "mpc": 6 stocks, one neutralizer (the intercept, 1/sqrt(6)),
// sample weights 1; models A (ascending), B (A's mirror), C; stakes 1, 1, 2.
Era toy_era() {
  Era era;
  era.name = "toy";
  era.ids = {"s1", "s2", "s3", "s4", "s5", "s6"};
  era.targets = {0, 0.25, 0.5, 0.5, 0.75, 1};
  era.meta_model = {0.3, 0.1, 0.5, 0.2, 0.6, 0.4};
  era.neutralizers.assign(6, 1 / std::sqrt(6.0));
  era.sample_weights.assign(6, 1.0);
  return era;
}
const Vec kToyA = {.1, .2, .3, .4, .5, .6}, kToyB = {.6, .5, .4, .3, .2, .1},
          kToyC = {.2, .1, .4, .3, .6, .5};

TEST(SignalsFormulas, MpcAndAlphaOfTheToyEra) {
  const Era era = toy_era();
  const std::vector<FormulaSpec> specs{{Builtin::alpha, 0}, {Builtin::mpc, 0}};
  const EraContext ctx(era, {}, ContextNeeds::of(specs), 0, 0);
  ModelScratch scratch;
  Vec w(6 * 3);
  const Vec* models[] = {&kToyA, &kToyB, &kToyC};
  for (std::size_t j = 0; j < 3; ++j) {
    ASSERT_TRUE(signals::portfolio_weights(ctx, *models[j], {w.data() + j * 6, 6}, scratch));
  }
  // numerai-tools 0.7.2: meta_portfolio_contribution and alpha of the same data.
  Vec mpc(3);
  signals::mpc(w, 6, Vec{1, 1, 2}, ctx.target(), mpc);
  EXPECT_NEAR(mpc[0], 0.0176824988742392, 1e-15);
  EXPECT_NEAR(mpc[1], -0.0176824988742392, 1e-15);
  EXPECT_NEAR(mpc[2], 0.0, 1e-15);  // C is the portfolio (A and B cancel): no gradient
  const double alpha_expected[] = {0.317230324454811, -0.317230324454811, 0.22785771083204545};
  for (std::size_t j = 0; j < 3; ++j) {
    Vec out(2);
    score_model(ctx, *models[j], specs, out, scratch);
    EXPECT_NEAR(out[0], alpha_expected[j], 1e-14) << j;
    EXPECT_TRUE(std::isnan(out[1])) << "mpc is the portfolio's, not score_model's";
  }
  // No stake, or a portfolio of nothing: NaN, as numerai-tools' division gives.
  signals::mpc(w, 6, Vec{0, 0, 0}, ctx.target(), mpc);
  for (double v : mpc) EXPECT_TRUE(std::isnan(v));
}

// Neutralizing to the intercept alone only centers: neutral_corr is the Pearson of the target and
// the gauss ranks, neutral_mmc is mmc (the gauss ranks are already centered to rounding).
TEST(SignalsFormulas, InterceptOnlyNeutralizersReduceToTheClassicFormulas) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal;
  std::uniform_int_distribution<int> bucket(0, 4);
  Era era;
  era.name = "e";
  const std::size_t n = 400;
  for (std::size_t i = 0; i < n; ++i) era.ids.push_back("id" + std::to_string(1000 + i));
  for (std::size_t i = 0; i < n; ++i) era.targets.push_back(0.25 * bucket(rng));
  for (std::size_t i = 0; i < n; ++i) era.meta_model.push_back(normal(rng));
  era.neutralizers.assign(n, 3.0);  // a constant column: its span is the intercept's
  const std::vector<FormulaSpec> specs{{Builtin::neutral_corr, 0}, {Builtin::neutral_mmc, 0},
                                       {Builtin::mmc, 0}, {Builtin::neutral_mmc, 40},
                                       {Builtin::mmc, 40}};
  const EraContext ctx(era, {}, ContextNeeds::of(specs), 0, 0);
  ModelScratch scratch;
  for (int trial = 0; trial < 5; ++trial) {
    Vec pred(n);
    // Continuous: with ties, values tied up to rounding meet the top/bottom boundary, and the
    // two formulas' last bits (the neutralized meta-model is centered, mmc's is not quite)
    // decide them differently.
    for (double& v : pred) v = normal(rng);
    Vec out(specs.size());
    score_model(ctx, pred, specs, out, scratch);
    // the gauss ranks themselves
    scratch.resize(n);
    scratch.sorter.sort(pred, scratch.order);
    Vec g(n);
    tie_kept_gaussian(pred, scratch.order, &ctx.gaussian_table(), g);
    EXPECT_NEAR(out[0], pearson(era.targets, g), 1e-12);
    EXPECT_NEAR(out[1], out[2], 1e-12);
    EXPECT_NEAR(out[3], out[4], 1e-12);
  }
  // A constant model: neutralize() makes it NaN, and so the scores.
  Vec out(specs.size());
  score_model(ctx, Vec(n, 0.5), specs, out, scratch);
  EXPECT_TRUE(std::isnan(out[0]));
  EXPECT_TRUE(std::isnan(out[1]));
}

TEST(SignalsFormulas, MaxFeatureCorrIsTheLargestAbsolutePearson) {
  Era era;
  era.name = "e";
  era.ids = {"a", "b", "c", "d", "e", "f", "g", "h"};
  era.targets.assign(8, 0.5);
  const Vec f0 = {0, 1, 2, 3, 4, 0, 1, 2}, f1 = {4, 3, 2, 1, 0, 4, 3, 1}, f2(8, 2.0);
  for (const Vec* f : {&f0, &f1, &f2}) era.features.insert(era.features.end(), f->begin(), f->end());
  const std::vector<FormulaSpec> specs{{Builtin::max_feature_corr, 0},
                                       {Builtin::max_feature_corr, 2}};
  const EraContext ctx(era, {}, ContextNeeds::of(specs), 0, 0);
  EXPECT_FALSE(ctx.has_features()) << "max_feature_corr needs the values, not a factorization";
  const Vec pred = {0.1, 0.3, 0.2, 0.9, 0.5, 0.4, 0.8, 0.7};
  ModelScratch scratch;
  Vec out(2);
  score_model(ctx, pred, specs, out, scratch);
  // f2 is constant: its corr is NaN and skipped, as pandas' idxmax does.
  EXPECT_DOUBLE_EQ(out[0], std::max(std::fabs(pearson(f0, pred)), std::fabs(pearson(f1, pred))));
  // The 2 lowest (rows 0, 2) and 2 highest (rows 6, 3) predictions.
  const Vec p4 = {0.1, 0.2, 0.9, 0.8}, a4 = {0, 2, 3, 1}, b4 = {4, 2, 1, 3};
  EXPECT_DOUBLE_EQ(out[1], std::max(std::fabs(pearson(a4, p4)), std::fabs(pearson(b4, p4))));
  score_model(ctx, Vec(8, 0.5), specs, out, scratch);
  EXPECT_TRUE(std::isnan(out[0])) << "a constant model correlates with nothing";
}

// A model with ids missing: its context reads the whole era's features at its rows (nothing
// copied) and scores what a context of its own rows would.
TEST(SignalsFormulas, MaxFeatureCorrOfASubsetReadsTheErasFeatures) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z;
  Era era;
  era.name = "e";
  const std::size_t n = 300, k = 12;
  for (std::size_t i = 0; i < n; ++i) era.ids.push_back("id" + std::to_string(1000 + i));
  era.targets.assign(n, 0.5);
  for (std::size_t i = 0; i < n * k; ++i) era.features.push_back(std::round(z(rng) * 2));
  const std::vector<FormulaSpec> specs{{Builtin::max_feature_corr, 0},
                                       {Builtin::max_feature_corr, 20}};
  const ContextNeeds needs = ContextNeeds::of(specs);
  const EraContext full(era, {}, needs, 0, 0);
  std::vector<std::uint32_t> rows;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (i % 9 != 4) rows.push_back(i);
  }
  const EraContext own(era, rows, needs, 0, 0, &full), alone(era, rows, needs, 0, 0);
  EXPECT_EQ(own.feature_source(), &full);
  EXPECT_TRUE(own.feature_values().empty());
  EXPECT_EQ(alone.feature_source(), nullptr);
  EXPECT_EQ(own.feature_count(), k);
  Vec pred(rows.size());
  for (double& v : pred) v = z(rng);
  ModelScratch scratch;
  Vec a(2), b(2);
  score_model(own, pred, specs, a, scratch);
  score_model(alone, pred, specs, b, scratch);
  for (std::size_t f = 0; f < 2; ++f) {
    ASSERT_TRUE(std::isfinite(a[f]));
    EXPECT_NEAR(a[f], b[f], 1e-14) << specs[f].name();
  }
}

// synth's neutralizers are orthonormal under its sample weights (N^T diag(w) N = I), the form
// numerai-tools' alpha and mpc assume; the weights average 1 in each era.
TEST(SignalsFormulas, SynthNeutralizersAreOrthonormalUnderTheWeights) {
  testing::TempDir dir;
  SynthOptions o;
  o.models = 12;
  o.eras = 3;
  o.stocks = 300;
  o.neutralizers = 5;
  o.sample_weights = true;
  o.out = dir / "s.h5";
  o.progress = false;
  synthesize(o);
  StoreReader store(o.out);
  ASSERT_EQ(store.schema().neutralizers.size(), 5u);
  ASSERT_TRUE(store.schema().has_sample_weights);
  for (std::size_t e = 0; e < 3; ++e) {
    const Era era = store.read_era(e);
    const std::size_t n = era.n_stocks();
    EXPECT_NEAR(mean(era.sample_weights), 1.0, 1e-12);
    for (std::size_t a = 0; a < 5; ++a) {
      for (std::size_t b = 0; b < 5; ++b) {
        double g = 0;
        for (std::size_t i = 0; i < n; ++i) {
          g += era.sample_weights[i] * era.neutralizer(a)[i] * era.neutralizer(b)[i];
        }
        EXPECT_NEAR(g, a == b ? 1.0 : 0.0, 1e-10) << "era " << e << " " << a << " " << b;
      }
    }
  }
}

}  // namespace
}  // namespace backscore
