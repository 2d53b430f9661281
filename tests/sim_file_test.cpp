// The simulation file (io/sim_file.*): what the writer writes the reader reads back, NaN where
// nothing was written; files that are not simulation files are refused with one line naming them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "io/sim_file.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

constexpr std::size_t Q = kSimQuantityCount;

SimulationHeader header() {
  return {
      "/abs/store.h5",
      "target",
      "observed",
      2,
      {"as_paid", "burnflip"},
      {"clip(pf*(corr + 2*mmc), -0.25, 0.25)", "clip(pf*(corr + 2*mmc2_burnflip), -0.25, 0.25)"},
      {"A", "B", "C"},
      {"era1", "era2", "era3", "era4"}};
}

// Quantity q of rule r in era `era`.
double value(std::size_t r, std::size_t q, double era) {
  return 100.0 * static_cast<double>(r) + static_cast<double>(q) + era / 10;
}

// Quantities of an era, rule-major.
std::vector<double> quantities(double era) {
  std::vector<double> v(2 * Q);
  for (std::size_t r = 0; r < 2; ++r) {
    for (std::size_t q = 0; q < Q; ++q) v[r * Q + q] = value(r, q, era);
  }
  return v;
}

void write_sample(const std::filesystem::path& path) {
  h5::SilenceHdf5 quiet;
  SimulationFileWriter w(path, header());
  // Era 1 (column 1): models A and C; stakes rule-major (rule 0: A 10, C 30; rule 1: A 11, C 31).
  const std::vector<std::int32_t> models = {0, 2};
  w.write_era(1, models, std::vector<double>{10, 30, 11, 31},
              std::vector<double>{0.01, -0.03, 0.02, 0}, quantities(1), 0.025);
  // Era 3: only B, no store meta-model (NaN).
  w.write_era(3, std::vector<std::int32_t>{1}, std::vector<double>{20, 21},
              std::vector<double>{0.1, 0.2}, quantities(3), std::nan(""));
  w.close();
}

TEST(SimFile, WriterRoundTripsThroughTheReader) {
  testing::TempDir dir;
  write_sample(dir / "sim.h5");
  const SimulationFileReader r(dir / "sim.h5");
  const SimulationHeader& h = r.header();
  const SimulationHeader want = header();
  EXPECT_EQ(h.store, want.store);
  EXPECT_EQ(h.target, want.target);
  EXPECT_EQ(h.flows, "observed");
  EXPECT_EQ(h.resolve_lag, 2);
  EXPECT_EQ(h.rules, want.rules);
  EXPECT_EQ(h.rule_texts, want.rule_texts);
  EXPECT_EQ(h.models, want.models);
  EXPECT_EQ(h.eras, want.eras);
  EXPECT_EQ(r.path(), dir / "sim.h5");

  // Stakes and payouts: M x E per rule, NaN where the model did not submit or nothing was written.
  const std::vector<double> s0 = r.stakes(0), s1 = r.stakes(1), p1 = r.payouts(1);
  ASSERT_EQ(s0.size(), 3u * 4u);
  EXPECT_EQ(s0[0 * 4 + 1], 10);
  EXPECT_EQ(s0[2 * 4 + 1], 30);
  EXPECT_EQ(s1[0 * 4 + 1], 11);
  EXPECT_EQ(s1[2 * 4 + 1], 31);
  EXPECT_EQ(s0[1 * 4 + 3], 20);
  EXPECT_EQ(s1[1 * 4 + 3], 21);
  EXPECT_EQ(p1[0 * 4 + 1], 0.02);
  EXPECT_EQ(p1[2 * 4 + 1], 0.0);
  EXPECT_EQ(p1[1 * 4 + 3], 0.2);
  EXPECT_EQ(r.payouts(0)[2 * 4 + 1], -0.03);
  for (std::size_t at : {0u, 4u + 1u, 4u + 0u, 2u * 4u + 3u, 2u}) {
    EXPECT_TRUE(std::isnan(s0[at])) << at;
    EXPECT_TRUE(std::isnan(p1[at])) << at;
  }

  // Quantities: E values per rule and name, NaN in the eras not written.
  for (std::size_t rule = 0; rule < 2; ++rule) {
    for (std::size_t q = 0; q < Q; ++q) {
      const std::vector<double> v = r.era_quantity(rule, kSimEraQuantities[q]);
      ASSERT_EQ(v.size(), 4u);
      EXPECT_TRUE(std::isnan(v[0]));
      EXPECT_EQ(v[1], value(rule, q, 1)) << kSimEraQuantities[q];
      EXPECT_TRUE(std::isnan(v[2]));
      EXPECT_EQ(v[3], value(rule, q, 3)) << kSimEraQuantities[q];
    }
  }
  const std::vector<double> mm = r.store_mm_corr();
  ASSERT_EQ(mm.size(), 4u);
  EXPECT_EQ(mm[1], 0.025);
  EXPECT_TRUE(std::isnan(mm[0]));
  EXPECT_TRUE(std::isnan(mm[3]));

  try {
    (void)r.era_quantity(0, "nope");
    ADD_FAILURE() << "no error for an unknown quantity";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.find((dir / "sim.h5").string() + ": no quantity 'nope' (the file has: models, "),
              0u)
        << what;
  }
}

