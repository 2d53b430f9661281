// `backscore audit`: the pair checks and the fixed-effects slope against numbers computed
// independently (by hand, and by an exact rational dummy-variable regression in Python), the
// quantities read from a hand-made store, the burn-era verdicts on a synthetic history, and the
// command's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/report/audit.hpp"
#include "host/report/compare.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::TempDir;
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

TEST(AuditPairs, HandCountedEra) {
  // (a) tol 0.002: pairs (0,1), (0,2), (1,2) violate (the lower-xcorr one scores less), (3,5)
  // and (4,5) hold, (3,4) has equal xcorr: not comparable. (b) tol 0.02: only (3,4), equal
  // xcorr, and the higher corr (4) scores less: a violation.
  const std::vector<AuditObservation> obs = {{5, 0.0215, 0.9, 0.01}, {0, 0.010, 0.1, 0.00},
                                             {1, 0.011, 0.8, 0.02},  {2, 0.0115, 0.5, 0.01},
                                             {3, 0.020, 0.3, 0.05},  {4, 0.0205, 0.3, 0.04}};
  AuditOptions o;
  o.worst = 2;
  AuditResult r;
  check_era(7, obs, o, r);
  EXPECT_EQ(r.originality.comparable, 5u);
  EXPECT_EQ(r.originality.violations, 3u);
  EXPECT_NEAR(r.originality.rate(), 0.6, 1e-15);
  ASSERT_EQ(r.originality.worst.size(), 3u);  // trimmed to `worst` by audit_formula only
  EXPECT_EQ(r.relative.comparable, 1u);
  EXPECT_EQ(r.relative.violations, 1u);
  ASSERT_EQ(r.relative.worst.size(), 1u);
  EXPECT_EQ(r.relative.worst[0].era, 7u);
  EXPECT_EQ(r.relative.worst[0].should.model, 4u);
  EXPECT_EQ(r.relative.worst[0].other.model, 3u);
  EXPECT_NEAR(r.relative.worst[0].shortfall, 0.01, 1e-15);

  // Through audit_formula: one era, the same observations, worst first and trimmed.
  AuditQuantities q;
  q.n_models = 6, q.n_eras = 1, q.meta_corr = {0.1};
  ScoreMatrix score{"f", 6, 1, std::vector<double>(6)},
      corr{"corr_v1", 6, 1, std::vector<double>(6)};
  q.xcorr.resize(6);
  for (const AuditObservation& ob : obs) {
    score.values[ob.model] = ob.score;
    corr.values[ob.model] = ob.corr;
    q.xcorr[ob.model] = ob.xcorr;
  }
  const AuditResult f = audit_formula(score, corr, q, o);
  EXPECT_EQ(f.observed, 6u);
  EXPECT_EQ(f.burn_eras, 0u);
  ASSERT_EQ(f.originality.worst.size(), 2u);
  EXPECT_EQ(f.originality.worst[0].should.model, 0u);  // shortfall 0.02 against model 1
  EXPECT_EQ(f.originality.worst[0].other.model, 1u);
  EXPECT_NEAR(f.originality.worst[0].shortfall, 0.02, 1e-15);
  EXPECT_EQ(f.originality.worst[1].should.model, 0u);  // 0.01: (0, 2) before (2, 1)
  EXPECT_EQ(f.originality.worst[1].other.model, 2u);
  EXPECT_EQ(pair_verdict(f.originality), "VIOLATED in 3 of 5 comparable pairs (60.00%)");
  EXPECT_EQ(pair_verdict(PairCheck{}), "not tested: no comparable pairs");
}

