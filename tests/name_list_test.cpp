// The one parser of comma-separated name lists on the command line.
#include <gtest/gtest.h>

#include "io/name_list.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

TEST(NameList, SplitsTrimsAndRefusesEmptyNames) {
  using V = std::vector<std::string>;
  EXPECT_EQ(split_names("corr,mmc", "--formulas"), (V{"corr", "mmc"}));
  EXPECT_EQ(split_names(" corr , mmc\t", "--formulas"), (V{"corr", "mmc"}));
  EXPECT_EQ(split_names("one", "--models"), (V{"one"}));
  EXPECT_EQ(split_names("", "--models"), V{});
  EXPECT_EQ(split_names("  ", "--models"), V{});
  for (const char* bad : {"a,,b", "a,", ",a", "a, ,b"}) {
    try {
      split_names(bad, "--formulas");
      ADD_FAILURE() << bad;
    } catch (const InputError& e) {
      EXPECT_EQ(std::string(e.what()), std::string("--formulas: empty name in '") + bad + "'");
    }
  }
}

TEST(NameList, RunRefusesAnEmptyFormulaName) {
  testing::TempDir dir;
  auto s = testing::run_backscore({"synth", "--models", "3", "--eras", "1", "--stocks", "20",
                                   "--out", (dir / "h.h5").string(), "--quiet"});
  ASSERT_EQ(s.status, 0) << s.err;
  auto r = testing::run_backscore({"run", (dir / "h.h5").string(), "--formulas", "corr,,mmc"});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "backscore: error: --formulas: empty name in 'corr,,mmc'\n");
}

}  // namespace
}  // namespace backscore
