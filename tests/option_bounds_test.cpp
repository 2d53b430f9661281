// Issue 13, never crash: every numeric option of every command is bounded, and a value outside
// its bounds is refused while the command line is parsed, with one clean line and exit 2 (it
// once crashed libgomp with --threads 1000000, and printed CLI11's ranges to 17 digits).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace backscore {
namespace {

using testing::run_backscore;
using testing::TempDir;

struct Bad {
  std::vector<std::string> args;
  std::string says;  // the whole line after "backscore: error: ", or its start
};

void expect_refused(const std::vector<Bad>& cases, const std::filesystem::path& out) {
  for (const Bad& c : cases) {
    const auto r = run_backscore(c.args);
    std::string shown;
    for (const auto& a : c.args) shown += a + " ";
    EXPECT_EQ(r.status, 2) << shown << "\n" << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << shown << "\n" << r.err;
    EXPECT_EQ(r.err.rfind("backscore: error: " + c.says, 0), 0u) << shown << "\n" << r.err;
    // No range printed as CLI11 does ("0.000000 to 179769313486231570814527...").
    EXPECT_EQ(r.err.find(".000000"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("179769"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("not in range"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << shown;
  }
}

TEST(OptionBounds, RunRefusesThreadCountsThatCrashedLibgomp) {
  TempDir dir;
  const std::string out = (dir / "o.csv").string();
  std::vector<Bad> cases;
  for (const char* threads : {"1000000", "100000", "99999999999999999999999"}) {
    cases.push_back({{"run", "s.h5", "--threads", threads, "--csv", out},
                     std::string("--threads: ") + threads + " is too large: at most "});
  }
  cases.push_back(
      {{"run", "s.h5", "--threads", "-1", "--csv", out}, "--threads: -1 is too small: at least 0"});
  cases.push_back({{"run", "s.h5", "--threads", "eight", "--csv", out},
                   "--threads: 'eight' is not a whole number"});
  expect_refused(cases, dir / "o.csv");
}

TEST(OptionBounds, RunRefusesOtherNumbersOutOfRange) {
  TempDir dir;
  const std::string out = (dir / "o.csv").string();
  auto run = [&](const char* option, const char* value) {
    return std::vector<std::string>{"run", "s.h5", option, value, "--csv", out};
  };
  expect_refused(
      {
          {run("--batch", "0"), "--batch: 0 is too small: at least 1"},
          {run("--batch", "-3"), "--batch: -3 is too small: at least 1"},
          {run("--batch", "1048577"), "--batch: 1048577 is too large: at most 1048576"},
          {run("--gpu-memory", "17592186044416"),
           "--gpu-memory: 17592186044416 is too large: at most 16777216 (16 TiB)"},
          {run("--gpu-streams", "0"), "--gpu-streams: 0 is too small: at least 1"},
          {run("--gpu-streams", "9"), "--gpu-streams: 9 is too large: at most 8"},
          {run("--prefetch-eras", "65"), "--prefetch-eras: 65 is too large: at most 64"},
          {run("--device", "-1"), "--device: -1 is too small: at least 0"},
          {run("--top-bottom", "-1"), "--top-bottom: -1 is too small: at least 0"},
          {run("--top-bottom", "10000001"),
           "--top-bottom: 10000001 is too large: at most 10000000"},
      },
      dir / "o.csv");
}

TEST(OptionBounds, SynthRefusesSizesItCannotMake) {
  TempDir dir;
  const std::string out = (dir / "x.h5").string();
  auto synth = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"synth", "--out", out, "--quiet"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };
  expect_refused(
      {
          {synth({"--models", "0"}), "--models: 0 is too small: at least 1"},
          {synth({"--eras", "0"}), "--eras: 0 is too small: at least 1"},
          {synth({"--models", "20000000"}), "--models: 20000000 is too large: at most 10000000"},
          {synth({"--stocks", "5"}), "--stocks: 5 is too small: at least 10"},
          {synth({"--features", "-1"}), "--features: -1 is too small: at least 0"},
          {synth({"--burn-fraction", "2"}), "--burn-fraction: 2 is out of range: from 0 to 1"},
          {synth({"--missing-ids", "nan"}), "--missing-ids: nan is out of range: from 0 to 0.2"},
          {synth({"--seed", "-1"}), "--seed: -1 is too small: at least 0"},
          // Within each bound, but one era would need far more memory than any machine has.
          {synth({"--models", "10000000", "--stocks", "10000000"}),
           "synth: --models 10000000 x --stocks 10000000 x --features 0 needs about "},
          // The stock pool of the whole history would overflow 32-bit indices.
          {synth({"--models", "1", "--stocks", "10000000", "--eras", "1000000"}),
           "synth: --stocks 10000000 over --eras 1000000 draws more than 2^32 stock ids"},
      },
      dir / "x.h5");
}

TEST(OptionBounds, ReadingCommandsRefuseOutOfRangeNumbers) {
  TempDir dir;
  expect_refused(
      {
          {{"inspect", "s.h5", "--batch", "0"}, "--batch: 0 is too small: at least 1"},
          {{"audit", "sc.h5", "--store", "s.h5", "--formula", "mmc", "--worst", "-1"},
           "--worst: -1 is too small: at least 0"},
          {{"audit", "sc.h5", "--store", "s.h5", "--formula", "mmc", "--batch", "0"},
           "--batch: 0 is too small: at least 1"},
          {{"compare", "sc.h5", "--baseline", "corr", "--candidate", "mmc", "--top", "0"},
           "--top: 0 is too small: at least 1"},
          {{"report", "sc.h5", "--store", "s.h5", "--out", (dir / "r.html").string(), "--worst",
            "1000001"},
           "--worst: 1000001 is too large: at most 1000000"},
      },
      dir / "r.html");
}

// The bounds leave every sensible value alone: the most threads allowed runs.
TEST(OptionBounds, RunAcceptsTheMostThreadsAllowed) {
  TempDir dir;
  const auto synth = run_backscore({"synth", "--models", "10", "--eras", "2", "--stocks", "50",
                                    "--out", (dir / "s.h5").string(), "--quiet"});
  ASSERT_EQ(synth.status, 0) << synth.err;
  const auto r = run_backscore({"run", (dir / "s.h5").string(), "--formulas", "corr", "--threads",
                                "64", "--csv", (dir / "o.csv").string(), "--quiet"});
  EXPECT_EQ(r.status, 0) << r.err;
}

}  // namespace
}  // namespace backscore
