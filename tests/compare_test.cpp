// `backscore compare`: the scores file reader, the payout-rule parser, and compare's statistics,
// agreement, leaderboard and payouts, all against numbers computed by hand on tiny inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/report/compare.hpp"
#include "host/report/payout_input.hpp"
#include "host/report/payout_rule.hpp"
#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::TempDir;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A scores file as `backscore run --out` writes it (docs/FORMAT.md), from formula -> M x E values.
void write_scores(const std::filesystem::path& path, const std::vector<std::string>& models,
                  const std::vector<std::string>& eras,
                  const std::vector<std::pair<std::string, std::vector<double>>>& formulas,
                  const std::string& format = "backscore-scores") {
  h5::Hid f = h5::create_file(path.string());
  const hid_t root = f.get();
  h5::write_attribute(root, "format", format);
  h5::write_attribute(root, "version", std::int64_t{1});
  h5::write_attribute(root, "program", std::string("backscore test"));
  h5::write_attribute(root, "store", std::string("/nowhere.h5"));
  h5::write_attribute(root, "target", std::string("target"));
  h5::write_attribute(root, "benchmark", std::string(""));
  h5::write_strings(root, "models", models);
  h5::write_strings(root, "eras", eras);
  std::vector<std::string> names;
  for (const auto& [name, v] : formulas) names.push_back(name);
  h5::write_strings(root, "formulas", names);
  h5::Hid g = h5::create_group(root, "scores");
  const hsize_t dims[2] = {models.size(), eras.size()};
  for (const auto& [name, v] : formulas) {
    h5::write_dataset<double>(g.get(), name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, v, dims);
    h5::Hid ds = h5::open_dataset(g.get(), name);
    h5::write_attribute(ds.get(), "definition", "def of " + name);
  }
}

// The hand-computed example: models A, B, C over eras e1..e3 (row-major M x E).
const std::vector<std::string> kModels = {"A", "B", "C"};
const std::vector<std::string> kEras = {"e1", "e2", "e3"};
const std::vector<double> kCorr = {0.02, 0.01, kNaN, 0.00, -0.01, 0.03, 0.04, kNaN, kNaN};
const std::vector<double> kMmc = {0.01, 0.03, kNaN, -0.01, kNaN, 0.00, 0.025, kNaN, kNaN};
const std::vector<double> kMmc2x = {0.00, 0.01, kNaN, 0.02, 0.01, -0.04, -0.03, kNaN, kNaN};
// NaN = not submitted. C submitted e3 but has no scores there: paid 0 and counted.
const std::vector<double> kStakes = {100, 200, kNaN, 10, 10, 10, 50, kNaN, 50};

ScoreMatrix matrix(const std::string& name, const std::vector<double>& v) {
  return ScoreMatrix{name, 3, 3, v};
}

TEST(ScoresFile, ReadsTablesAttributesAndMatrices) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}});
  const ScoresFileReader f(dir / "s.h5");
  EXPECT_EQ(f.models(), kModels);
  EXPECT_EQ(f.eras(), kEras);
  EXPECT_EQ(f.formulas(), (std::vector<std::string>{"corr", "mmc"}));
  EXPECT_TRUE(f.has_formula("mmc"));
  EXPECT_FALSE(f.has_formula("mmc2"));
  EXPECT_EQ(f.attribute("target"), "target");
  EXPECT_EQ(f.attribute("no_such"), "");
  EXPECT_EQ(f.definition("mmc"), "def of mmc");
  const std::vector<double> m = f.read_matrix("mmc");
  ASSERT_EQ(m.size(), 9u);
  EXPECT_EQ(m[6], 0.025);
  EXPECT_TRUE(std::isnan(m[2]));
  try {
    f.read_matrix("mmc2");
    FAIL() << "no error for a missing formula";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no formula 'mmc2' (the file has: corr, mmc)"),
              std::string::npos)
        << e.what();
  }
}

TEST(ScoresFile, RefusesOtherFormatsNamingTheFile) {
  TempDir dir;
  write_scores(dir / "store.h5", kModels, kEras, {{"corr", kCorr}}, "backscore-store");
  testing::write_file(dir / "text.h5", "not hdf5\n");
  for (const char* name : {"store.h5", "text.h5", "missing.h5"}) {
    try {
      ScoresFileReader f(dir / name);
      FAIL() << "accepted " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find((dir / name).string()), std::string::npos) << e.what();
    }
  }
}

