// `backscore synth`: determinism (by seed, and across thread counts), the shapes and invariants of
// the history it writes, the statistical properties its data model promises (burn eras, ties,
// missing ids, a stake-weighted gauss-rank meta-model), bounded memory, and the command line.
#include "host/synth/synth.hpp"

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::run_backscore;
using testing::TempDir;

SynthOptions small_options(const std::filesystem::path& out, std::uint64_t seed = 11) {
  SynthOptions o;
  o.models = 30;
  o.eras = 8;
  o.stocks = 300;
  o.features = 3;
  o.seed = seed;
  o.out = out;
  o.progress = false;
  return o;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

// Every dataset of two stores equal bit for bit (NaN payloads included); names the first
// difference.
::testing::AssertionResult same_content(const std::filesystem::path& pa,
                                        const std::filesystem::path& pb) {
  StoreReader a(pa), b(pb);
  const StoreSchema &sa = a.schema(), &sb = b.schema();
  if (sa.models != sb.models || sa.targets != sb.targets || sa.benchmarks != sb.benchmarks ||
      sa.features != sb.features || sa.has_meta_model != sb.has_meta_model ||
      sa.has_stakes != sb.has_stakes) {
    return ::testing::AssertionFailure() << "schemas differ";
  }
  if (a.eras() != b.eras()) return ::testing::AssertionFailure() << "era names differ";
  for (std::size_t e = 0; e < a.eras().size(); ++e) {
    const Era ea = a.read_era(e), eb = b.read_era(e);
    auto fail = [&](const char* field) {
      return ::testing::AssertionFailure() << "era " << ea.name << ": " << field << " differ";
    };
    if (ea.ids != eb.ids) return fail("ids");
    if (!same_bits(ea.targets, eb.targets)) return fail("targets");
    if (!same_bits(ea.meta_model, eb.meta_model)) return fail("meta_model");
    if (!same_bits(ea.benchmarks, eb.benchmarks)) return fail("benchmarks");
    if (!same_bits(ea.features, eb.features)) return fail("features");
    if (ea.models != eb.models) return fail("models");
    if (!same_bits(ea.stakes, eb.stakes)) return fail("stakes");
    std::vector<float> pa_(ea.n_submitted() * ea.n_stocks()), pb_(pa_.size());
    a.read_predictions(e, 0, ea.n_submitted(), pa_);
    b.read_predictions(e, 0, eb.n_submitted(), pb_);
    if (!same_bits(pa_, pb_)) return fail("predictions");
  }
  return ::testing::AssertionSuccess();
}

// Fraction of eras where the meta-model's Pearson correlation with the target is negative.
double negative_meta_fraction(const std::filesystem::path& p) {
  StoreReader r(p);
  std::size_t negative = 0;
  for (std::size_t e = 0; e < r.eras().size(); ++e) {
    const Era era = r.read_era(e);
    negative += pearson(era.target(0), era.meta_model) < 0;
  }
  return static_cast<double>(negative) / static_cast<double>(r.eras().size());
}

TEST(Synth, SameSeedGivesTheSameStore) {
  TempDir dir;
  synthesize(small_options(dir / "a.h5"));
  synthesize(small_options(dir / "b.h5"));
  EXPECT_TRUE(same_content(dir / "a.h5", dir / "b.h5"));
}

TEST(Synth, DifferentSeedGivesADifferentStore) {
  TempDir dir;
  synthesize(small_options(dir / "a.h5", 11));
  synthesize(small_options(dir / "b.h5", 12));
  EXPECT_FALSE(same_content(dir / "a.h5", dir / "b.h5"));
  const Era a = StoreReader(dir / "a.h5").read_era(0), b = StoreReader(dir / "b.h5").read_era(0);
  EXPECT_NE(a.ids, b.ids);
  EXPECT_FALSE(same_bits(a.targets, b.targets));
}

TEST(Synth, ThreadCountDoesNotChangeTheStore) {
  TempDir dir;
  const int saved = omp_get_max_threads();
  for (bool structured : {false, true}) {
    SCOPED_TRACE(structured ? "grouped, duplicate and constant features" : "default features");
    SynthOptions o = small_options(dir / "1.h5");
    o.models = 150;  // more models than the meta-model's summation groups
    if (structured) {
      o.features = 40;
      o.feature_group_size = 10;
      o.duplicate_features = 0.05;
      o.constant_features = 0.05;
    }
    omp_set_num_threads(1);
    synthesize(o);
    for (int threads : {2, 3}) {
      omp_set_num_threads(threads);
      o.out = dir / (std::to_string(threads) + ".h5");
      synthesize(o);
      EXPECT_TRUE(same_content(dir / "1.h5", o.out)) << threads << " threads vs 1";
    }
  }
  omp_set_num_threads(saved);
}

TEST(Synth, RejectsBadOptionsAndWritesNothing) {
  TempDir dir;
  const auto out = dir / "x.h5";
  auto with = [&](auto change) {
    SynthOptions o = small_options(out);
    change(o);
    return o;
  };
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.models = 0; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.eras = 0; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.stocks = 5; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.burn_fraction = 1.5; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.burn_fraction = NAN; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.duplicate_features = -0.1; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.constant_features = 2; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.missing_ids = 0.3; })), InputError);
  EXPECT_THROW(synthesize(with([](SynthOptions& o) { o.out.clear(); })), InputError);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

