// `backscore run` end to end on stores written here: outputs agree with each other, are
// byte-identical for any thread count, appear only when complete, and a killed run resumes to
// the same bytes. Formula values themselves are tested in formulas_test and the oracle.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/hdf5.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::read_file;
using testing::run_backscore;
using testing::TempDir;

// A random store: `eras` eras of varying size, models joining and leaving, missing ids (a few
// models miss more than 20% somewhere), ties, a meta-model, a benchmark and integer features.
// With n_features > 3, feature 1 duplicates feature 0, feature 2 is constant and feature 3 is
// feature 0 + feature 4 (rank-deficient exposures).
void write_random_store(const std::filesystem::path& path, int eras, unsigned seed,
                        bool with_benchmark = true, std::size_t n_features = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  StoreSchema s;
  for (int i = 0; i < 12; ++i) s.models.push_back("m" + std::to_string(i));
  s.targets = {"target"};
  if (with_benchmark) s.benchmarks = {"bench"};
  for (std::size_t f = 0; f < n_features; ++f) s.features.push_back("f" + std::to_string(f));
  s.has_meta_model = true;
  StoreWriter w(path, s);
  for (int e = 0; e < eras; ++e) {
    Era era;
    era.name = "era" + std::to_string(100 + e);
    const std::size_t n = 40 + static_cast<std::size_t>(u(rng) * 60);
    for (std::size_t i = 0; i < n; ++i) era.ids.push_back("id" + std::to_string(1000 + i));
    std::vector<double> z(n);
    for (auto& v : z) v = u(rng);
    for (std::size_t i = 0; i < n; ++i) era.targets.push_back(std::floor(z[i] * 4.999) / 4);
    for (std::size_t i = 0; i < n; ++i) era.meta_model.push_back(z[i] + u(rng));
    if (with_benchmark) {
      for (std::size_t i = 0; i < n; ++i) era.benchmarks.push_back(z[i] + 2 * u(rng));
    }
    for (std::size_t k = 0; k < n_features * n; ++k) era.features.push_back(std::floor(u(rng) * 5));
    if (n_features > 4) {
      for (std::size_t i = 0; i < n; ++i) {
        era.features[n + i] = era.features[i];
        era.features[2 * n + i] = 3;
        era.features[3 * n + i] = era.features[i] + era.features[4 * n + i];
      }
    }
    std::vector<float> preds;
    for (int m = 0; m < 12; ++m) {
      if (u(rng) < 0.2) continue;  // this model skipped the era
      era.models.push_back(m);
      const double missing = m == 3 ? 0.3 : (m % 4 == 0 ? 0.05 : 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        double p = z[i] * (m % 3) + u(rng);
        if (m == 5) p = std::round(p * 4) / 4;  // ties
        preds.push_back(u(rng) < missing ? std::nanf("") : static_cast<float>(p));
      }
    }
    w.append_era(era, preds);
  }
  w.finish();
}