// ScoresFileWriter writes what ScoresFileReader reads: scores written per era column, NaN where
// none was written.
TEST(ScoresFile, WriterRoundTripsThroughTheReader) {
  testing::TempDir dir;
  ScoresFileHeader h{"/abs/store.h5",
                     "target",
                     "",
                     kModels,
                     kEras,
                     {"corr", "mmc"},
                     {"def of corr", "def of mmc"}};
  {
    h5::SilenceHdf5 quiet;
    ScoresFileWriter w(dir / "w.h5", h);
    const std::vector<std::int32_t> models = {0, 2};
    w.write_era(1, models, std::vector<double>{0.1, 0.2, 0.3, 0.4});  // A: 0.1, 0.2; C: 0.3, 0.4
    w.close();
  }
  const ScoresFileReader r(dir / "w.h5");
  EXPECT_EQ(r.models(), kModels);
  EXPECT_EQ(r.eras(), kEras);
  EXPECT_EQ(r.formulas(), (std::vector<std::string>{"corr", "mmc"}));
  EXPECT_EQ(r.attribute("store"), "/abs/store.h5");
  EXPECT_EQ(r.definition("mmc"), "def of mmc");
  const std::vector<double> mmc = r.read_matrix("mmc");
  EXPECT_EQ(mmc[0 * 3 + 1], 0.2);
  EXPECT_EQ(mmc[2 * 3 + 1], 0.4);
  EXPECT_TRUE(std::isnan(mmc[1 * 3 + 1]));
  EXPECT_TRUE(std::isnan(mmc[0]));
}

// A formula the file lacks is an OptionError naming the option's field; the CLI puts its flag.
TEST(ScoresFile, MissingFormulaNamesTheOption) {
  testing::TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}});
  const ScoresFileReader file(dir / "s.h5");
  const std::string rest = ": " + (dir / "s.h5").string() + " has no formula 'x' (it has: corr)";
  try {
    load_scores(file, "x", "baseline");
    ADD_FAILURE() << "loaded a missing formula";
  } catch (const OptionError& e) {
    EXPECT_EQ(e.option(), "baseline");
    EXPECT_EQ(e.what(), "baseline" + rest);
    EXPECT_EQ(e.with_flags({{"baseline", "--baseline"}}), "--baseline" + rest);
  }
  try {
    with_flags({{"baseline", "--baseline"}}, [&] { return load_scores(file, "x", "baseline"); });
    ADD_FAILURE() << "loaded a missing formula";
  } catch (const InputError& e) {
    EXPECT_EQ(e.what(), "--baseline" + rest);
  }
}

TEST(CompareStats, ModelStatsByHand) {
  const std::vector<double> s = {0.1, -0.2, kNaN, 0.3, -0.1};
  const ModelStats m = model_stats(s);
  EXPECT_EQ(m.n_eras, 4u);
  EXPECT_NEAR(m.mean, 0.025, 1e-15);
  EXPECT_NEAR(m.std, std::sqrt(0.1475 / 4), 1e-15);  // ddof 0
  EXPECT_NEAR(m.sharpe, 0.025 / std::sqrt(0.1475 / 4), 1e-12);
  EXPECT_NEAR(m.max_drawdown, 0.2, 1e-15);  // cum 0.1 -> -0.1
  // The running peak starts at 0: an opening loss is a drawdown.
  EXPECT_NEAR(model_stats(std::vector<double>{-0.3, 0.1}).max_drawdown, 0.3, 1e-15);
  EXPECT_EQ(model_stats(std::vector<double>{0.1, 0.2}).max_drawdown, 0.0);
  const ModelStats one = model_stats(std::vector<double>{0.02});
  EXPECT_EQ(one.std, 0.0);
  EXPECT_TRUE(std::isnan(one.sharpe));
  EXPECT_EQ(model_stats(std::vector<double>{kNaN}).n_eras, 0u);
}

TEST(CompareStats, SpearmanWithTiesAndNaN) {
  // Ranks x = 1, 2.5, 2.5, 4 and y = 1, 3, 2, 4: r = 4.5 / sqrt(4.5 * 5).
  const std::vector<double> x = {1, 2, 2, 3, kNaN, 7};
  const std::vector<double> y = {10, 30, 20, 40, 5, kNaN};
  EXPECT_NEAR(spearman(x, y), 4.5 / std::sqrt(22.5), 1e-15);
  EXPECT_NEAR(spearman(std::vector<double>{1, 2, 3}, std::vector<double>{9, 4, 1}), -1.0, 1e-15);
  EXPECT_TRUE(std::isnan(spearman(std::vector<double>{1, kNaN}, std::vector<double>{1, 2})));
  EXPECT_TRUE(std::isnan(spearman(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3})));
}

TEST(CompareStats, DistributionQuartilesLikeNumpy) {
  const Distribution d = distribution(std::vector<double>{4, 1, kNaN, 3, 2});
  EXPECT_EQ(d.n, 4u);
  EXPECT_DOUBLE_EQ(d.mean, 2.5);
  EXPECT_DOUBLE_EQ(d.min, 1);
  EXPECT_DOUBLE_EQ(d.q1, 1.75);
  EXPECT_DOUBLE_EQ(d.median, 2.5);
  EXPECT_DOUBLE_EQ(d.q3, 3.25);
  EXPECT_DOUBLE_EQ(d.max, 4);
}