// The same inputs give the same bytes (no timestamps in the file).
TEST(SimFile, SameInputSameBytes) {
  testing::TempDir dir;
  write_sample(dir / "a.h5");
  write_sample(dir / "b.h5");
  EXPECT_EQ(testing::read_file(dir / "a.h5"), testing::read_file(dir / "b.h5"));
}

// No eras and no models: an empty but readable file.
TEST(SimFile, EmptyHistory) {
  testing::TempDir dir;
  SimulationHeader h = header();
  h.models.clear();
  h.eras.clear();
  {
    h5::SilenceHdf5 quiet;
    SimulationFileWriter w(dir / "empty.h5", h);
    w.close();
  }
  const SimulationFileReader r(dir / "empty.h5");
  EXPECT_TRUE(r.stakes(1).empty());
  EXPECT_TRUE(r.era_quantity(1, "gini").empty());
  EXPECT_TRUE(r.store_mm_corr().empty());
}

TEST(SimFile, QuantityIndex) {
  EXPECT_EQ(sim_quantity_index("models"), 0u);
  EXPECT_EQ(sim_quantity_index("mm_corr"), 6u);
  EXPECT_EQ(sim_quantity_index("mean_payout"), Q - 1);
  EXPECT_EQ(kSimEraQuantities[sim_quantity_index("effective_models")], "effective_models");
  EXPECT_EQ(sim_quantity_index("nope"), Q);
  EXPECT_EQ(sim_quantity_index(""), Q);
}

// Each refusal is one line that names the file.
TEST(SimFile, RefusesWhatIsNotASimulationFile) {
  testing::TempDir dir;
  auto refusal = [](const std::filesystem::path& p) -> std::string {
    try {
      SimulationFileReader r(p);
    } catch (const InputError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  const std::string missing = (dir / "none.h5").string();
  EXPECT_EQ(refusal(missing), missing + ": no such file");

  testing::write_file(dir / "text.h5", "not hdf5\n");
  EXPECT_EQ(
      refusal(dir / "text.h5"),
      (dir / "text.h5").string() + ": not an HDF5 file (expected a backscore simulation file)");

  // A scores file: another format.
  {
    h5::SilenceHdf5 quiet;
    ScoresFileWriter w(dir / "scores.h5", {"/s.h5", "t", "", {"A"}, {"e1"}, {"corr"}, {"d"}});
    w.close();
  }
  const std::string scores = refusal(dir / "scores.h5");
  EXPECT_EQ(scores.find((dir / "scores.h5").string() +
                        ": not a backscore simulation file (format attribute is not "
                        "'backscore-simulation'"),
            0u)
      << scores;

  // Another version, and a table missing.
  write_sample(dir / "v2.h5");
  write_sample(dir / "holes.h5");
  {
    h5::SilenceHdf5 quiet;
    h5::Hid f = h5::open_file((dir / "v2.h5").string(), true);
    ASSERT_GE(H5Adelete(f.get(), "version"), 0);
    h5::write_attribute(f.get(), "version", std::int64_t{2});
    h5::Hid g = h5::open_file((dir / "holes.h5").string(), true);
    ASSERT_GE(H5Ldelete(g.get(), "payouts/1", H5P_DEFAULT), 0);
  }
  EXPECT_EQ(refusal(dir / "v2.h5"), (dir / "v2.h5").string() +
                                        ": unsupported simulation file version (this backscore "
                                        "reads version 1; re-run `backscore simulate`)");
  EXPECT_EQ(refusal(dir / "holes.h5"),
            (dir / "holes.h5").string() + ": missing dataset /payouts/1");
  for (const std::string& what : {missing, scores}) {
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace backscore
