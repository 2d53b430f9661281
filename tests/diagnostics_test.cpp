// The model diagnostics of compare and report (docs/FORMULAS.md, "Model diagnostics"): each one
// on a small series or a hand-made store, against numbers worked by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "host/report/churn.hpp"
#include "host/report/compare.hpp"
#include "host/report/diagnostics.hpp"
#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kNaNf = std::numeric_limits<float>::quiet_NaN();

// 1, 2, 3, 5: the pairs (1, 2), (2, 3), (3, 5). x = (1, 2, 3) centered (-1, 0, 1), y = (2, 3, 5)
// centered (-4/3, -1/3, 5/3): sxy = 3, sxx = 2, syy = 42/9, r = 3 / sqrt(2 x 42/9) = 9/sqrt(84).
const std::vector<double> kSeries = {1, 2, 3, 5};
const double kRho = 9 / std::sqrt(84.0);  // 0.98198050606196...

TEST(Diagnostics, AutocorrelationLag1ByHand) {
  EXPECT_NEAR(autocorrelation_lag1(kSeries), kRho, 1e-15);
  EXPECT_NEAR(autocorrelation_lag1(std::vector<double>{1, -1, 1, -1}), -1.0, 1e-15);
  // (0.1, 0.3, 0.2, 0.4): pairs x = (0.1, 0.3, 0.2), y = (0.3, 0.2, 0.4); centered x = (-0.1,
  // 0.1, 0), y = (0, -0.1, 0.1): sxy = -0.01, sxx = syy = 0.02, r = -0.5.
  EXPECT_NEAR(autocorrelation_lag1(std::vector<double>{0.1, 0.3, 0.2, 0.4}), -0.5, 1e-14);
  EXPECT_TRUE(std::isnan(autocorrelation_lag1(std::vector<double>{1, 2})));  // one pair
  EXPECT_TRUE(std::isnan(autocorrelation_lag1(std::vector<double>{2, 2, 2})));
}

TEST(Diagnostics, AutocorrelationPenaltyByHand) {
  // n = 3, rho = 0.5: 1 + 2 (2/3 x 0.5 + 1/3 x 0.25) = 1 + 2 x 5/12 = 11/6.
  EXPECT_NEAR(autocorrelation_penalty(3, 0.5), std::sqrt(11.0 / 6), 1e-15);
  EXPECT_EQ(autocorrelation_penalty(10, 0.0), 1.0);  // no autocorrelation: no penalty
  EXPECT_EQ(autocorrelation_penalty(1, 0.7), 1.0);   // one period: nothing to sum
  // n = 4: 1 + 2 (3/4 rho + 2/4 rho^2 + 1/4 rho^3).
  const double expected =
      std::sqrt(1 + 2 * (0.75 * kRho + 0.5 * kRho * kRho + 0.25 * kRho * kRho * kRho));
  EXPECT_NEAR(autocorrelation_penalty(4, kRho), expected, 1e-15);
  EXPECT_NEAR(expected, 1.97755186031365, 1e-13);
  // rho = -1, n = 2: 1 + 2 (1/2)(-1) = 0: no penalty can be taken.
  EXPECT_TRUE(std::isnan(autocorrelation_penalty(2, -1.0)));
  EXPECT_TRUE(std::isnan(autocorrelation_penalty(5, kNaN)));
}

TEST(Diagnostics, SmartSharpeByHand) {
  // mean 2.75; deviations -1.75, -0.75, 0.25, 2.25: squares sum 8.75, std (ddof 1) sqrt(35/12).
  const double smart = 2.75 / (std::sqrt(35.0 / 12) * autocorrelation_penalty(4, kRho));
  EXPECT_NEAR(smart_sharpe(kSeries), smart, 1e-15);
  EXPECT_NEAR(smart, 0.814256835777591, 1e-13);
  // Negative autocorrelation raises it: (0.1, 0.3, 0.2, 0.4), rho = -0.5 (above), mean 0.25,
  // deviations -0.15, 0.05, -0.05, 0.15: std (ddof 1) sqrt(0.05 / 3); penalty
  // sqrt(1 + 2 (3/4 (-1/2) + 2/4 (1/4) + 1/4 (-1/8))) = sqrt(0.4375).
  EXPECT_NEAR(smart_sharpe(std::vector<double>{0.1, 0.3, 0.2, 0.4}),
              0.25 / (std::sqrt(0.05 / 3) * std::sqrt(0.4375)), 1e-13);
  EXPECT_TRUE(std::isnan(smart_sharpe(std::vector<double>{0.1, 0.2})));       // too short
  EXPECT_TRUE(std::isnan(smart_sharpe(std::vector<double>{0.1, 0.1, 0.1})));  // zero std
  // model_stats carries both, on the finite scores in history order.
  const ModelStats s = model_stats(std::vector<double>{1, kNaN, 2, 3, kNaN, 5});
  EXPECT_NEAR(s.autocorr, kRho, 1e-15);
  EXPECT_NEAR(s.smart_sharpe, smart, 1e-15);
}