TEST(Run, CsvAndScoresFileAgreeAndCoverEverySubmission) {
  TempDir dir;
  write_random_store(dir / "s.h5", 6, 1);
  const auto r = run_backscore({"run", (dir / "s.h5").string(), "--formulas", "all", "--top-bottom",
                                "5", "--out", (dir / "o.h5").string(), "--csv",
                                (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string csv = read_file(dir / "o.csv");
  ASSERT_EQ(
      csv.substr(0, csv.find('\n')),
      "model,era,corr_v1,corr,mmc,bmc,mmc2,mmc2_burnflip,fnc,corr_tb5,mmc_tb5,bmc_tb5,fnc_tb5");
  StoreReader store(dir / "s.h5");
  std::size_t submitted = 0;
  for (std::size_t e = 0; e < store.eras().size(); ++e)
    submitted += store.read_era(e).n_submitted();
  EXPECT_EQ(testing::line_count(csv), submitted + 1);
  // Every CSV value equals the scores file's cell (17 significant digits round-trip doubles).
  h5::SilenceHdf5 quiet;
  h5::Hid f = h5::open_file((dir / "o.h5").string());
  EXPECT_EQ(h5::read_string_attribute(f.get(), "format"), "backscore-scores");
  const auto models = h5::read_strings(f.get(), "models");
  const auto eras = h5::read_strings(f.get(), "eras");
  h5::Hid ds = h5::open_dataset(f.get(), "scores/mmc");
  EXPECT_FALSE(h5::read_string_attribute(ds.get(), "definition").empty());
  std::vector<double> mmc(models.size() * eras.size());
  h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, mmc.data(), "mmc");
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  std::size_t finite = 0, empty = 0;
  while (std::getline(lines, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cells.push_back(c);
    cells.resize(13);
    const auto m = std::find(models.begin(), models.end(), cells[0]) - models.begin();
    const auto e = std::find(eras.begin(), eras.end(), cells[1]) - eras.begin();
    const double cell =
        mmc[static_cast<std::size_t>(m) * eras.size() + static_cast<std::size_t>(e)];
    if (cells[4].empty()) {
      EXPECT_TRUE(std::isnan(cell));
      ++empty;
    } else {
      EXPECT_EQ(std::stod(cells[4]), cell) << line;
      ++finite;
    }
  }
  EXPECT_GT(finite, 30u);
  EXPECT_GT(empty, 0u) << "model m3 misses 30% of ids and must go unscored";
  EXPECT_NE(r.err.find("skipped"), std::string::npos) << r.err;
}

TEST(Run, SameBytesForAnyThreadCount) {
  TempDir dir;
  write_random_store(dir / "s.h5", 5, 2);
  std::string outputs[3];
  const char* threads[3] = {"1", "2", "8"};
  for (int i = 0; i < 3; ++i) {
    const auto csv = dir / ("t" + std::string(threads[i]) + ".csv");
    const auto r =
        run_backscore({"run", (dir / "s.h5").string(), "--formulas", "all", "--top-bottom", "4",
                       "--threads", threads[i], "--batch", "3", "--csv", csv.string(), "--quiet"});
    ASSERT_EQ(r.status, 0) << r.err;
    outputs[i] = read_file(csv);
  }
  EXPECT_EQ(outputs[0], outputs[1]);
  EXPECT_EQ(outputs[0], outputs[2]);
}

// fnc's residuals of a batch's complete columns come from matrix products over fixed-width
// column blocks: neither the batch size nor the thread count may change a byte.
TEST(Run, SameBytesForAnyBatchSize) {
  TempDir dir;
  write_random_store(dir / "s.h5", 4, 7, true, 12);
  std::string outputs[4];
  const char* batch[4] = {"1", "7", "256", "7"};
  const char* threads[4] = {"2", "2", "2", "1"};
  for (int i = 0; i < 4; ++i) {
    const auto csv = dir / ("b" + std::to_string(i) + ".csv");
    const auto r = run_backscore({"run", (dir / "s.h5").string(), "--formulas", "all",
                                  "--top-bottom", "4", "--threads", threads[i], "--batch", batch[i],
                                  "--csv", csv.string(), "--quiet"});
    ASSERT_EQ(r.status, 0) << r.err;
    outputs[i] = read_file(csv);
  }
  EXPECT_NE(outputs[0].find("fnc"), std::string::npos);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(outputs[0], outputs[i]) << batch[i] << " " << threads[i];
}

// The eras' shared stages (the factorization of the features) built ahead on their own threads
// or on the scoring thread when reached: the same bytes, including the plan's era stages.
TEST(Run, SameBytesWithOrWithoutStagePrefetch) {
  TempDir dir;
  write_random_store(dir / "s.h5", 7, 11, true, 12);
  std::string outputs[4];
  const char* prefetch[4] = {"0", "1", "3", "0"};
  const char* threads[4] = {"2", "2", "2", "1"};
  for (int i = 0; i < 4; ++i) {
    const auto csv = dir / ("p" + std::to_string(i) + ".csv");
    const auto r = run_backscore(
        {"run", (dir / "s.h5").string(), "--formulas", "all,fnc_n", "--formula",
         "fnc_n = pearson(neutralize(gaussian(rank(pred)), features), target)",
         "--top-bottom", "4", "--threads", threads[i], "--prefetch-eras", prefetch[i], "--batch",
         "5", "--csv", csv.string(), "--quiet", "--timings"});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("of which factorizations"), std::string::npos) << r.err;
    outputs[i] = read_file(csv);
  }
  EXPECT_NE(outputs[0].find("fnc_n"), std::string::npos);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(outputs[0], outputs[i]) << prefetch[i] << " " << threads[i];
}

// An error while an era's stages are built (on a prefetch thread or inline) ends the run as any
// error does: one line naming it, exit 2 (input) or 1 (ours), every thread joined (the seam
// runner checks the reader's and the prefetch threads'), no output.
TEST(Run, ErrorBuildingAnErasStagesEndsTheRunCleanly) {
  TempDir dir;
  write_random_store(dir / "s.h5", 6, 5, true, 6);
  for (const char* kind : {"input", "internal"}) {
    for (const char* prefetch : {"0", "2", "4"}) {
      const auto r = testing::run_with_seams(
          {"--throw-in-stages", "3", kind},
          {"run", (dir / "s.h5").string(), "--formulas", "corr,fnc", "--threads", "2",
           "--prefetch-eras", prefetch, "--batch", "4", "--out", (dir / "o.h5").string(),
           "--csv", (dir / "o.csv").string(), "--quiet"});
      const bool input = std::string(kind) == "input";
      EXPECT_EQ(r.status, input ? 2 : 1) << r.err;
      EXPECT_NE(r.err.find(input ? "backscore: error: the stages of era 3 are bad"
                                 : "backscore: internal error: the stages of era 3"),
                std::string::npos)
          << r.err;
      EXPECT_EQ(testing::line_count(r.err), 2u) << r.err;
      EXPECT_FALSE(std::filesystem::exists(dir / "o.h5"));
      EXPECT_FALSE(std::filesystem::exists(dir / "o.csv"));
    }
  }
}

TEST(Run, KilledRunResumesToTheSameBytes) {
  TempDir dir;
  write_random_store(dir / "s.h5", 8, 3);
  const std::vector<std::string> args = {
      "run",   (dir / "s.h5").string(), "--formulas", "all", "--csv", (dir / "o.csv").string(),
      "--out", (dir / "o.h5").string(), "--quiet"};
  auto clean = run_backscore({"run", (dir / "s.h5").string(), "--formulas", "all", "--csv",
                              (dir / "ref.csv").string(), "--quiet"});
  ASSERT_EQ(clean.status, 0) << clean.err;

  const auto killed = testing::run_with_seams({"--kill-after-eras", "3"}, args);
  EXPECT_EQ(killed.status, 128 + SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(dir / "o.csv")) << "no output before the run completes";
  EXPECT_FALSE(std::filesystem::exists(dir / "o.h5"));
  EXPECT_TRUE(std::filesystem::exists(dir / "o.h5.partial"));

  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  const auto resumed = run_backscore(resume);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("3 eras already scored"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("backscore run: 5 eras"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_file(dir / "o.csv"), read_file(dir / "ref.csv"));
  EXPECT_FALSE(std::filesystem::exists(dir / "o.h5.partial"));
}

TEST(Run, ResumeRefusesAnotherJobsJournal) {
  TempDir dir;
  write_random_store(dir / "s.h5", 4, 4);
  const auto killed = testing::run_with_seams(
      {"--kill-after-eras", "1"}, {"run", (dir / "s.h5").string(), "--formulas", "corr", "--csv",
                                   (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(killed.status, 128 + SIGKILL) << killed.err;
  const auto r = run_backscore({"run", (dir / "s.h5").string(), "--formulas", "mmc", "--csv",
                                (dir / "o.csv").string(), "--resume", "--quiet"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("belongs to another job"), std::string::npos) << r.err;
}

// An error thrown on a scoring thread (inside the OpenMP loop) ends the run as any error does: one
// line, exit 2 for the user's errors and 1 for ours, the reader thread joined (checked by the seam
// runner), no output file; the error of the lowest failing column whatever the thread count.
TEST(Run, ErrorInsideTheScoringLoopEndsTheRunCleanly) {
  TempDir dir;
  write_random_store(dir / "s.h5", 6, 7);
  struct Case {
    const char* kind;  // of the error thrown from column 5 on, in era 2
    int status;
    const char* message;
  };
  for (const Case& c :
       {Case{"input", 2, "backscore: error: model column 5 of era 2 is bad"},
        Case{"internal", 1, "backscore: internal error: model column 5 of era 2"}}) {
    for (const char* threads : {"1", "2"}) {
      const auto r = testing::run_with_seams(
          {"--throw-at", "2", "5", c.kind},
          {"run", (dir / "s.h5").string(), "--formulas", "corr,mmc,fnc", "--threads", threads,
           "--batch", "64", "--out", (dir / "o.h5").string(), "--csv", (dir / "o.csv").string(),
           "--quiet"});
      EXPECT_EQ(r.status, c.status) << r.err;
      EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
      EXPECT_EQ(testing::line_count(r.err), 2u) << r.err;  // the run's first line, then the error
      EXPECT_FALSE(std::filesystem::exists(dir / "o.h5"));
      EXPECT_FALSE(std::filesystem::exists(dir / "o.csv"));
    }
  }
}

struct BadRun {
  std::vector<std::string> args;  // after "run STORE"
  const char* message;
};

TEST(Run, BadArgumentsAreOneLineAndStatus2) {
  TempDir dir;
  write_random_store(dir / "s.h5", 2, 5, /*with_benchmark=*/false);
  testing::write_file(dir / "models.txt", "m1\nnobody\n");
  const BadRun cases[] = {
      {{"--formulas", "corr,mmc9"}, "unknown formula 'mmc9'"},
      {{"--formulas", "bmc"}, "no benchmark models"},
      {{"--target", "target_q"}, "no target 'target_q'"},
      {{"--eras", "era100:era999"}, "era 'era999' is not in"},
      {{"--eras", "era101:era100"}, "comes before"},
      {{"--models", (dir / "models.txt").string()}, "models.txt:2: unknown model 'nobody'"},
      {{"--resume"}, "nothing to resume"},
      {{"--backend", "gpu"}, "--backend"},
      // Unwritable outputs are refused before any era is scored.
      {{"--out", (dir / "no_such_dir" / "s.h5").string()}, "--out: directory "},
      {{"--out", dir.path().string()}, "is a directory"},
  };
  for (const BadRun& c : cases) {
    std::vector<std::string> args = {"run", (dir / "s.h5").string(), "--csv",
                                     (dir / "out.csv").string(), "--quiet"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = run_backscore(args);
    EXPECT_EQ(r.status, 2) << c.message << ": " << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir / "out.csv")) << c.message;
  }
}

TEST(Run, FormulasCommandListsEveryBuiltin) {
  const auto r = run_backscore({"formulas"});
  ASSERT_EQ(r.status, 0);
  for (const char* name : {"corr_v1", "corr", "mmc", "bmc", "mmc2", "mmc2_burnflip", "fnc"}) {
    EXPECT_NE(r.out.find(std::string(name) + " "), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace backscore

namespace backscore {
namespace {

// Same input, same bytes out: the store synth writes and the scores file run writes.
TEST(Run, SameInputGivesIdenticalFiles) {
  TempDir dir;
  for (const char* name : {"a.h5", "b.h5"}) {
    auto s =
        run_backscore({"synth", "--models", "30", "--eras", "4", "--stocks", "200", "--features",
                       "3", "--seed", "11", "--out", (dir / name).string(), "--quiet"});
    ASSERT_EQ(s.status, 0) << s.err;
  }
  EXPECT_EQ(read_file(dir / "a.h5"), read_file(dir / "b.h5"));
  for (const char* threads : {"1", "2"}) {
    auto r = run_backscore({"run", (dir / "a.h5").string(), "--formulas", "all", "--threads",
                            threads, "--out",
                            (dir / ("scores" + std::string(threads) + ".h5")).string(), "--quiet"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  EXPECT_EQ(read_file(dir / "scores1.h5"), read_file(dir / "scores2.h5"));
}

}  // namespace
}  // namespace backscore
