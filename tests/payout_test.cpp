// Payout rules of `compare` and `report`: the formula-language parser, the presets with their
// parameters and the payout factor from the store's stakes; and the model diagnostics' columns of
// `compare` (the diagnostics themselves: diagnostics_test.cpp). Numbers worked by hand on the
// example of compare_support.hpp.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "compare_support.hpp"
#include "core/error.hpp"
#include "host/report/compare.hpp"
#include "host/report/payout_input.hpp"
#include "host/lang/payout_rule.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using namespace compare_example;
using testing::TempDir;

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
  CliRun r =
      run_compare({s, "--baseline", "mmc", "--candidate", "mmc2x", "--store", store, "--payout",
                   "classic-2026", "--payout-param", "cm=1,mm=3", "--payout-threshold", "100"});
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
  EXPECT_EQ(r.error,
            "--payout: the rule 'clip(pf*(0.3*alpha + 0.8*mpc), -0.017, 0.017)' uses "
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

}  // namespace
}  // namespace backscore