TEST(PayoutRule, EvaluatesWithPrecedenceAndFunctions) {
  const PayoutRule r = PayoutRule::parse("1 + 2*3 - -4/2 + corr*(mmc - 1)");
  EXPECT_EQ(r.names(), (std::vector<std::string>{"corr", "mmc"}));
  EXPECT_DOUBLE_EQ(r.eval(std::vector<double>{2, 4}), 9 + 2 * 3);
  EXPECT_DOUBLE_EQ(r.eval([](std::string_view n) { return n == "corr" ? 2.0 : 4.0; }), 15);
  EXPECT_DOUBLE_EQ(PayoutRule::parse("min(3, x) + max(x, 3)").eval(std::vector<double>{5}), 8);
  const PayoutRule clip = PayoutRule::parse("clip(x, -0.05, .05)");
  EXPECT_DOUBLE_EQ(clip.eval(std::vector<double>{0.2}), 0.05);
  EXPECT_DOUBLE_EQ(clip.eval(std::vector<double>{-0.2}), -0.05);
  EXPECT_DOUBLE_EQ(clip.eval(std::vector<double>{0.01}), 0.01);
  EXPECT_TRUE(std::isnan(clip.eval(std::vector<double>{kNaN})));
  EXPECT_TRUE(std::isnan(PayoutRule::parse("max(x, 1)").eval(std::vector<double>{kNaN})));
}

TEST(PayoutRule, Presets) {
  const PayoutRule c24 = PayoutRule::parse("classic-2024");
  EXPECT_EQ(c24.text(), "clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05)");
  EXPECT_EQ(c24.preset_name(), "classic-2024");
  EXPECT_EQ(c24.names(), (std::vector<std::string>{"corr", "mmc"}));  // pf is no score
  EXPECT_TRUE(c24.uses_payout_factor());
  EXPECT_EQ(c24.default_threshold(), 72000);
  // 0.5 * 0.02 + 2 * 0.01 = 0.03, times pf 0.5; clipped after pf.
  EXPECT_DOUBLE_EQ(c24.eval(std::vector<double>{0.02, 0.01}, 0.5), 0.015);
  EXPECT_DOUBLE_EQ(c24.eval(std::vector<double>{0.1, 0.1}, 1.0), 0.05);
  EXPECT_DOUBLE_EQ(c24.eval(std::vector<double>{0.1, 0.1}, 0.1), 0.025);
  EXPECT_TRUE(std::isnan(c24.eval(std::vector<double>{0.02, 0.01})));  // pf not given
  // The old names are aliases of the presets of their period.
  EXPECT_EQ(PayoutRule::parse("numerai2024").text(), c24.text());
  EXPECT_EQ(PayoutRule::parse("numerai2024").preset_name(), "classic-2024");
  const PayoutRule c20 = PayoutRule::parse("numerai2020");
  EXPECT_EQ(c20.text(), "clip(corr_v1 + mmc2, -0.25, 0.25)");
  EXPECT_EQ(c20.names(), (std::vector<std::string>{"corr_v1", "mmc2"}));
  EXPECT_FALSE(c20.uses_payout_factor());
  EXPECT_DOUBLE_EQ(c20.eval(std::vector<double>{0.2, 0.1}), 0.25);
  // classic-2026: the multipliers are parameters, 0.75 and 2.25 unless given.
  EXPECT_EQ(PayoutRule::preset("classic-2026"), "clip(pf*(0.75*corr + 2.25*mmc), -0.05, 0.05)");
  const PayoutRule c26 = PayoutRule::parse("classic-2026", {{"mm", 3}, {"cm", 0.1}});
  EXPECT_EQ(c26.text(), "clip(pf*(0.1*corr + 3*mmc), -0.05, 0.05)");
  EXPECT_DOUBLE_EQ(c26.eval(std::vector<double>{0.1, 0.01}, 1.0), 0.04);  // 0.01 + 0.03
  const PayoutRule sig = PayoutRule::parse("signals-2025");
  EXPECT_EQ(sig.names(), (std::vector<std::string>{"alpha", "mpc"}));
  EXPECT_EQ(sig.default_threshold(), 36000);
  // 0.3 * 0.01 + 0.8 * 0.05 = 0.043, clipped to 0.017; pf 0.5 first: 0.0215 -> 0.017 still.
  EXPECT_DOUBLE_EQ(sig.eval(std::vector<double>{0.01, 0.05}, 0.5), 0.017);
  EXPECT_DOUBLE_EQ(sig.eval(std::vector<double>{0.01, 0.01}, 0.5), 0.0055);
  const PayoutRule crypto = PayoutRule::parse("crypto");
  EXPECT_EQ(crypto.names(), (std::vector<std::string>{"mmc"}));
  EXPECT_EQ(crypto.default_threshold(), 10000);
  EXPECT_DOUBLE_EQ(crypto.eval(std::vector<double>{-0.3}, 0.25), -0.05);
  EXPECT_DOUBLE_EQ(crypto.eval(std::vector<double>{-0.1}, 0.25), -0.025);
  // A rule written out may use pf; its threshold is classic's.
  const PayoutRule own = PayoutRule::parse("pf * corr");
  EXPECT_TRUE(own.uses_payout_factor());
  EXPECT_EQ(own.preset_name(), "");
  EXPECT_EQ(own.default_threshold(), kDefaultPayoutThreshold);
  EXPECT_EQ(payout_preset_list(),
            "classic-2020, classic-2024, classic-2026(cm=0.75, mm=2.25), signals-2025, crypto, "
            "numerai2024 (= classic-2024), numerai2020 (= classic-2020)");
}