// One 60-era history shared by the tests of its shape and statistics.
class SynthHistory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    SynthOptions o;
    o.models = 40;
    o.eras = 60;
    o.stocks = 1000;
    o.features = 2;
    o.burn_fraction = 0.25;
    o.seed = 5;
    o.out = path();
    o.progress = false;
    summary_ = synthesize(o);
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path path() { return *dir_ / "history.h5"; }

  static TempDir* dir_;
  static SynthSummary summary_;
};
TempDir* SynthHistory::dir_ = nullptr;
SynthSummary SynthHistory::summary_;

TEST_F(SynthHistory, SchemaAndEraNames) {
  StoreReader r(path());
  const StoreSchema& s = r.schema();
  EXPECT_EQ(s.models.size(), 40u);
  EXPECT_EQ(s.models.front(), "model0001");
  EXPECT_EQ(s.targets, (std::vector<std::string>{"target", "target_b"}));
  EXPECT_EQ(s.benchmarks, (std::vector<std::string>{"lgbm", "teager"}));
  EXPECT_EQ(s.features, (std::vector<std::string>{"f000", "f001"}));
  EXPECT_TRUE(s.has_meta_model);
  EXPECT_TRUE(s.has_stakes);
  ASSERT_EQ(r.eras().size(), 60u);
  EXPECT_EQ(r.eras().front(), "era0001");
  EXPECT_EQ(r.eras().back(), "era0060");
  EXPECT_EQ(summary_.eras, 60u);
}

