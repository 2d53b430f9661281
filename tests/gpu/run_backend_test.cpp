// `backscore run --backend cuda` end to end against `--backend cpu` on synthetic stores: every
// built-in (and a defined formula built on them) to 1e-9, the same NaN cells, the same bytes from
// two CUDA runs. Skipped (counted) without a device.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/device.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::run_backscore;
using testing::TempDir;

// (model, era) -> the row's cells, from a scores CSV; header in `columns`.
std::map<std::string, std::vector<std::string>> read_scores(const std::string& csv,
                                                            std::vector<std::string>& columns) {
  std::istringstream in(csv);
  std::string line, cell;
  std::getline(in, line);
  columns.clear();
  for (std::stringstream h(line); std::getline(h, cell, ',');) columns.push_back(cell);
  std::map<std::string, std::vector<std::string>> rows;
  while (std::getline(in, line)) {
    std::stringstream r(line);
    std::vector<std::string> cells;
    while (std::getline(r, cell, ',')) cells.push_back(cell);
    cells.resize(columns.size());
    rows[cells[0] + "/" + cells[1]] = cells;
  }
  return rows;
}

class RunBackends : public ::testing::Test {
 protected:
  void SetUp() override {
    const cuda::DeviceInfo info = cuda::query_devices();
    if (info.count == 0) GTEST_SKIP() << "no CUDA device: " << info.why_none;
  }

  void expect_backends_agree(const std::vector<std::string>& synth,
                             std::vector<std::string> extra) {
    TempDir dir;
    std::vector<std::string> s = {"synth", "--out", (dir / "h.h5").string(), "--quiet"};
    s.insert(s.end(), synth.begin(), synth.end());
    auto r = run_backscore(s);
    ASSERT_EQ(r.status, 0) << r.err;
    auto run = [&](const std::string& backend, const std::string& csv) {
      std::vector<std::string> a = {"run",   (dir / "h.h5").string(), "--backend", backend,
                                    "--csv", (dir / csv).string(),    "--quiet"};
      a.insert(a.end(), extra.begin(), extra.end());
      return run_backscore(a);
    };
    auto cpu = run("cpu", "cpu.csv");
    ASSERT_EQ(cpu.status, 0) << cpu.err;
    auto gpu = run("cuda", "gpu.csv");
    ASSERT_EQ(gpu.status, 0) << gpu.err;
    EXPECT_NE(gpu.err.find("backend cuda"), std::string::npos) << gpu.err;
    EXPECT_NE(gpu.err.find("GPU scored the built-ins of"), std::string::npos) << gpu.err;
    auto again = run("cuda", "gpu2.csv");
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_EQ(testing::read_file(dir / "gpu.csv"), testing::read_file(dir / "gpu2.csv"))
        << "two CUDA runs of the same store differ";

    std::vector<std::string> cols_cpu, cols_gpu;
    const auto a = read_scores(testing::read_file(dir / "cpu.csv"), cols_cpu);
    const auto b = read_scores(testing::read_file(dir / "gpu.csv"), cols_gpu);
    ASSERT_EQ(cols_cpu, cols_gpu);
    ASSERT_EQ(a.size(), b.size());
    std::size_t compared = 0;
    double worst = 0;
    for (const auto& [key, row] : a) {
      const auto it = b.find(key);
      ASSERT_NE(it, b.end()) << key;
      for (std::size_t c = 2; c < cols_cpu.size(); ++c) {
        const std::string &x = row[c], &y = it->second[c];
        ASSERT_EQ(x.empty(), y.empty())
            << key << " " << cols_cpu[c] << ": cpu '" << x << "' gpu '" << y << "'";
        if (x.empty()) continue;
        const double d = std::fabs(std::stod(x) - std::stod(y));
        worst = std::max(worst, d);
        EXPECT_LE(d, 1e-9) << key << " " << cols_cpu[c] << ": cpu " << x << " gpu " << y;
        ++compared;
      }
    }
    EXPECT_GT(compared, 0u);
    RecordProperty("worst_abs_diff", std::to_string(worst));
  }
};

TEST_F(RunBackends, EveryBuiltinAgreesWithTheCpu) {
  expect_backends_agree({"--models", "60", "--eras", "5", "--stocks", "3000", "--features", "12",
                         "--burn-fraction", "0.4", "--seed", "11"},
                        {"--formulas", "all", "--top-bottom", "100"});
}

// The Signals formulas and max_feature_corr stay on the CPU under --backend cuda (for every
// column, complete or not; mpc at the era's end), next to the GPU's built-ins; the run says so.
TEST_F(RunBackends, CpuOnlyFormulasBesideTheGpusOnes) {
  expect_backends_agree({"--models", "50", "--eras", "4", "--stocks", "2000", "--features", "10",
                         "--neutralizers", "6", "--sample-weights", "--seed", "12"},
                        {"--formulas", "all,max_feature_corr", "--top-bottom", "60", "--batch",
                         "16"});
}

TEST_F(RunBackends, SmallAndLargeErasBatchSplitsAndDefinedFormulas) {
  // ~9,000 stocks takes the segmented-sort path; --batch 7 mixes complete and incomplete columns
  // in one read; --gpu-memory 64 forces device batches; a defined formula uses GPU built-ins.
  expect_backends_agree(
      {"--models", "40", "--eras", "3", "--stocks", "9000", "--features", "5", "--seed", "12"},
      {"--formulas", "all", "--formula", "payout = 0.5*corr + 2*mmc", "--batch", "7",
       "--gpu-memory", "64"});
  expect_backends_agree({"--models", "30", "--eras", "4", "--stocks", "10", "--seed", "13"},
                        {"--formulas", "all"});
}

TEST_F(RunBackends, OneAndFourStreams) {
  // --batch 50 on 60 models: calls of 50 and 10 columns, split over the lanes unevenly.
  for (const char* streams : {"1", "4"}) {
    expect_backends_agree({"--models", "60", "--eras", "3", "--stocks", "2000", "--features", "8",
                           "--burn-fraction", "0.5", "--seed", "14"},
                          {"--formulas", "all", "--top-bottom", "50", "--batch", "50",
                           "--gpu-streams", streams});
  }
}

TEST_F(RunBackends, RankDeficientFeaturesFactorizedOnTheDevice) {
  // fnc's [features, 1] factorized by the device factorizer (the cuda backend's): exact
  // duplicates and constant features in every era (the certificate path), 120 and 300 features,
  // models with missing ids scored on the CPU from the device's factors (derive_subset), against
  // the CPU backend's LAPACK factorization at 1e-9.
  for (const char* features : {"120", "300"}) {
    expect_backends_agree({"--models", "40", "--eras", "3", "--stocks", "1500", "--features",
                           features, "--feature-group-size", "20", "--duplicate-features", "0.05",
                           "--constant-features", "0.03", "--seed", "15"},
                          {"--formulas", "all", "--top-bottom", "50", "--batch", "16"});
  }
  // Under a cap: the factorizer's eighth of it, the scorer the rest.
  expect_backends_agree({"--models", "30", "--eras", "2", "--stocks", "2000", "--features", "200",
                         "--duplicate-features", "0.05", "--constant-features", "0.03", "--seed",
                         "16"},
                        {"--formulas", "fnc,corr,mmc", "--gpu-memory", "256"});
}

}  // namespace
}  // namespace backscore