TEST(PayoutRule, PresetParametersAreChecked) {
  auto message = [](const std::string& rule, const std::vector<PayoutParam>& params) {
    try {
      PayoutRule::parse(rule, params);
    } catch (const OptionError& e) {
      EXPECT_EQ(e.option(), "payout_params");
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("classic-2026", {{"cx", 1}}),
            "payout_params: the payout preset 'classic-2026' has no parameter 'cx' (it has: "
            "cm=0.75, mm=2.25)");
  EXPECT_EQ(message("classic-2024", {{"cm", 1}}),
            "payout_params: the payout preset 'classic-2024' has no parameter 'cm' (it has none)");
  EXPECT_EQ(message("corr + mmc", {{"cm", 1}}),
            "payout_params: 'cm': only a payout preset takes parameters");
  const PayoutParam p = parse_payout_param("cm=0.5");
  EXPECT_EQ(p.name, "cm");
  EXPECT_EQ(p.value, 0.5);
  for (const char* bad : {"cm", "=1", "cm=", "cm=x", "cm=inf", "cm=1e999"}) {
    EXPECT_THROW(parse_payout_param(bad), OptionError) << bad;
  }
}

TEST(PayoutRule, PayoutFactor) {
  EXPECT_EQ(payout_factor(72000, 144000), 0.5);
  EXPECT_EQ(payout_factor(72000, 72000), 1.0);
  EXPECT_EQ(payout_factor(72000, 1000), 1.0);  // under the threshold: paid in full
  EXPECT_EQ(payout_factor(72000, 0), 1.0);     // nothing at risk
}

// The message is one line quoting the rule, naming the problem and its 1-based column.
void expect_caret(const std::string& rule, std::size_t column, const std::string& what) {
  try {
    PayoutRule::parse(rule);
    FAIL() << "parsed " << rule;
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("payout rule '" + rule + "': ", 0), 0u) << msg;
    EXPECT_NE(msg.find(what), std::string::npos) << msg;
    EXPECT_NE(msg.find(": column " + std::to_string(column + 1) + ": "), std::string::npos) << msg;
  }
}

TEST(PayoutRule, ParseErrorsPointAtTheColumn) {
  expect_caret("clip(corr, 1", 12, "expected ','");
  expect_caret("corr + * mmc", 7, "unexpected '*'");
  expect_caret("corr mmc", 5, "unexpected 'mmc'");
  expect_caret("foo(corr)", 0, "unknown function 'foo'");
  expect_caret("clip(corr, mmc)", 0, "clip");
  expect_caret("rank(corr)", 5, "needs a vector, got a scalar");
  expect_caret("(corr + mmc", 11, "expected ')'");
  expect_caret("", 0, "empty rule");
  expect_caret("  ", 0, "empty rule");
  expect_caret("corr $ 2", 5, "unexpected character '$'");
  expect_caret("target + 1", 0, "'target' is per-stock data");
}

// The rule is the formula language's scalar syntax: what a --formula definition can say.
TEST(PayoutRule, SpeaksTheFormulaLanguage) {
  const PayoutRule r =
      PayoutRule::parse("if(corr > 0, corr, 0) + abs(mmc) ^ 2 + max(corr, mmc, 1)");
  EXPECT_EQ(r.names(), (std::vector<std::string>{"corr", "mmc"}));
  EXPECT_DOUBLE_EQ(r.eval(std::vector<double>{0.5, -3}), 0.5 + 9 + 1);
  EXPECT_DOUBLE_EQ(r.eval(std::vector<double>{-0.5, 2}), 0 + 4 + 2);
  EXPECT_TRUE(std::isnan(PayoutRule::parse("corr / (mmc - mmc)").eval(std::vector<double>{1, 2})));
  // min/max of many scores (beyond any fixed argument buffer).
  const PayoutRule many = PayoutRule::parse("max(a, b, c, d, e, f, g, h, i, j, k)");
  EXPECT_DOUBLE_EQ(many.eval(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), 11);
  // Score names are any formula column, built-in names with a top/bottom suffix and defined ones.
  EXPECT_EQ(PayoutRule::parse("corr_tb200 + my_formula").names(),
            (std::vector<std::string>{"corr_tb200", "my_formula"}));
}