TEST_F(SynthHistory, EveryEraIsWellFormed) {
  StoreReader r(path());
  std::set<std::size_t> submitted_counts;
  std::vector<std::string> previous_ids;
  for (std::size_t e = 0; e < r.eras().size(); ++e) {
    const Era era = r.read_era(e);
    const std::size_t n = era.n_stocks(), m = era.n_submitted();
    SCOPED_TRACE(era.name);
    EXPECT_GE(n, 800u);
    EXPECT_LE(n, 1200u);
    submitted_counts.insert(m);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_EQ(era.ids[i].size(), 16u);
      ASSERT_EQ(era.ids[i][0], 'n');
      ASSERT_EQ(era.ids[i].find_first_not_of("0123456789abcdef", 1), std::string::npos);
      if (i > 0) {
        ASSERT_LT(era.ids[i - 1], era.ids[i]);
      }
    }
    // Stocks persist: most of this era's ids were in the previous era.
    if (!previous_ids.empty()) {
      std::vector<std::string> common;
      std::set_intersection(era.ids.begin(), era.ids.end(), previous_ids.begin(),
                            previous_ids.end(), std::back_inserter(common));
      EXPECT_GT(common.size(), std::min(n, previous_ids.size()) * 8 / 10);
    }
    previous_ids = era.ids;
    // Targets: the five buckets in proportions 5/20/50/20/5 %.
    for (std::size_t t = 0; t < 2; ++t) {
      double count[5] = {};
      for (double v : era.target(t)) {
        const double k = v * 4;
        ASSERT_EQ(k, std::round(k));
        ASSERT_TRUE(k >= 0 && k <= 4) << v;
        count[static_cast<int>(k)] += 1.0 / static_cast<double>(n);
      }
      const double expected[5] = {0.05, 0.2, 0.5, 0.2, 0.05};
      for (int k = 0; k < 5; ++k) EXPECT_NEAR(count[k], expected[k], 0.005);
    }
    for (double v : era.features) ASSERT_TRUE(v == 0 || v == 1 || v == 2 || v == 3 || v == 4);
    for (double v : era.benchmarks) ASSERT_TRUE(v >= 0 && v <= 1) << v;
    for (double v : era.meta_model) ASSERT_TRUE(std::isfinite(v));
    for (std::size_t j = 1; j < m; ++j) ASSERT_LT(era.models[j - 1], era.models[j]);
    for (double s : era.stakes) ASSERT_TRUE(std::isfinite(s) && s >= 0) << s;
    std::vector<float> p(m * n);
    r.read_predictions(e, 0, m, p);
    for (float v : p) ASSERT_TRUE(std::isnan(v) || (v >= 0 && v <= 1)) << v;
  }
  EXPECT_GT(submitted_counts.size(), 3u) << "models join and leave: submissions vary by era";
}

TEST_F(SynthHistory, BurnErasShowInTheMetaModel) {
  // 25% burn eras; sampling noise on ~1,000 stocks flips a few eras either way.
  const double negative = negative_meta_fraction(path());
  EXPECT_GT(negative, 0.10);
  EXPECT_LT(negative, 0.45);
  EXPECT_EQ(static_cast<double>(summary_.negative_meta) / 60.0, negative);
}

TEST_F(SynthHistory, TiesAndMissingIds) {
  StoreReader r(path());
  std::size_t heavy_ties = 0, few_missing = 0, unscorable = 0, model_eras = 0;
  for (std::size_t e = 0; e < r.eras().size(); ++e) {
    const std::size_t n = r.n_stocks(e), m = r.read_era(e).n_submitted();
    std::vector<float> p(m * n);
    r.read_predictions(e, 0, m, p);
    for (std::size_t j = 0; j < m; ++j, ++model_eras) {
      std::vector<float> present;
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isnan(p[j * n + i])) present.push_back(p[j * n + i]);
      }
      const double missing = 1.0 - static_cast<double>(present.size()) / static_cast<double>(n);
      few_missing += missing > 0 && missing < 0.07;
      unscorable += missing > 0.2;
      std::sort(present.begin(), present.end());
      const auto distinct = std::unique(present.begin(), present.end()) - present.begin();
      heavy_ties += distinct <= 101;  // rounded to 2 decimals, 5 bins, or constant
    }
  }
  EXPECT_GT(heavy_ties, 0u);
  EXPECT_LT(heavy_ties, model_eras / 4);
  EXPECT_GT(few_missing, model_eras / 100);
  EXPECT_GT(unscorable, 0u);
  EXPECT_LT(unscorable, model_eras / 20);  // ~2% of model-eras
  EXPECT_EQ(unscorable, summary_.unscorable);
}