TEST(Diagnostics, CalmarAndApyByHand) {
  EXPECT_NEAR(calmar_ratio(0.01, 0.05, 52), 10.4, 1e-13);  // 52 x 0.01 / 0.05
  EXPECT_NEAR(calmar_ratio(-0.002, 0.04, 12), -0.6, 1e-15);
  EXPECT_TRUE(std::isnan(calmar_ratio(0.01, 0.0, 52)));  // never fell
  EXPECT_TRUE(std::isnan(calmar_ratio(0.01, kNaN, 52)));
  // 1.21 over 2 eras at 1 era a year: 1.1 a year.
  EXPECT_NEAR(annualized_return(1.21, 2, 1), 0.1, 1e-15);
  // 1.05 over 4 weekly eras: 1.05^13 - 1.
  EXPECT_NEAR(annualized_return(1.05, 4, 52), std::pow(1.05, 13) - 1, 1e-15);
  EXPECT_EQ(annualized_return(0.0, 5, 52), -1.0);  // all lost
  EXPECT_TRUE(std::isnan(annualized_return(1.1, 0, 52)));
}

TEST(Diagnostics, MeanByModelSkipsNaN) {
  const ScoreMatrix m{"max_feature_corr", 3, 3, {0.1, kNaN, 0.2, kNaN, kNaN, kNaN, 0.3, 0.3, 0.6}};
  const std::vector<double> v = mean_by_model(m);
  EXPECT_NEAR(v[0], 0.15, 1e-15);
  EXPECT_TRUE(std::isnan(v[1]));
  EXPECT_NEAR(v[2], 0.4, 1e-15);
}

TEST(Churn, OneModelEraByHand) {
  // Common rows 0..2 of both; row 3 NaN in prev: pairs (0.1, 0.3), (0.2, 0.2), (0.3, 0.1): r = -1.
  const std::vector<float> prev = {0.1f, 0.2f, 0.3f, kNaNf}, cur = {0.3f, 0.2f, 0.1f, 0.4f};
  const std::vector<std::uint32_t> rows = {0, 1, 2, 3};
  std::vector<double> a, b;
  EXPECT_NEAR(churn_of(prev, cur, rows, rows, a, b), 2.0, 1e-14);  // float32 inputs
  EXPECT_NEAR(churn_of(cur, cur, rows, rows, a, b), 0.0, 1e-15);
  const std::vector<std::uint32_t> one = {3, 0};  // (NaN, 0.3), (0.1, 0.3): one pair
  EXPECT_TRUE(std::isnan(churn_of(prev, cur, one, one, a, b)));
}

// Three eras: ids a-d, then b-e, then b-c. A submits all three, B only e2, C e1 and e2 (and e3
// with a constant). Predictions in id order.
struct Submission {
  std::vector<std::int32_t> models;
  std::vector<float> preds;
};
const std::vector<std::vector<std::string>> kIds = {
    {"a", "b", "c", "d"}, {"b", "c", "d", "e"}, {"b", "c"}};
const std::vector<Submission> kSubmissions = {
    {{0, 2}, {1, 2, 3, 4, /* C */ 4, 3, 2, 1}},
    {{0, 1, 2}, {2, 3, 5, 9, /* B */ 1, 2, 3, 4, /* C */ kNaNf, 3, 2, 7}},
    {{0, 2}, {1, 0, /* C */ 5, 5}},
};
// A: e1 -> e2 on b, c, d: (2, 3, 4) vs (2, 3, 5), r = 9/sqrt(84); e2 -> e3 on b, c: (2, 3) vs
// (1, 0), r = -1, churn 2. B: no pair. C: e1 -> e2 on c, d (b is NaN in e2): (2, 1) vs (3, 2),
// r = 1, churn 0; e2 -> e3: one pair (c), none.
const double kChurnA = ((1 - kRho) + 2) / 2;