TEST(Compare, StatsRanksAgreementAndPayoutsByHand) {
  const ScoreMatrix corr = matrix("corr", kCorr), mmc = matrix("mmc", kMmc),
                    cand = matrix("mmc2x", kMmc2x);
  PayoutInput p;
  p.rule = PayoutRule::parse("numerai2024");  // names corr, mmc; pf 1 (under the threshold)
  p.baseline_scores = {&corr, &mmc};
  p.stakes = kStakes;
  p.payout_factor = {1, 1, 1};
  const CompareResult r = compare(mmc, cand, &p);

  EXPECT_NEAR(r.base_stats[0].mean, 0.02, 1e-15);
  EXPECT_NEAR(r.base_stats[0].std, 0.01, 1e-15);
  EXPECT_NEAR(r.base_stats[0].sharpe, 2.0, 1e-12);
  EXPECT_EQ(r.base_stats[1].n_eras, 2u);
  EXPECT_NEAR(r.cand_stats[1].mean, -0.01 / 3, 1e-15);
  EXPECT_NEAR(r.cand_stats[1].max_drawdown, 0.04, 1e-15);  // 0.02, 0.03, -0.01

  // Ranks by mean: baseline C 0.025, A 0.02, B -0.005; candidate A 0.005, B -0.0033, C -0.03.
  EXPECT_EQ(r.base_rank, (std::vector<std::size_t>{2, 3, 1}));
  EXPECT_EQ(r.cand_rank, (std::vector<std::size_t>{1, 2, 3}));
  const std::vector<Mover> up = movers(r, true, 10), down = movers(r, false, 10);
  ASSERT_EQ(up.size(), 2u);
  EXPECT_EQ(up[0].model, 0u);
  EXPECT_EQ(up[0].move, 1);
  EXPECT_EQ(up[1].model, 1u);
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].model, 2u);
  EXPECT_EQ(down[0].move, -2);
  EXPECT_EQ(movers(r, true, 1).size(), 1u);

  // e1: ranks (2, 1, 3) against (2, 3, 1): -1; e2 and e3 have one pair each: NaN.
  EXPECT_NEAR(r.era_spearman[0], -1.0, 1e-15);
  EXPECT_TRUE(std::isnan(r.era_spearman[1]));
  EXPECT_EQ(r.era_pairs, (std::vector<std::size_t>{3, 1, 1}));
  EXPECT_EQ(r.era_spearman_dist.n, 1u);
  // Over the 5 model-eras with both: ranks (3,1,4,5,2) vs (3,5,2,4,1): r = -1 / 10.
  EXPECT_EQ(r.overall_pairs, 5u);
  EXPECT_NEAR(r.overall_spearman, -0.1, 1e-15);

  // Payouts: stake x clip(0.5 corr + 2 mmc, -0.05, 0.05), candidate with mmc2x for mmc.
  ASSERT_TRUE(r.payouts);
  const auto& pay = *r.payouts;
  EXPECT_TRUE(r.rule_names_baseline);
  EXPECT_NEAR(pay[0].baseline, 3.0 + 10.0, 1e-12);
  EXPECT_NEAR(pay[0].candidate, 1.0 + 5.0, 1e-12);
  EXPECT_NEAR(pay[1].baseline, -0.2 + 0.15, 1e-12);
  EXPECT_EQ(pay[1].baseline_nan, 1u);  // e2 has no mmc
  EXPECT_NEAR(pay[1].candidate, 0.4 + 0.15 - 0.5, 1e-12);
  EXPECT_EQ(pay[1].candidate_nan, 0u);
  EXPECT_NEAR(pay[2].baseline, 2.5, 1e-12);
  EXPECT_NEAR(pay[2].candidate, -2.0, 1e-12);
  EXPECT_EQ(pay[2].baseline_nan, 1u);  // e3: submitted, no scores
  EXPECT_EQ(pay[2].staked_eras, 2u);
  EXPECT_EQ(r.payout_total.staked_eras, 7u);
  EXPECT_NEAR(r.payout_total.baseline, 15.45, 1e-12);
  EXPECT_NEAR(r.payout_total.candidate, 4.05, 1e-12);
  EXPECT_EQ(r.payout_total.baseline_nan, 2u);
  EXPECT_EQ(r.payout_total.candidate_nan, 1u);
  // A unit stake compounded over the staked eras: A 1.03 x 1.05 (0.065 clipped); B 0.98 x 1.015
  // (e2 pays 0: no mmc); C 1.05 (e3 pays 0).
  EXPECT_NEAR(pay[0].baseline_growth, 1.03 * 1.05, 1e-15);
  EXPECT_NEAR(pay[1].baseline_growth, 0.98 * 1.015, 1e-15);
  EXPECT_NEAR(pay[2].baseline_growth, 1.05, 1e-15);
  EXPECT_NEAR(pay[0].candidate_growth, 1.01 * 1.025, 1e-15);  // 0.5 x 0.02 + 0; 0.005 + 0.02

  // A rule that does not name the baseline pays the candidate the same.
  PayoutInput q;
  q.rule = PayoutRule::parse("corr");
  q.baseline_scores = {&corr};
  q.stakes = kStakes;
  const CompareResult s = compare(mmc, cand, &q);
  EXPECT_FALSE(s.rule_names_baseline);
  EXPECT_EQ(s.payout_total.baseline, s.payout_total.candidate);
}