TEST(AuditSlope, FixedEffectsClusteredMatchesDummyRegression) {
  // Expected values: tests/audit_test.cpp's data regressed in exact rational arithmetic on
  // [corr, xcorr, one dummy per era] (Python fractions), CR1 sandwich with the dummies
  // included, c = G/(G-1) (N-1)/(N-2), t(0.975, G-1 = 2) = 4.302652729749205.
  const std::vector<std::vector<AuditObservation>> eras = {
      {{0, 0.01, 0.2, 0.010}, {1, 0.02, 0.5, 0.030}, {2, 0.03, 0.1, 0.015}, {3, 0.00, 0.9, 0.020}},
      {{0, 0.05, 0.3, 0.02}, {1, -0.01, 0.6, 0.01}, {2, 0.02, 0.4, 0.03}},
      {{0, 0.0, 0.0, 0.0},
       {1, 0.01, 0.7, 0.02},
       {2, 0.03, 0.2, -0.01},
       {3, 0.02, 0.5, 0.005},
       {4, 0.04, 0.8, 0.04}}};
  EraFixedEffectsOls ols;
  for (const auto& e : eras) ols.add_era(e);
  ols.add_era(std::vector<AuditObservation>{{9, 1.0, 1.0, 5.0}});  // a singleton: no information
  const EraFixedEffectsOls::Fit f = ols.fit();
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.n, 12u);
  EXPECT_EQ(f.eras, 3u);
  EXPECT_NEAR(f.b1, 0.3306160373058448, 1e-13);
  EXPECT_NEAR(f.b2, 0.03129799095403387, 1e-14);
  EXPECT_NEAR(f.se1, 0.07985544128629248, 1e-13);
  EXPECT_NEAR(f.se2, 0.008055946407336147, 1e-14);
  EXPECT_NEAR(f.lo2, -0.0033639488462043066, 1e-11);  // t tabled to 9 digits
  EXPECT_NEAR(f.hi2, 0.06595993075427205, 1e-11);
  EXPECT_EQ(slope_sign(f), 0);  // the interval straddles 0

  EraFixedEffectsOls one;  // one era: no clustered interval
  one.add_era(eras[0]);
  EXPECT_FALSE(one.fit().ok);
  EXPECT_EQ(slope_sign(one.fit()), 0);
}

TEST(AuditSlope, StudentQuantiles) {
  EXPECT_NEAR(t_quantile_975(1), 12.706204736172548, 1e-8);
  EXPECT_NEAR(t_quantile_975(2), 4.302652729749205, 1e-8);
  EXPECT_NEAR(t_quantile_975(30), 2.0422724563012595, 1e-8);
  EXPECT_NEAR(t_quantile_975(31), 2.0395134463964077, 1e-5);
  EXPECT_NEAR(t_quantile_975(100), 1.9839715184496334, 1e-6);
  EXPECT_NEAR(t_quantile_975(1e9), 1.959963984540054, 1e-8);
}

TEST(AuditQuantitiesTest, XcorrIsSpearmanOnSubmittedIds) {
  RankWork w;
  const std::vector<double> meta = {1, 2, 3, 4, 5};
  // ids 1..4: ranks (2, 1, 4, 3) against (1, 2, 3, 4): 1 - 6 * 4 / (4 * 15) = 0.6.
  EXPECT_NEAR(xcorr_of(meta, std::vector<float>{kNaNf, 0.2f, 0.1f, 0.4f, 0.3f}, w), 0.6, 1e-15);
  // Tied predictions keep their mean rank: (1.5, 1.5, 4, 3): 3.5 / sqrt(4.5 * 5).
  EXPECT_NEAR(xcorr_of(meta, std::vector<float>{kNaNf, 0.2f, 0.2f, 0.4f, 0.3f}, w),
              3.5 / std::sqrt(22.5), 1e-15);
  EXPECT_TRUE(std::isnan(xcorr_of(meta, std::vector<float>{kNaNf, kNaNf, kNaNf, kNaNf, 1}, w)));
}

// Two eras of five stocks; the meta-model's corr_v1 is +0.8 in e1 and -0.8 (burn) in e2.
void write_tiny_store(const std::filesystem::path& path) {
  StoreSchema schema;
  schema.models = {"A", "B", "C"};
  schema.targets = {"target"};
  schema.has_meta_model = true;
  schema.has_stakes = true;
  StoreWriter w(path, schema);
  Era e1;
  e1.name = "e1";
  e1.ids = {"a", "b", "c", "d", "e"};
  e1.targets = {0, 0.25, 0.5, 0.75, 1};
  e1.meta_model = {0.1, 0.3, 0.2, 0.5, 0.4};
  e1.models = {0, 1};
  e1.stakes = {10, 20};
  // A: ranks (5, 4, 3, 2, 1) against the meta-model's (1, 3, 2, 5, 4): 1 - 6 * 36 / 120 = -0.8.
  // B: on ids b..e, (2, 1, 4, 3) against (1, 2, 3, 4) after re-ranking the meta-model: 0.6.
  w.append_era(e1, std::vector<float>{0.5f, 0.4f, 0.3f, 0.2f, 0.1f, kNaNf, 1, 2, 3, 4});
  Era e2 = e1;
  e2.name = "e2";
  e2.meta_model = {0.4, 0.5, 0.2, 0.3, 0.1};
  e2.models = {0, 2};
  w.append_era(e2, std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.4f, 0.5f, 0.2f, 0.3f, 0.1f});
  w.finish();
}