TEST(Churn, TrackerByHand) {
  ChurnTracker t(3);
  for (std::size_t e = 0; e < 3; ++e) {
    t.begin_era(kIds[e]);
    std::vector<std::size_t> rows(kSubmissions[e].models.begin(), kSubmissions[e].models.end());
    t.add_columns(rows, kSubmissions[e].preds);
  }
  const std::vector<double> churn = t.churn();
  EXPECT_NEAR(churn[0], kChurnA, 1e-15);
  EXPECT_TRUE(std::isnan(churn[1]));
  EXPECT_NEAR(churn[2], 0.0, 1e-15);
  EXPECT_EQ(t.pairs(), (std::vector<std::size_t>{2, 0, 1}));
}

TEST(Churn, TrackerColumnsOutsideTheFileAndBatches) {
  // The same history fed one column at a time, with a column of a model the scores file lacks.
  ChurnTracker t(3);
  for (std::size_t e = 0; e < 3; ++e) {
    t.begin_era(kIds[e]);
    const std::size_t n = kIds[e].size();
    const std::vector<std::size_t> stranger = {static_cast<std::size_t>(-1)};
    t.add_columns(stranger, std::vector<float>(n, 0.5f));
    for (std::size_t c = 0; c < kSubmissions[e].models.size(); ++c) {
      const std::vector<std::size_t> row = {static_cast<std::size_t>(kSubmissions[e].models[c])};
      t.add_columns(row, std::span<const float>(kSubmissions[e].preds).subspan(c * n, n));
    }
  }
  EXPECT_NEAR(t.churn()[0], kChurnA, 1e-15);
  EXPECT_EQ(t.pairs(), (std::vector<std::size_t>{2, 0, 1}));
  // A model twice in one era is a caller's bug.
  const std::vector<std::size_t> twice = {0, 0};
  EXPECT_THROW(t.add_columns(twice, std::vector<float>(4, 0.5f)), std::invalid_argument);
}

// Streamed: whatever the number of eras, the tracker holds two eras' predictions.
TEST(Churn, HoldsTwoErasWhateverTheHistory) {
  const std::size_t models = 5, n = 40;
  ChurnTracker t(models);
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < n; ++i) ids.push_back("id" + std::to_string(1000 + i));
  std::vector<std::size_t> rows(models);
  for (std::size_t i = 0; i < models; ++i) rows[i] = i;
  std::vector<float> preds(models * n);
  for (std::size_t e = 0; e < 200; ++e) {
    t.begin_era(ids);
    for (std::size_t k = 0; k < preds.size(); ++k) {
      preds[k] = static_cast<float>((k * 7919 + e * 104729) % 1000) / 1000.0f;
    }
    t.add_columns(rows, preds);
    EXPECT_LE(t.held_values(), 2 * models * n) << "era " << e;
  }
  EXPECT_EQ(t.pairs(), std::vector<std::size_t>(models, 199));
}

// model_churn reads the store's predictions in the scores file's history order.
TEST(Churn, FromAHandMadeStore) {
  testing::TempDir dir;
  const std::vector<std::string> models = {"A", "B", "C"}, eras = {"e1", "e2", "e3"};
  StoreSchema schema;
  schema.models = models;
  schema.targets = {"target"};
  {
    StoreWriter w(dir / "store.h5", schema);
    for (std::size_t e = 0; e < 3; ++e) {
      Era era;
      era.name = eras[e];
      era.ids = kIds[e];
      era.targets.assign(kIds[e].size(), 0.5);
      era.models = kSubmissions[e].models;
      w.append_era(era, kSubmissions[e].preds);
    }
    w.finish();
  }
  {
    h5::SilenceHdf5 quiet;
    ScoresFileWriter w(
        dir / "s.h5",
        ScoresFileHeader{"/abs/store.h5", "target", "", models, eras, {"corr"}, {"def of corr"}});
    w.close();
  }
  const ScoresFileReader file(dir / "s.h5");
  StoreReader store(dir / "store.h5");
  for (std::size_t batch : {std::size_t{1}, std::size_t{256}}) {
    const std::vector<double> churn = model_churn(file, store, batch);
    EXPECT_NEAR(churn[0], kChurnA, 1e-15) << batch;
    EXPECT_TRUE(std::isnan(churn[1]));
    EXPECT_NEAR(churn[2], 0.0, 1e-15);
  }
}

}  // namespace
}  // namespace backscore