// A store holding the example's submissions and stakes (scores come from the scores file).
void write_store(const std::filesystem::path& path, bool stakes) {
  StoreSchema schema;
  schema.models = kModels;
  schema.targets = {"target"};
  schema.has_stakes = stakes;
  StoreWriter w(path, schema);
  const std::vector<std::vector<std::int32_t>> submitted = {{0, 1, 2}, {0, 1}, {1, 2}};
  for (std::size_t j = 0; j < 3; ++j) {
    Era e;
    e.name = kEras[j];
    e.ids = {"a", "b", "c", "d"};
    e.targets = {0, 0.25, 0.75, 1};
    e.models = submitted[j];
    std::vector<float> preds;
    for (std::int32_t m : e.models) {
      if (stakes) e.stakes.push_back(kStakes[static_cast<std::size_t>(m) * 3 + j]);
      for (int i = 0; i < 4; ++i) preds.push_back(static_cast<float>(i + m) / 8.0f);
    }
    w.append_era(e, preds);
  }
  w.finish();
}

struct CliRun {
  std::string out;
  std::string error;  // InputError's message, "" when none
};

// Runs `compare ARGS` in process through add_compare (independent of app.cpp's registration).
CliRun run_compare(std::vector<std::string> args) {
  CLI::App app{"test"};
  cli::add_compare(app);
  args.insert(args.begin(), "compare");
  std::vector<const char*> argv{"backscore"};
  for (const auto& a : args) argv.push_back(a.c_str());
  CliRun r;
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const InputError& e) {
    r.error = e.what();
  }
  r.out = ::testing::internal::GetCapturedStdout();
  return r;
}

TEST(CompareCli, WritesCsvTablesAndTotals) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "store.h5", true);
  const CliRun r =
      run_compare({(dir / "s.h5").string(), "--baseline", "mmc", "--candidate", "mmc2x", "--store",
                   (dir / "store.h5").string(), "--out-dir", (dir / "rep").string()});
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("overall Spearman over 5 model-eras: -0.1000"), std::string::npos) << r.out;
  const std::string payouts = testing::read_file(dir / "rep" / "payouts.csv");
  EXPECT_EQ(payouts.substr(0, payouts.find('\n')),
            "model,staked_eras,baseline,candidate,change,baseline_nan,candidate_nan");
  const std::string total = payouts.substr(payouts.find("TOTAL,"));
  EXPECT_EQ(total.substr(0, 9), "TOTAL,7,1");  // 15.45...
  EXPECT_NE(total.find(",2,1\n"), std::string::npos) << total;
  EXPECT_EQ(testing::line_count(testing::read_file(dir / "rep" / "models.csv")), 4u);
  EXPECT_EQ(testing::read_file(dir / "rep" / "eras.csv"),
            "era,models,spearman\ne1,3,-1\ne2,1,\ne3,1,\n");
  const std::string lb = testing::read_file(dir / "rep" / "leaderboard.csv");
  EXPECT_NE(lb.find("\nC,1,3,-2,0.025000000000000001,-0.029999999999999999\n"), std::string::npos)
      << lb;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "rep")) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST(CompareCli, UserErrors) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "nostakes.h5", false);
  const std::string s = (dir / "s.h5").string();
  CliRun r = run_compare(
      {s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", (dir / "nostakes.h5").string()});
  EXPECT_NE(r.error.find("the store has no stakes"), std::string::npos) << r.error;
  r = run_compare(
      {s, "--baseline", "mmc", "--candidate", "nope", "--out-dir", (dir / "never").string()});
  EXPECT_FALSE(std::filesystem::exists(dir / "never"));  // no partial output
  EXPECT_NE(r.error.find("--candidate: " + s + " has no formula 'nope'"), std::string::npos)
      << r.error;
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--payout", "corr"});
  EXPECT_NE(r.error.find("--payout needs --store"), std::string::npos) << r.error;
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", "x.h5", "--payout",
                   "clip(corr,"});
  EXPECT_NE(r.error.find("payout rule 'clip(corr,': column 11: the expression ends too early"),
            std::string::npos)
      << r.error;
  r = run_compare(
      {s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", "x.h5", "--payout", "2*bmc"});
  EXPECT_NE(r.error.find("uses 'bmc'"), std::string::npos) << r.error;
  // Without --store: statistics but no payouts.
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x"});
  EXPECT_EQ(r.error, "");
  EXPECT_NE(r.out.find("payouts: not computed"), std::string::npos) << r.out;
}

// pf from the store's stakes: each era's total stake at risk (every model that submitted it).
TEST(CompareCli, PayoutFactorFromTheStakes) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "store.h5", true);
  const ScoresFileReader file(dir / "s.h5");
  StoreReader store(dir / "store.h5");
  const PayoutRule rule = PayoutRule::parse("classic-2024");
  // Totals at risk: e1 100 + 10 + 50 = 160, e2 200 + 10 = 210, e3 10 + 50 = 60.
  const PayoutData d = load_payout(rule, store, file, nullptr, 100);
  EXPECT_EQ(d.threshold, 100);
  ASSERT_EQ(d.input.payout_factor.size(), 3u);
  EXPECT_DOUBLE_EQ(d.input.payout_factor[0], 100.0 / 160);
  EXPECT_DOUBLE_EQ(d.input.payout_factor[1], 100.0 / 210);
  EXPECT_EQ(d.input.payout_factor[2], 1.0);
  const CompareResult r = compare(d.scores[1], matrix("mmc2x", kMmc2x), &d.input);
  // A: e1 100 x 0.625 x 0.03; e2 200 x (100/210) x 0.065 (under the clip once scaled).
  EXPECT_NEAR((*r.payouts)[0].baseline, 1.875 + 1300.0 / 210, 1e-12);
  EXPECT_NEAR((*r.payouts)[0].baseline_growth, (1 + 0.01875) * (1 + 6.5 / 210), 1e-15);
  // The preset's threshold, 72000, is far above these stakes: pf = 1.
  EXPECT_EQ(load_payout(rule, store, file).input.payout_factor, (std::vector<double>{1, 1, 1}));
  // A rule without pf gets no factors.
  EXPECT_TRUE(load_payout(PayoutRule::parse("corr"), store, file).input.payout_factor.empty());
}

