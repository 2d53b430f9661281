// `backscore simulate --backend cuda` against `--backend cpu`: the device's meta-model sums and
// xcorr against the CPU's arithmetic on one era (CudaEraScorer's BatchExtras), then whole
// simulations end to end on synthetic stores with missing ids (the CPU's columns beside the
// device's): every quantity, stake and payout to 1e-9, over split device batches too, and the
// same bytes from two CUDA runs. Skipped (counted) without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "era_scorer_support.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using era_scorer_test::make_era;
using era_scorer_test::TestEra;
using testing::read_file;
using testing::run_backscore;
using testing::TempDir;

// The sums of the gaussianized ranks under three weight vectors and each column's Pearson with
// the meta-model, on an era of 2,000 rows and 300 columns split into batches of 64 over 2 lanes.
TEST(SimBackend, MetaModelSumsAndXcorrEqualTheCpus) {
  SKIP_WITHOUT_DEVICE();
  const TestEra t = make_era(2000, 300, 11, false, 0);
  const Era& era = t.era;
  const std::size_t n = era.n_stocks(), m = t.m, k = 3;
  const std::vector<FormulaSpec> specs = {{Builtin::mmc, 0}};
  EraContext ctx(era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::EraScorerOptions o;
  o.meta_sums = k;
  o.meta_pearson = true;
  o.max_batch_models = 64;
  o.min_lane_models = 1;
  cuda::CudaEraScorer scorer(0, specs, 0, o);
  scorer.begin_era(era, ctx);
  std::vector<double> weights(m * k), sums(n * k, 0.5), xcorr(m), out(m);
  for (std::size_t r = 0; r < k; ++r) {
    for (std::size_t j = 0; j < m; ++j)
      weights[r * m + j] = r == 0 ? 1.0 : double((j * 7 + r) % 11);
  }
  scorer.score_full_columns(t.preds, m, out, {weights, sums, xcorr});
  EXPECT_GT(scorer.most_streams_used(), 1u);

  std::vector<double> expect(n * k, 0.5), values(n), gauss(n);
  std::vector<std::uint32_t> order(n);
  StableSorter sorter;
  const GaussianTable table = GaussianTable::of(n);
  for (std::size_t j = 0; j < m; ++j) {
    for (std::size_t i = 0; i < n; ++i) values[i] = t.preds[j * n + i];
    sorter.sort(values, order);
    tie_kept_gaussian(values, order, &table, gauss);
    for (std::size_t r = 0; r < k; ++r) {
      for (std::size_t i = 0; i < n; ++i) expect[r * n + i] += weights[r * m + j] * gauss[i];
    }
    EXPECT_NEAR(xcorr[j], pearson(gauss, era.meta_model), 1e-12) << "column " << j;
  }
  for (std::size_t x = 0; x < n * k; ++x) {
    ASSERT_NEAR(sums[x], expect[x], 1e-9 * std::max(1.0, std::abs(expect[x]))) << x;
  }
}

std::vector<std::vector<std::string>> csv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) rows.push_back(testing::csv_cells(line));
  return rows;
}

// Two CSV tables cell by cell: text cells equal, numbers to 1e-9 (relative above 1), empty (NaN)
// where the other is empty.
void expect_tables_agree(const std::string& a, const std::string& b, const std::string& what) {
  const auto ra = csv_rows(a), rb = csv_rows(b);
  ASSERT_EQ(ra.size(), rb.size()) << what;
  ASSERT_GT(ra.size(), 1u) << what;
  std::size_t numbers = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    ASSERT_EQ(ra[i].size(), rb[i].size()) << what << " row " << i;
    for (std::size_t c = 0; c < ra[i].size(); ++c) {
      const std::string &x = ra[i][c], &y = rb[i][c];
      char* end = nullptr;
      const double dx = std::strtod(x.c_str(), &end);
      if (i == 0 || x.empty() || *end != '\0') {
        EXPECT_EQ(x, y) << what << " row " << i << " column " << ra[0][c];
        continue;
      }
      ASSERT_FALSE(y.empty()) << what << " row " << i << " column " << ra[0][c];
      const double dy = std::strtod(y.c_str(), nullptr);
      EXPECT_NEAR(dx, dy, 1e-9 * std::max(1.0, std::abs(dx)))
          << what << " row " << i << " column " << ra[0][c];
      ++numbers;
    }
  }
  EXPECT_GT(numbers, 0u);
}

class SimBackends : public ::testing::Test {
 protected:
  void SetUp() override { SKIP_WITHOUT_DEVICE(); }

