// The toy era of the 2020 burn-era debate (MOTIVATION.md) through the whole program:
// CSV -> import -> store -> run -> CSV, against the golden values of issue 3 to 1e-12.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>

#include "test_support.hpp"

namespace backscore {
namespace {

using testing::run_backscore;

// model -> formula -> value, from a scores CSV.
std::map<std::string, std::map<std::string, double>> parse_scores(const std::string& csv) {
  std::istringstream in(csv);
  std::string line, cell;
  std::getline(in, line);
  std::vector<std::string> header;
  for (std::stringstream h(line); std::getline(h, cell, ',');) header.push_back(cell);
  std::map<std::string, std::map<std::string, double>> out;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::vector<std::string> cells;
    while (std::getline(row, cell, ',')) cells.push_back(cell);
    cells.resize(header.size());
    for (std::size_t c = 2; c < header.size(); ++c) {
      out[cells[0]][header[c]] = cells[c].empty() ? std::nan("") : std::stod(cells[c]);
    }
  }
  return out;
}

TEST(Golden, ToyEraOfTheBurnDebate) {
  testing::TempDir dir;
  const std::string data = std::string(BACKSCORE_SOURCE_DIR) + "/tests/data/";
  auto imp = run_backscore({"import", "--universe", data + "toy_universe.csv", "--predictions",
                            data + "toy_predictions.csv", "--out", (dir / "toy.h5").string()});
  ASSERT_EQ(imp.status, 0) << imp.err;
  auto run = run_backscore({"run", (dir / "toy.h5").string(), "--formulas",
                            "corr_v1,corr,mmc,mmc2,mmc2_burnflip", "--csv",
                            (dir / "toy.csv").string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << run.err;
  auto s = parse_scores(testing::read_file(dir / "toy.csv"));
  const double tol = 1e-12;
  EXPECT_NEAR(s["A"]["corr_v1"], 0.024525573579399, tol);
  EXPECT_NEAR(s["B"]["corr_v1"], 0.024525573579399, tol);
  EXPECT_NEAR(s["clone"]["corr_v1"], -0.055182540553647, tol);
  EXPECT_NEAR(s["A"]["corr"], -0.189437267212178, tol);
  EXPECT_NEAR(s["B"]["corr"], -0.215659199540114, tol);
  EXPECT_NEAR(s["A"]["mmc"], 0.073594891818024, tol);
  EXPECT_NEAR(s["B"]["mmc"], -0.360330986474825, tol);
  EXPECT_NEAR(s["clone"]["mmc"], 0.0, tol);
  EXPECT_NEAR(s["A"]["mmc2"], 0.100531383531110, tol);
  EXPECT_NEAR(s["B"]["mmc2"], -0.015610244084459, tol);
  EXPECT_NEAR(s["A"]["mmc2_burnflip"], 0.024525573579399, tol);
  EXPECT_NEAR(s["B"]["mmc2_burnflip"], 0.130046459997707, tol);
  // The mirror image gets exactly the negated MMC (the 2020 thread's round-218 check). Not mmc2
  // here: B has ties, and mmc2's tie-broken ranks of 1 - p are not the mirror of p's (the untied
  // case is FormulaProperties.MirrorImageNegatesMmcAndMmc2).
  EXPECT_NEAR(s["mirror_B"]["mmc"], -s["B"]["mmc"], tol);
}

}  // namespace
}  // namespace backscore