// The stored meta-model is numerai-tools' stake_weight of gauss(tie_kept_rank(predictions)), each
// model ranked over its present ids, a missing id counting 0 with its stake kept.
TEST_F(SynthHistory, MetaModelIsTheStakeWeightedGaussRankedMean) {
  StoreReader r(path());
  StableSorter sorter;
  for (std::size_t e : {std::size_t{0}, std::size_t{29}, std::size_t{59}}) {
    const Era era = r.read_era(e);
    const std::size_t n = era.n_stocks(), m = era.n_submitted();
    std::vector<float> p(m * n);
    r.read_predictions(e, 0, m, p);
    std::vector<double> sum(n, 0.0);
    double total = 0;
    for (std::size_t j = 0; j < m; ++j) {
      std::vector<double> values;
      std::vector<std::size_t> at;
      for (std::size_t i = 0; i < n; ++i) {
        if (!std::isnan(p[j * n + i])) values.push_back(p[j * n + i]), at.push_back(i);
      }
      std::vector<std::uint32_t> order(values.size());
      std::vector<double> gauss(values.size());
      sorter.sort(values, order);
      tie_kept_gaussian(values, order, nullptr, gauss);
      for (std::size_t k = 0; k < values.size(); ++k) sum[at[k]] += era.stakes[j] * gauss[k];
      total += era.stakes[j];
    }
    ASSERT_GT(total, 0);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(era.meta_model[i], sum[i] / total, 1e-12) << era.name << " stock " << i;
    }
  }
}

TEST(Synth, BurnFractionZeroAndOne) {
  TempDir dir;
  SynthOptions o = small_options(dir / "calm.h5");
  o.eras = 40;
  o.stocks = 1000;
  o.burn_fraction = 0.0;
  const SynthSummary calm = synthesize(o);
  EXPECT_EQ(calm.burn_eras, 0u);
  EXPECT_LT(negative_meta_fraction(o.out), 0.15);
  o.out = dir / "burning.h5";
  o.burn_fraction = 1.0;
  const SynthSummary burning = synthesize(o);
  EXPECT_EQ(burning.burn_eras, 40u);
  EXPECT_GT(negative_meta_fraction(o.out), 0.75);
}

// --missing-ids: the share of model-eras leaving 1-5% of the ids out (0 = none), the 2% leaving
// 25-50% out unchanged.
TEST(Synth, MissingIdsShare) {
  TempDir dir;
  auto shares = [&](double missing_ids) {
    SynthOptions o = small_options(dir / ("m" + std::to_string(missing_ids) + ".h5"));
    o.models = 400;
    o.eras = 6;
    o.missing_ids = missing_ids;
    synthesize(o);
    StoreReader r(o.out);
    std::size_t few = 0, many = 0, all = 0;
    for (std::size_t e = 0; e < r.eras().size(); ++e) {
      const Era era = r.read_era(e);
      const std::size_t n = era.n_stocks(), m = era.n_submitted();
      std::vector<float> p(n * m);
      r.read_predictions(e, 0, m, p, 1);
      for (std::size_t j = 0; j < m; ++j) {
        const auto nan = static_cast<std::size_t>(std::count_if(
            p.begin() + static_cast<std::ptrdiff_t>(j * n),
            p.begin() + static_cast<std::ptrdiff_t>((j + 1) * n), [](float v) { return v != v; }));
        few += nan > 0 && nan <= n / 10;
        many += nan > n / 5;
        ++all;
      }
    }
    return std::pair{static_cast<double>(few) / static_cast<double>(all),
                     static_cast<double>(many) / static_cast<double>(all)};
  };
  const auto none = shares(0.0), usual = shares(0.05), most = shares(0.2);
  EXPECT_EQ(none.first, 0.0);
  EXPECT_NEAR(usual.first, 0.05 * 0.98 * 0.95, 0.02);  // ~5% of 1% of 300 ids round to none
  EXPECT_NEAR(most.first, 0.2 * 0.98 * 0.95, 0.04);
  for (const auto& s : {none, usual, most}) EXPECT_NEAR(s.second, 0.02, 0.01);
}