  // simulate on `backend` into dir/<name>/; returns its stdout (the counts line says what ran
  // on the GPU).
  std::string simulate(const TempDir& dir, const std::string& store,
                       const std::vector<std::string>& rules, const std::string& name,
                       std::vector<std::string> extra) {
    std::vector<std::string> a = {"simulate",      store, "--csv",   (dir / name).string(),
                                  "--resolve-lag", "2",   "--flows", "observed",
                                  "--quiet"};
    for (const std::string& r : rules) a.insert(a.end(), {"--rule", r});
    a.insert(a.end(), extra.begin(), extra.end());
    const auto r = run_backscore(a);
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  }

  // Returns the narrow run's stdout.
  std::string expect_backends_agree(const std::vector<std::string>& synth,
                                    const std::vector<std::string>& rules) {
    TempDir dir;
    std::vector<std::string> s = {"synth", "--out", (dir / "h.h5").string(), "--quiet"};
    s.insert(s.end(), synth.begin(), synth.end());
    const auto r = run_backscore(s);
    EXPECT_EQ(r.status, 0) << r.err;
    const std::string store = (dir / "h.h5").string();
    simulate(dir, store, rules, "cpu", {"--backend", "cpu"});
    const std::string out = simulate(dir, store, rules, "cuda", {"--backend", "cuda"});
    EXPECT_NE(out.find("on the GPU"), std::string::npos) << out;
    simulate(dir, store, rules, "again", {"--backend", "cuda"});
    // Small device batches over one stream (250 MiB shared by up to five scorers, each lane
    // with its 32 MiB cuBLAS workspace: tens of models per batch), then four streams: other
    // summation orders, the same 1e-9.
    const std::string narrow =
        simulate(dir, store, rules, "narrow",
                 {"--backend", "cuda", "--gpu-memory", "250", "--gpu-streams", "1"});
    simulate(dir, store, rules, "wide", {"--backend", "cuda", "--gpu-streams", "4"});
    for (const char* table : {"eras.csv", "stakes.csv"}) {
      const std::string cpu = read_file(dir / "cpu" / table);
      expect_tables_agree(cpu, read_file(dir / "cuda" / table), std::string("cuda ") + table);
      EXPECT_EQ(read_file(dir / "cuda" / table), read_file(dir / "again" / table))
          << table << ": two CUDA runs with the same options give the same bytes";
      expect_tables_agree(cpu, read_file(dir / "narrow" / table), std::string("narrow ") + table);
      expect_tables_agree(cpu, read_file(dir / "wide" / table), std::string("wide ") + table);
    }
    return narrow;
  }
};

// "backscore simulate: E eras (...), ..., G on the GPU (peak P MiB, batches of up to B models)":
// batches narrower than an era's complete columns on average split some era.
void expect_split_batches(const std::string& narrow) {
  std::size_t eras = 0, on_gpu = 0, widest = 0;
  const std::size_t at = narrow.find("backscore simulate: ");
  const std::size_t gpu_at = narrow.rfind(", ", narrow.find(" on the GPU"));
  const std::size_t batch_at = narrow.find("batches of up to ");
  ASSERT_TRUE(at != std::string::npos && gpu_at != std::string::npos &&
              batch_at != std::string::npos)
      << narrow;
  ASSERT_EQ(std::sscanf(narrow.c_str() + at, "backscore simulate: %zu eras", &eras), 1);
  ASSERT_EQ(std::sscanf(narrow.c_str() + gpu_at, ", %zu on the GPU", &on_gpu), 1) << narrow;
  ASSERT_EQ(std::sscanf(narrow.c_str() + batch_at, "batches of up to %zu", &widest), 1);
  EXPECT_LT(widest * eras, on_gpu) << narrow;
}

// 400 models (about 250 an era): 250 MiB over five scorers splits every scorer's eras.
TEST_F(SimBackends, ClassicRulesAgree) {
  const std::string narrow =
      expect_backends_agree({"--models", "400", "--eras", "6", "--stocks", "3000", "--features",
                             "40", "--missing-ids", "0.1"},
                            {"numerai2024", "mmc2=clip(pf*(0.5*corr + 2*mmc2), -0.05, 0.05)",
                             "burnflip=clip(pf*(0.5*corr + 2*mmc2_burnflip), -0.05, 0.05)",
                             "mix=clip(fnc + mmc_tb200 + corr_v1, -0.1, 0.1)"});
  expect_split_batches(narrow);
}

// The Signals formulas the GPU does not compute (alpha, mpc, neutral_mmc) beside it on the CPU.
TEST_F(SimBackends, SignalsRulesAgree) {
  expect_backends_agree({"--models", "80", "--eras", "5", "--stocks", "2000", "--neutralizers", "4",
                         "--sample-weights", "--missing-ids", "0.2"},
                        {"signals-2025", "nmmc=clip(neutral_mmc + mmc, -0.05, 0.05)"});
}

}  // namespace
}  // namespace backscore