TEST(CompareCli, PresetsParametersAndThresholdOptions) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "store.h5", true);
  const std::string s = (dir / "s.h5").string(), store = (dir / "store.h5").string();
  CliRun r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", store,
                          "--payout", "classic-2026", "--payout-param", "cm=1,mm=3",
                          "--payout-threshold", "100"});
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("payouts under clip(pf*(1*corr + 3*mmc), -0.05, 0.05), stake x rule per "
                       "model-era (candidate: mmc2x in place of mmc); pf = min(1, 100 / the "
                       "era's total stake at risk):"),
            std::string::npos)
      << r.out;
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", store, "--payout",
                   "classic-2026", "--payout-param", "cx=1"});
  EXPECT_EQ(r.error,
            "--payout-param: the payout preset 'classic-2026' has no parameter 'cx' (it has: "
            "cm=0.75, mm=2.25)");
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", store, "--payout",
                   "numerai2020", "--payout-threshold", "100"});
  EXPECT_EQ(r.error,
            "--payout-threshold: the payout rule 'clip(corr_v1 + mmc2, -0.25, 0.25)' does not "
            "use pf, the payout factor");
  // pf needs the stakes: without --store the rule is refused, saying so.
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--payout", "classic-2024"});
  EXPECT_EQ(r.error,
            "--payout: the rule 'clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05)' uses pf, the payout "
            "factor, which needs --store (each era's total stake at risk)");
  // A preset naming scores the file lacks (Signals' alpha and mpc) names the first missing one.
  r = run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", store, "--payout",
                   "signals-2025"});
  EXPECT_EQ(r.error, "--payout: the rule 'clip(pf*(0.3*alpha + 0.8*mpc), -0.017, 0.017)' uses "
                     "'alpha' but " +
                         s + " has no such formula (it has: corr, mmc, mmc2x)");
}

// One row of a CSV written by the program (no quoted cells in these tables), by column name.
std::map<std::string, std::string> csv_row(const std::string& text, const std::string& first) {
  std::vector<std::vector<std::string>> lines;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    std::vector<std::string> cells;
    std::string line = text.substr(at, end - at), cell;
    for (char c : line + ",") {
      if (c == ',') {
        cells.push_back(cell);
        cell.clear();
      } else {
        cell += c;
      }
    }
    lines.push_back(cells);
    at = end + 1;
  }
  std::map<std::string, std::string> row;
  for (const auto& line : lines) {
    if (line.at(0) != first) continue;
    for (std::size_t c = 0; c < line.size(); ++c) row[lines.at(0).at(c)] = line[c];
  }
  return row;
}

