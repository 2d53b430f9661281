// `backscore compare`: the scores file reader and compare's statistics, agreement, leaderboard
// and payouts, all against numbers computed by hand on tiny inputs (payout rules, presets and the
// model diagnostics' columns: payout_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "compare_support.hpp"
#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/report/compare.hpp"
#include "host/lang/payout_rule.hpp"
#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using namespace compare_example;
using testing::TempDir;

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