TEST(Synth, MemoryDoesNotGrowWithEras) {
  TempDir dir;
  auto synth = [&](const char* eras, const char* name) {
    return run_backscore({"synth", "--models", "200", "--stocks", "6000", "--eras", eras, "--seed",
                          "3", "--out", (dir / name).string()});
  };
  const auto few = synth("4", "few.h5");
  const auto many = synth("40", "many.h5");
  ASSERT_EQ(few.status, 0) << few.err;
  ASSERT_EQ(many.status, 0) << many.err;
  // An era is ~3 MB of predictions (about half the models submit); holding 36 more eras would
  // add ~110 MB. HDF5's metadata cache grows by ~40 KB per era group, and the CUDA build's
  // process maps ~250 MB of CUDA libraries whose resident part moves by up to ~15 MB from run to
  // run (CI, 2026-11-30): the allowance is about a quarter of the history.
  EXPECT_LT(many.max_rss_kib, few.max_rss_kib + 28 * 1024)
      << "4 eras: " << few.max_rss_kib << " KiB, 40 eras: " << many.max_rss_kib << " KiB";
  RecordProperty("peak_rss_kib_4_eras", std::to_string(few.max_rss_kib));
  RecordProperty("peak_rss_kib_40_eras", std::to_string(many.max_rss_kib));
}

// --preset numerai at reduced size, the same structure: features in groups of 20, 1% exact
// duplicates (here 1 of 60), 0.5% constant per era (here 1 a era).
class SynthNumeraiPreset : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto r =
        run_backscore({"synth", "--preset", "numerai", "--stocks", "300", "--features", "60",
                       "--models", "20", "--eras", "3", "--seed", "4", "--out", path().string()});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::filesystem::path path() { return *dir_ / "numerai.h5"; }

  static TempDir* dir_;
};
TempDir* SynthNumeraiPreset::dir_ = nullptr;

bool is_constant(std::span<const double> column) {
  return std::all_of(column.begin(), column.end(), [&](double v) { return v == column[0]; });
}

TEST(Synth, NumeraiPresetHasNumeraisDimensions) {
  const SynthOptions o = numerai_preset();
  EXPECT_EQ(o.stocks, 5000u);
  EXPECT_EQ(o.features, 2376u);
  EXPECT_EQ(o.models, 1000u);
  EXPECT_GT(o.feature_group_size, 1u);
  EXPECT_GT(o.duplicate_features, 0);
  EXPECT_GT(o.constant_features, 0);
  // Without a preset the features are independent, as before the preset existed.
  const SynthOptions plain;
  EXPECT_EQ(plain.feature_group_size, 0u);
  EXPECT_EQ(plain.duplicate_features, 0);
  EXPECT_EQ(plain.constant_features, 0);
}