TEST(CompareCli, ModelDiagnosticsColumns) {
  TempDir dir;
  // max_feature_corr per model-era: A 0.1, 0.2; B 0.3 x 3; C 0.05.
  const std::vector<double> mfc = {0.1, 0.2, kNaN, 0.3, 0.3, 0.3, 0.05, kNaN, kNaN};
  write_scores(dir / "s.h5", kModels, kEras,
               {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}, {"max_feature_corr", mfc}});
  write_scores(dir / "plain.h5", kModels, kEras,
               {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "store.h5", true);
  CliRun r = run_compare({(dir / "s.h5").string(), "--baseline", "mmc", "--candidate", "mmc2x",
                          "--store", (dir / "store.h5").string(), "--out-dir",
                          (dir / "rep").string(), "--eras-per-year", "12"});
  ASSERT_EQ(r.error, "");
  EXPECT_NE(r.out.find("model diagnostics"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("b_ac1  b_smart  b_calmar"), std::string::npos) << r.out;
  const std::string models = testing::read_file(dir / "rep" / "models.csv");
  EXPECT_EQ(models.substr(0, models.find('\n')),
            "model,mmc_eras,mmc_mean,mmc_std,mmc_sharpe,mmc_max_drawdown,mmc_autocorr,"
            "mmc_smart_sharpe,mmc_calmar,mmc_apy,mmc2x_eras,mmc2x_mean,mmc2x_std,mmc2x_sharpe,"
            "mmc2x_max_drawdown,mmc2x_autocorr,mmc2x_smart_sharpe,mmc2x_calmar,mmc2x_apy,"
            "max_feature_exposure,churn");
  auto num = [](const std::string& cell) { return std::stod(cell); };
  auto a = csv_row(models, "A"), b = csv_row(models, "B"), c = csv_row(models, "C");
  // A's unit stake grows 1.03 x 1.05 in 2 eras; 12 eras a year.
  EXPECT_NEAR(num(a["mmc_apy"]), std::pow(1.03 * 1.05, 6.0) - 1, 1e-12);
  EXPECT_NEAR(num(a["mmc2x_apy"]), std::pow(1.01 * 1.025, 6.0) - 1, 1e-12);
  EXPECT_NEAR(num(a["max_feature_exposure"]), 0.15, 1e-15);
  EXPECT_NEAR(num(b["max_feature_exposure"]), 0.3, 1e-15);
  EXPECT_NEAR(num(c["max_feature_exposure"]), 0.05, 1e-15);
  // B's mmc2x: 0.02, 0.01, -0.04; ac1 = Pearson((0.02, 0.01), (0.01, -0.04)) = 1 (two points
  // falling together). Smart Sharpe: mean -1/300, deviations 7/300, 4/300, -11/300, so the
  // std (ddof 1) is sqrt(186 / 90000 / 2); the penalty sqrt(1 + 2 (2/3 + 1/3)) = sqrt 3.
  EXPECT_NEAR(num(b["mmc2x_autocorr"]), 1.0, 1e-12);
  EXPECT_NEAR(num(b["mmc2x_smart_sharpe"]),
              (-1.0 / 300) / (std::sqrt(186.0 / 180000) * std::sqrt(3.0)), 1e-12);
  // Calmar: 12 x mean / max drawdown; B's mmc2x mean -0.01/3, drawdown 0.04.
  EXPECT_NEAR(num(b["mmc2x_calmar"]), 12 * (-0.01 / 3) / 0.04, 1e-12);
  // Churn: the store's predictions are the same each era (corr 1); C skipped e2, so it has no
  // pair of consecutive eras.
  EXPECT_NEAR(num(a["churn"]), 0.0, 1e-12);
  EXPECT_NEAR(num(b["churn"]), 0.0, 1e-12);
  EXPECT_EQ(c["churn"], "");
  EXPECT_EQ(a["mmc_autocorr"], "");  // two eras: no autocorrelation

  // Without max_feature_corr the column is empty; without --store there is no APY nor churn.
  r = run_compare({(dir / "plain.h5").string(), "--baseline", "mmc", "--candidate", "mmc2x",
                   "--out-dir", (dir / "plain").string()});
  ASSERT_EQ(r.error, "");
  const std::string plain = testing::read_file(dir / "plain" / "models.csv");
  a = csv_row(plain, "A");
  EXPECT_EQ(a["max_feature_exposure"], "");
  EXPECT_EQ(a["churn"], "");
  EXPECT_EQ(a["mmc_apy"], "");
  EXPECT_NE(a["mmc_mean"], "");
  // The terminal says "-" for what is not available (APY, max_fe, churn) and nan for what has
  // no value (A: 2 eras, no drawdown).
  const std::size_t at = r.out.find("\nA ", r.out.find("model diagnostics"));
  ASSERT_NE(at, std::string::npos) << r.out;
  std::vector<std::string> cells;
  std::string cell;
  for (char ch : r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1) + " ") {
    if (ch != ' ') {
      cell += ch;
    } else if (!cell.empty()) {
      cells.push_back(cell);
      cell.clear();
    }
  }
  EXPECT_EQ(cells, (std::vector<std::string>{"A", "nan", "nan", "nan", "-", "nan", "nan", "nan",
                                             "-", "-", "-"}));
}

// The executable: exit status 2 and one line naming the problem.
TEST(CompareCli, EndToEndParseErrorExitsTwo) {
  TempDir dir;
  write_scores(dir / "s.h5", kModels, kEras, {{"corr", kCorr}, {"mmc", kMmc}, {"mmc2x", kMmc2x}});
  write_store(dir / "store.h5", true);
  const auto r = testing::run_backscore({"compare", (dir / "s.h5").string(), "--baseline", "mmc"});
  EXPECT_EQ(r.status, 2);
  const auto bad = testing::run_backscore({"compare", (dir / "s.h5").string(), "--baseline", "mmc",
                                           "--candidate", "mmc2x", "--store",
                                           (dir / "store.h5").string(), "--payout", "corr +"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err,
            "backscore: error: payout rule 'corr +': column 7: the expression ends too early\n");
  const auto ok =
      testing::run_backscore({"compare", (dir / "s.h5").string(), "--baseline", "mmc",
                              "--candidate", "mmc2x", "--store", (dir / "store.h5").string()});
  EXPECT_EQ(ok.status, 0) << ok.err;
}

}  // namespace
}  // namespace backscore