TEST(AuditQuantitiesTest, FromAHandMadeStore) {
  TempDir dir;
  write_tiny_store(dir / "store.h5");
  const auto run =
      testing::run_backscore({"run", (dir / "store.h5").string(), "--formulas", "corr_v1,mmc",
                              "--out", (dir / "s.h5").string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << run.err;
  const ScoresFileReader file(dir / "s.h5");
  StoreReader store(dir / "store.h5");
  const AuditQuantities q = audit_quantities(file, store, AuditOptions{});
  ASSERT_EQ(q.meta_corr.size(), 2u);
  EXPECT_NEAR(q.meta_corr[0], 0.8, 1e-15);
  EXPECT_NEAR(q.meta_corr[1], -0.8, 1e-15);
  EXPECT_EQ(q.burn_eras(), 1u);
  EXPECT_EQ(q.model_eras, 4u);
  EXPECT_NEAR(q.xcorr[0 * 2 + 0], -0.8, 1e-15);  // A, e1
  EXPECT_NEAR(q.xcorr[1 * 2 + 0], 0.6, 1e-15);   // B, e1
  EXPECT_NEAR(q.xcorr[0 * 2 + 1], -0.8, 1e-15);  // A, e2: ranks 1..5 against (4, 5, 2, 3, 1)
  EXPECT_NEAR(q.xcorr[2 * 2 + 1], 1.0, 1e-15);   // C, e2: the meta-model itself
  EXPECT_TRUE(std::isnan(q.xcorr[1 * 2 + 1]));   // B did not submit e2

  EXPECT_FALSE(q.corr_from_store);
  EXPECT_EQ(q.corr.formula, "corr_v1");
  // A scores file without corr_v1: the audit scores it from the store in the same pass, as `run`
  // does (B misses 1 of 5 ids in e1: scored on its own 4).
  const auto mmc_only =
      testing::run_backscore({"run", (dir / "store.h5").string(), "--formulas", "mmc", "--out",
                              (dir / "m.h5").string(), "--quiet"});
  ASSERT_EQ(mmc_only.status, 0) << mmc_only.err;
  const ScoresFileReader without(dir / "m.h5");
  const AuditQuantities computed = audit_quantities(without, store, AuditOptions{});
  EXPECT_TRUE(computed.corr_from_store);
  const std::vector<double> scored = file.read_matrix("corr_v1");
  ASSERT_EQ(computed.corr.values.size(), scored.size());
  for (std::size_t k = 0; k < scored.size(); ++k) {
    EXPECT_EQ(std::isnan(computed.corr.values[k]), std::isnan(scored[k])) << k;
    if (!std::isnan(scored[k])) {
      EXPECT_EQ(computed.corr.values[k], scored[k]) << k;
    }
  }
  // A, e1: predictions falling where the target rises: corr_v1 = -1.
  EXPECT_NEAR(computed.corr.values[0 * 2 + 0], -1.0, 1e-15);
  EXPECT_FALSE(std::isnan(computed.corr.values[1 * 2 + 0]));  // B on its own subset
  // The rest of the pass is unchanged (NaN where there is none).
  ASSERT_EQ(computed.xcorr.size(), q.xcorr.size());
  for (std::size_t k = 0; k < q.xcorr.size(); ++k) {
    EXPECT_TRUE(computed.xcorr[k] == q.xcorr[k] ||
                (std::isnan(computed.xcorr[k]) && std::isnan(q.xcorr[k])))
        << k;
  }
  EXPECT_EQ(computed.meta_corr, q.meta_corr);

  AuditOptions bad;
  bad.corr_formula = "mmc";
  try {
    audit_quantities(file, store, bad);
    FAIL() << "accepted corr_formula mmc";
  } catch (const OptionError& e) {
    // The library names the option's field; the CLI puts its flag there.
    EXPECT_EQ(e.option(), "corr_formula");
    EXPECT_STREQ(e.what(), "corr_formula: 'mmc' is not corr_v1 or corr");
    EXPECT_EQ(e.with_flags({{"corr_formula", "--corr-formula"}}),
              "--corr-formula: 'mmc' is not corr_v1 or corr");
  }
}

// A synthetic history with burn eras, scored once for the tests below.
class AuditHistory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto synth = testing::run_backscore(
        {"synth", "--models", "150", "--eras", "40", "--stocks", "800", "--burn-fraction", "0.3",
         "--seed", "7", "--out", (*dir_ / "hist.h5").string(), "--quiet"});
    ASSERT_EQ(synth.status, 0) << synth.err;
    const auto run = testing::run_backscore({"run", (*dir_ / "hist.h5").string(), "--formulas",
                                             "corr_v1,mmc,mmc2,mmc2_burnflip", "--out",
                                             (*dir_ / "scores.h5").string(), "--quiet"});
    ASSERT_EQ(run.status, 0) << run.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
};
TempDir* AuditHistory::dir_ = nullptr;

TEST_F(AuditHistory, Mmc2PunishesOriginalityInBurnErasAndBurnflipRemovesIt) {
  const auto r = testing::run_backscore(
      {"audit", (*dir_ / "scores.h5").string(), "--store", (*dir_ / "hist.h5").string(),
       "--formula", "mmc2,mmc2_burnflip,mmc", "--out-dir", (*dir_ / "audit").string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("mmc2_burnflip: removes mmc2's burn-era punishment"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mmc: does NOT remove mmc2's burn-era punishment"), std::string::npos)
      << r.out;

  // The same numbers through the library: mmc2's burn-era slope is positive and significant.
  const ScoresFileReader file(*dir_ / "scores.h5");
  StoreReader store(*dir_ / "hist.h5");
  const AuditOptions o;
  const AuditQuantities q = audit_quantities(file, store, o);
  EXPECT_GT(q.burn_eras(), 5u);
  const ScoreMatrix corr{"corr_v1", file.models().size(), file.eras().size(),
                         file.read_matrix("corr_v1")};
  const ScoreMatrix mmc2{"mmc2", file.models().size(), file.eras().size(),
                         file.read_matrix("mmc2")};
  const AuditResult a = audit_formula(mmc2, corr, q, o);
  EXPECT_EQ(slope_sign(a.burn), 1);
  EXPECT_EQ(slope_sign(a.other), -1);

  const std::string summary = testing::read_file(*dir_ / "audit" / "audit_summary.csv");
  EXPECT_EQ(testing::line_count(summary), 4u);
  EXPECT_EQ(summary.rfind("formula,observed,burn_eras,a_pairs,", 0), 0u) << summary;
  EXPECT_NE(
      summary.find("\nmmc2," + std::to_string(a.observed) + "," + std::to_string(a.burn_eras) +
                   "," + std::to_string(a.originality.comparable) + "," +
                   std::to_string(a.originality.violations) + ","),
      std::string::npos)
      << summary;
  EXPECT_TRUE(std::filesystem::exists(*dir_ / "audit" / "audit_violations.csv"));
  for (const auto& entry : std::filesystem::directory_iterator(*dir_ / "audit")) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }

  // Same input, same bytes.
  const auto again =
      testing::run_backscore({"audit", (*dir_ / "scores.h5").string(), "--store",
                              (*dir_ / "hist.h5").string(), "--formula", "mmc2,mmc2_burnflip,mmc"});
  EXPECT_EQ(again.out + "\nCSV tables written to " + (*dir_ / "audit").string() + "\n", r.out);
}

// The corr held fixed, computed from the store when the scores file lacks it, is the run's own
// (missing ids, subsets and skipped model-eras included): the same audit, bit for bit.
TEST_F(AuditHistory, CorrFromTheStoreWhenTheScoresFileLacksIt) {
  const std::string hist = (*dir_ / "hist.h5").string(), bare = (*dir_ / "bare.h5").string();
  const auto run = testing::run_backscore(
      {"run", hist, "--formulas", "corr,mmc2,mmc2_burnflip", "--out", bare, "--quiet"});
  ASSERT_EQ(run.status, 0) << run.err;
  const ScoresFileReader with(*dir_ / "scores.h5"), without(bare);
  StoreReader store(hist);
  const AuditQuantities q = audit_quantities(without, store, AuditOptions{});
  ASSERT_TRUE(q.corr_from_store);
  const std::vector<double> scored = with.read_matrix("corr_v1");
  std::size_t finite = 0;
  for (std::size_t k = 0; k < scored.size(); ++k) {
    ASSERT_EQ(std::isnan(q.corr.values[k]), std::isnan(scored[k])) << k;
    if (std::isnan(scored[k])) continue;
    ++finite;
    ASSERT_EQ(q.corr.values[k], scored[k]) << k;
  }
  EXPECT_GT(finite, 1000u);
  // corr (numerai_corr) the same way, against the run's column of it.
  AuditOptions o;
  o.corr_formula = "corr";
  const ScoresFileReader mmc_only(*dir_ / "scores.h5");  // corr_v1, mmc, mmc2, mmc2_burnflip
  const AuditQuantities c = audit_quantities(mmc_only, store, o);
  ASSERT_TRUE(c.corr_from_store);
  const std::vector<double> corr = without.read_matrix("corr");
  for (std::size_t k = 0; k < corr.size(); ++k) {
    ASSERT_EQ(std::isnan(c.corr.values[k]), std::isnan(corr[k])) << k;
    if (!std::isnan(corr[k])) {
      ASSERT_EQ(c.corr.values[k], corr[k]) << k;
    }
  }

  // The CLI audits the file without corr_v1 as it audits the one with it, and says so.
  const auto a = testing::run_backscore(
      {"audit", bare, "--store", hist, "--formula", "mmc2,mmc2_burnflip", "--worst", "2"});
  const auto b = testing::run_backscore({"audit", (*dir_ / "scores.h5").string(), "--store", hist,
                                         "--formula", "mmc2,mmc2_burnflip", "--worst", "2"});
  ASSERT_EQ(a.status, 0) << a.err;
  ASSERT_EQ(b.status, 0) << b.err;
  const std::string note =
      "corr_v1 of each model-era computed from the store (the scores file has no such column)\n";
  ASSERT_NE(a.out.find(note), std::string::npos) << a.out;
  std::string a_out = a.out;
  a_out.erase(a_out.find(note), note.size());
  // Only the file's name differs.
  const std::string b_out = b.out.substr(b.out.find('\n'));
  EXPECT_EQ(a_out.substr(a_out.find('\n')), b_out);
}

TEST_F(AuditHistory, BadInputExitsTwoWithOneLineAndNoOutput) {
  const std::string scores = (*dir_ / "scores.h5").string(), hist = (*dir_ / "hist.h5").string();
  const std::string out = (*dir_ / "bad-out").string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"audit", scores, "--store", hist, "--formula", "mmc3", "--out-dir", out},
       "--formula: " + scores +
           " has no formula 'mmc3' (it has: corr_v1, mmc, mmc2, "
           "mmc2_burnflip)"},
      {{"audit", (*dir_ / "missing.h5").string(), "--store", hist, "--formula", "mmc2", "--out-dir",
        out},
       (*dir_ / "missing.h5").string() + ": no such file"},
      {{"audit", scores, "--store", (*dir_ / "nostore.h5").string(), "--formula", "mmc2",
        "--out-dir", out},
       (*dir_ / "nostore.h5").string()},
      {{"audit", scores, "--store", hist, "--formula", "mmc2", "--corr-formula", "fnc", "--out-dir",
        out},
       "--corr-formula: 'fnc' is not corr_v1 or corr"},
      {{"audit", scores, "--store", hist, "--formula", "mmc2", "--corr-formula", "mmc", "--out-dir",
        out},
       "--corr-formula: 'mmc' is not corr_v1 or corr"},
      {{"audit", scores, "--store", hist, "--formula", "mmc2", "--corr-tol", "nan", "--out-dir",
        out},
       "--corr-tol: 'nan' is not a positive number"},
      {{"audit", scores, "--store", hist, "--formula", "mmc2", "--xcorr-tol", "0", "--out-dir",
        out},
       "--xcorr-tol: '0' is not a positive number"},
      {{"audit", scores, "--store", hist, "--formula", "mmc2,,mmc", "--out-dir", out},
       "--formula: empty name in 'mmc2,,mmc'"},
  };
  for (const Case& c : cases) {
    const auto r = testing::run_backscore(c.args);
    EXPECT_EQ(r.status, 2) << c.says << "\n" << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(std::filesystem::exists(out)) << c.says;
  }
}

}  // namespace
}  // namespace backscore
