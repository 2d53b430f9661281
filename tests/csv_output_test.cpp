// Every CSV the program writes reads back through its own CSV reader: names with commas, quotes,
// line breaks (LF, CR, CRLF) and UTF-8 go from `import` into the store, out through `run --csv`
// and `compare --out-dir`, and back through io/csv.hpp's CsvReader unchanged.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/csv.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::exact_text;
using testing::run_backscore;
using testing::TempDir;
using testing::write_file;

const std::vector<std::string> kEras = {"e,1", "e\"2\"", "e\n3", "\xC3\xA9poca\r\n4"};
const std::vector<std::string> kModels = {"m\"1",  "m,2", "m\r3",
                                          "m\n4",  "\xE6\xA8\xA1\xE5\x9E\x8B" "5",
                                          "\xC3\xBC 6"};

std::string record(const std::vector<std::string>& fields) {
  std::string line;
  append_csv_record(line, fields);
  return line;
}

// Header and rows of a CSV file, read with the program's reader.
std::vector<std::vector<std::string>> read_csv(const fs::path& path) {
  CsvReader csv(path);
  std::vector<std::vector<std::string>> rows{csv.header()};
  std::vector<std::string_view> f;
  while (csv.next(f)) rows.emplace_back(f.begin(), f.end());
  return rows;
}

class CsvOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(5);
    std::uniform_real_distribution<double> u(0, 1);
    std::string universe = record({"era", "id", "target", "meta_model"});
    std::string predictions = record({"model", "era", "id", "prediction"});
    std::string stakes = record({"model", "era", "stake"});
    for (const std::string& era : kEras) {
      for (int i = 0; i < 40; ++i) {
        const std::string id = (i % 3 == 0 ? "id,\"" : "id") + std::to_string(i);
        universe += record({era, id, exact_text(static_cast<double>(rng() % 5) / 4),
                            exact_text(u(rng))});
        for (const std::string& model : kModels) {
          predictions += record({model, era, id, exact_text(u(rng))});
        }
      }
    }
    for (const std::string& era : kEras) {
      for (const std::string& model : kModels) stakes += record({model, era, "10"});
    }
    write_file(dir / "universe.csv", universe);
    write_file(dir / "predictions.csv", predictions);
    write_file(dir / "stakes.csv", stakes);
    const auto r = run_backscore({"import", "--universe", path("universe.csv"), "--predictions",
                                  path("predictions.csv"), "--stakes", path("stakes.csv"),
                                  "--out", path("store.h5")});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  TempDir dir;
};

TEST_F(CsvOutput, ScoresCsvReadsBackWithEveryName) {
  const auto r = run_backscore({"run", path("store.h5"), "--backend", "cpu", "--formulas",
                                "corr,mmc", "--out", path("scores.h5"), "--csv",
                                path("scores.csv"), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::vector<std::string>> rows;
  ASSERT_NO_THROW(rows = read_csv(dir / "scores.csv"));
  ASSERT_FALSE(rows.empty());
  EXPECT_EQ(rows[0], (std::vector<std::string>{"model", "era", "corr", "mmc"}));
  // One row per (model, era), eras in store order and models in table order within an era.
  std::vector<std::pair<std::string, std::string>> want, got;
  for (const std::string& era : kEras) {
    for (const std::string& model : kModels) want.emplace_back(model, era);
  }
  for (std::size_t k = 1; k < rows.size(); ++k) {
    ASSERT_EQ(rows[k].size(), 4u);
    got.emplace_back(rows[k][0], rows[k][1]);
    EXPECT_TRUE(std::isfinite(std::stod(rows[k][2]))) << rows[k][0] << " / " << rows[k][1];
  }
  EXPECT_EQ(got, want);
}

TEST_F(CsvOutput, CompareTablesReadBackWithEveryName) {
  auto r = run_backscore({"run", path("store.h5"), "--backend", "cpu", "--formulas", "corr,mmc",
                          "--out", path("scores.h5"), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = run_backscore({"compare", path("scores.h5"), "--baseline", "corr", "--candidate", "mmc",
                     "--store", path("store.h5"), "--out-dir", path("compare")});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::set<std::string> models(kModels.begin(), kModels.end());
  const std::set<std::string> eras(kEras.begin(), kEras.end());
  std::size_t tables = 0;
  for (const auto& entry : fs::directory_iterator(dir / "compare")) {
    if (entry.path().extension() != ".csv") continue;
    ++tables;
    std::vector<std::vector<std::string>> rows;
    ASSERT_NO_THROW(rows = read_csv(entry.path())) << entry.path();
    std::set<std::string> first;
    for (std::size_t k = 1; k < rows.size(); ++k) first.insert(rows[k][0]);
    const std::string name = entry.path().filename().string();
    if (name == "payouts.csv") first.erase("TOTAL");  // its last row, the sum over models
    if (name == "models.csv" || name == "leaderboard.csv" || name == "payouts.csv") {
      EXPECT_EQ(first, models) << name;
    } else if (name == "eras.csv") {
      EXPECT_EQ(first, eras) << name;
    }
  }
  EXPECT_GE(tables, 3u);
}

}  // namespace
}  // namespace backscore