TEST(SynthCli, PresetValuesApplyUnlessGiven) {
  TempDir dir;
  const auto out = dir / "tiny.h5";
  // --features is not given: the preset's 2,376 (on 10 stocks, so the test stays fast).
  const auto r = run_backscore({"synth", "--preset", "numerai", "--stocks", "10", "--models", "3",
                                "--eras", "1", "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  StoreReader store(out);
  EXPECT_EQ(store.schema().features.size(), 2376u);
  EXPECT_EQ(store.schema().features.front(), "f0000");
  EXPECT_EQ(store.schema().models.size(), 3u);
  EXPECT_EQ(store.eras().size(), 1u);
  const auto bad = run_backscore({"synth", "--preset", "kaggle", "--out", (dir / "x.h5").string()});
  EXPECT_EQ(bad.status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
}

TEST_F(SynthNumeraiPreset, DimensionsAndIntegerFeatures) {
  StoreReader r(path());
  EXPECT_EQ(r.schema().models.size(), 20u);
  ASSERT_EQ(r.schema().features.size(), 60u);
  EXPECT_EQ(r.schema().features.back(), "f059");
  ASSERT_EQ(r.eras().size(), 3u);
  for (std::size_t e = 0; e < r.eras().size(); ++e) {
    const Era era = r.read_era(e);
    EXPECT_GE(era.n_stocks(), 240u);
    EXPECT_LE(era.n_stocks(), 360u);
    ASSERT_EQ(era.features.size(), 60 * era.n_stocks());
    for (double v : era.features) ASSERT_TRUE(v == 0 || v == 1 || v == 2 || v == 3 || v == 4) << v;
  }
}

TEST_F(SynthNumeraiPreset, ExactDuplicatesInEveryEraAndConstantsInSome) {
  StoreReader r(path());
  const std::size_t k = r.schema().features.size();
  std::vector<Era> eras;
  for (std::size_t e = 0; e < r.eras().size(); ++e) eras.push_back(r.read_era(e));
  // Pairs of features equal in every era.
  std::size_t duplicate_pairs = 0;
  for (std::size_t a = 0; a < k; ++a) {
    for (std::size_t b = a + 1; b < k; ++b) {
      bool equal = true;
      for (const Era& era : eras)
        equal = equal && std::ranges::equal(era.feature(a), era.feature(b));
      duplicate_pairs += equal;
    }
  }
  EXPECT_EQ(duplicate_pairs, 1u);  // round(1% of 59) = 1 copy
  // Every era has a constant feature (holding 2), and no feature is constant in every era.
  std::vector<std::size_t> constant_eras(k, 0);
  for (const Era& era : eras) {
    std::size_t constant = 0;
    for (std::size_t f = 0; f < k; ++f) {
      if (is_constant(era.feature(f))) {
        ++constant, ++constant_eras[f];
        EXPECT_EQ(era.feature(f)[0], 2.0);
      }
    }
    EXPECT_GE(constant, 1u) << era.name;
    EXPECT_LE(constant, 2u) << era.name;  // the pick, and its copy if it has one
  }
  for (std::size_t f = 0; f < k; ++f) EXPECT_LT(constant_eras[f], eras.size()) << f;
}

TEST_F(SynthNumeraiPreset, FeaturesCorrelateWithinGroups) {
  StoreReader r(path());
  const std::size_t k = r.schema().features.size(), group = 20;
  double within = 0, across = 0;
  std::size_t n_within = 0, n_across = 0;
  for (std::size_t e = 0; e < r.eras().size(); ++e) {
    const Era era = r.read_era(e);
    for (std::size_t a = 0; a < k; ++a) {
      for (std::size_t b = a + 1; b < k; ++b) {
        const auto fa = era.feature(a), fb = era.feature(b);
        if (is_constant(fa) || is_constant(fb) || std::ranges::equal(fa, fb)) continue;
        const double c = pearson(fa, fb);
        if (a / group == b / group) {
          within += c, ++n_within;
        } else {
          across += c, ++n_across;
        }
      }
    }
  }
  within /= static_cast<double>(n_within);
  across /= static_cast<double>(n_across);
  RecordProperty("mean_corr_within_groups", std::to_string(within));
  RecordProperty("mean_corr_across_groups", std::to_string(across));
  EXPECT_GT(within, 0.3);
  EXPECT_LT(std::fabs(across), 0.05);
}

TEST(SynthCli, WritesAStoreAndOneSummaryLine) {
  TempDir dir;
  const auto out = dir / "h.h5";
  const auto r =
      run_backscore({"synth", "--models", "5", "--eras", "3", "--stocks", "100", "--features", "2",
                     "--burn-fraction", "0.5", "--seed", "9", "--out", out.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out));
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;  // no progress line: not a terminal
  EXPECT_NE(r.err.find("backscore synth: wrote"), std::string::npos) << r.err;
  StoreReader store(out);
  EXPECT_EQ(store.eras().size(), 3u);
  EXPECT_EQ(store.schema().features.size(), 2u);
}

TEST(SynthCli, UsageErrors) {
  TempDir dir;
  const auto no_out = run_backscore({"synth", "--models", "5"});
  EXPECT_EQ(no_out.status, 2);
  EXPECT_NE(no_out.err.find("--out"), std::string::npos) << no_out.err;
  const auto bad =
      run_backscore({"synth", "--burn-fraction", "2", "--out", (dir / "x.h5").string()});
  EXPECT_EQ(bad.status, 2);
  EXPECT_FALSE(std::filesystem::exists(dir / "x.h5"));
  const auto help = run_backscore({"synth", "--help"});
  EXPECT_EQ(help.status, 0);
  for (const char* option : {"--models", "--eras", "--stocks", "--features", "--burn-fraction",
                             "--seed", "--out", "--preset", "numerai", "--feature-group-size",
                             "--duplicate-features", "--constant-features", "Example"}) {
    EXPECT_NE(help.out.find(option), std::string::npos) << option;
  }
}

}  // namespace
}  // namespace backscore
