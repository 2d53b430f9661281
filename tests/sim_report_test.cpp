// `backscore report --simulation`: the Newey-West interval against numpy, the page's plots (one
// line per rule, burn eras shaded) and comparison table, the page with a scores file and the
// simulation together, and the command line's refusals (exit 2, one line, no file).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "host/report/newey_west.hpp"
#include "host/report/simulation_report.hpp"
#include "io/hdf5.hpp"
#include "io/sim_file.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

// The expected numbers below were computed with python3 and numpy 2.4 by the formula of
// newey_west.hpp:
//   x = x[np.isfinite(x)]; n = len(x); L = min(floor(4 * (n / 100) ** (2 / 9)), n - 1)
//   u = x - x.mean(); g = [np.dot(u[j:], u[:n - j]) / n for j in range(L + 1)]
//   S = g[0] + 2 * sum((1 - j / (L + 1)) * g[j] for j in range(1, L + 1))
//   se = sqrt(S / n); lo, hi = mean -/+ 1.959963984540054 * se
TEST(NeweyWest, MeanAndIntervalAsNumpy) {
  const std::vector<double> x = {0.012, -0.004, 0.021,  0.008, -0.015, 0.003,
                                 0.017, 0.009,  -0.002, 0.011, 0.006,  -0.008};
  const NeweyWestMean m = newey_west_mean(x);
  EXPECT_EQ(m.n, 12u);
  EXPECT_EQ(m.lag, 2u);  // floor(4 * 0.12^(2/9)) = floor(2.50)
  EXPECT_NEAR(m.mean, 0.004833333333333334, 1e-17);
  EXPECT_NEAR(m.se, 0.0018329825702610096, 1e-16);
  EXPECT_NEAR(m.lo, 0.0012407535113320958, 1e-16);
  EXPECT_NEAR(m.hi, 0.008425913155334572, 1e-16);

  // NaN eras are left out, the rest kept in order: the same numbers.
  std::vector<double> gaps = x;
  gaps.insert(gaps.begin() + 3, NAN);
  gaps.push_back(NAN);
  const NeweyWestMean g = newey_west_mean(gaps);
  EXPECT_EQ(g.n, 12u);
  EXPECT_EQ(g.lag, 2u);
  EXPECT_DOUBLE_EQ(g.se, m.se);

  // A constant series has no spread; one value has no interval.
  const NeweyWestMean c = newey_west_mean(std::vector<double>{0.5, 0.5, 0.5});
  EXPECT_EQ(c.se, 0.0);
  EXPECT_EQ(c.lo, 0.5);
  const NeweyWestMean one = newey_west_mean(std::vector<double>{0.5, NAN});
  EXPECT_EQ(one.n, 1u);
  EXPECT_TRUE(std::isnan(one.lo));
}

TEST(NeweyWest, AutomaticLag) {
  EXPECT_EQ(newey_west_lag(0), 0u);
  EXPECT_EQ(newey_west_lag(1), 0u);
  EXPECT_EQ(newey_west_lag(2), 1u);  // floor(1.68), at most n - 1
  EXPECT_EQ(newey_west_lag(4), 1u);
  EXPECT_EQ(newey_west_lag(8), 2u);
  EXPECT_EQ(newey_west_lag(100), 4u);
  EXPECT_EQ(newey_west_lag(500), 5u);
  EXPECT_EQ(newey_west_lag(1000), 6u);
}

const std::vector<std::string> kRules = {"as_paid", "burnflip", "small"};
constexpr std::size_t kEras = 8;

// Three rules over 8 eras: rule 1 beats rule 0 by 0.00625 a era on average, rule 2 is rule 0
// plus a little with era 3 missing. The store's meta-model burns in eras 1, 3 and 6 (or, when
// `store_mm` is false, the store has none: the first rule's mm_corr burns in eras 1 and 6).
void write_simulation(const std::filesystem::path& path, bool store_mm) {
  const std::vector<double> r0 = {0.02, -0.01, 0.03, 0.01, 0.00, 0.02, -0.02, 0.01};
  const std::vector<double> r1 = {0.025, -0.005, 0.028, 0.018, 0.004, 0.03, -0.01, 0.02};
  const std::vector<double> delta = {0.001, 0.002, -0.001, NAN, 0.003, 0.001, 0.002, 0.001};
  const std::vector<double> store = {0.01, -0.02, 0.02, -0.01, 0.01, 0.01, -0.03, 0.02};
  SimulationHeader h{
      "/abs/store.h5", "target", "none", 1, kRules, {"corr", "corr + mmc2_burnflip", "corr + 0.01"},
      {"m0", "m1"},    {}};
  for (std::size_t j = 0; j < kEras; ++j) h.eras.push_back("era" + std::to_string(j + 1));
  h5::SilenceHdf5 quiet;
  SimulationFileWriter w(path, h);
  const std::size_t Q = kSimQuantityCount;
  for (std::size_t j = 0; j < kEras; ++j) {
    std::vector<double> q(3 * Q, 1.0);
    const double mm[3] = {r0[j], r1[j], r0[j] + delta[j]};
    for (std::size_t r = 0; r < 3; ++r) {
      const double rd = static_cast<double>(r);
      q[r * Q + sim_quantity_index("mm_corr")] = mm[r];
      q[r * Q + sim_quantity_index("total_stake")] = 1000.0 + 10.0 * rd + static_cast<double>(j);
      q[r * Q + sim_quantity_index("effective_models")] = 1.5 + 0.1 * rd;
      q[r * Q + sim_quantity_index("gini")] = 0.2 + 0.01 * static_cast<double>(j);
    }
    w.write_era(j, std::vector<std::int32_t>{0, 1}, std::vector<double>(6, 500.0),
                std::vector<double>(6, 0.01), q, store_mm ? store[j] : NAN);
  }
  w.close();
}

// The <svg id="ID"> element of the page, "" when missing.
std::string svg_of(const std::string& page, const std::string& id) {
  const std::size_t at = page.find("<svg id=\"" + id + "\"");
  if (at == std::string::npos) return "";
  return page.substr(at, page.find("</svg>", at) - at);
}

std::size_t count(const std::string& s, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

TEST(SimulationReport, PageHasEachRuleInEachPlotAndTheComparison) {
  testing::TempDir dir;
  write_simulation(dir / "sim.h5", true);
  const std::string out = (dir / "sim.html").string();
  const auto r =
      testing::run_backscore({"report", "--simulation", (dir / "sim.h5").string(), "--out", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("simulation of 3 rules over 8 eras, 4 plots"), std::string::npos) << r.out;
  const std::string page = testing::read_file(out);
  // Self-contained.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(count(page, "http://"), count(page, "http://www.w3.org/2000/svg"));
  for (const char* id :
       {"simulation", "sim-rules", "sim-comparison", "sim-rule-summary", "sim-plots"}) {
    EXPECT_NE(page.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  }
  EXPECT_EQ(count(page, "<svg"), simulation_plot_ids().size());
  for (const std::string& id : simulation_plot_ids()) {
    const std::string svg = svg_of(page, id);
    ASSERT_FALSE(svg.empty()) << id;
    EXPECT_EQ(count(svg, "<polyline"), kRules.size()) << id;  // one line per rule
    for (const std::string& rule : kRules)
      EXPECT_NE(svg.find(">" + rule + "</text>"), std::string::npos);
    EXPECT_EQ(count(svg, "class=\"burn\""), 3u) << id;  // eras 1, 3 and 6: three runs
  }
  EXPECT_NE(page.find("3 burn eras (the store's meta-model's numerai_corr &lt; 0)"),
            std::string::npos);

  // The comparison: numpy's numbers (see MeanAndIntervalAsNumpy) for b - a over all 8 eras and
  // over the last 4; era 3 has no value for `small`.
  EXPECT_NE(page.find("<tr><td>as_paid</td><td>burnflip</td><td>8</td><td>+0.00625</td>"
                      "<td>[+0.00310, +0.00940]</td><td>2</td><td>burnflip</td><td>4</td>"
                      "<td>+0.00850</td><td>[+0.00606, +0.01094]</td><td>1</td>"
                      "<td>burnflip</td></tr>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<tr><td>as_paid</td><td>small</td><td>7</td><td>+0.00129</td>"
                      "<td>[+0.00079, +0.00178]</td><td>2</td><td>small</td><td>4</td>"
                      "<td>+0.00175</td><td>[+0.00116, +0.00234]</td><td>1</td><td>small</td>"
                      "</tr>"),
            std::string::npos);
  EXPECT_NE(page.find("<tr><td>burnflip</td><td>small</td><td>7</td><td>-0.00471</td>"
                      "<td>[-0.00816, -0.00127]</td><td>2</td><td>burnflip</td><td>4</td>"
                      "<td>-0.00675</td><td>[-0.00975, -0.00375]</td><td>1</td>"
                      "<td>burnflip</td></tr>"),
            std::string::npos);
  // Per rule: mean mm_corr, its second half, mean effective_models, mean gini, final stake and
  // the sum of `paid` (written as 1.0 every era).
  EXPECT_NE(page.find("<tr><td>as_paid</td><td>0.00750</td><td>0.00250</td><td>1.50</td>"
                      "<td>0.2350</td><td>1007.00</td><td>8.00</td></tr>"),
            std::string::npos);
  EXPECT_NE(page.find("<tr><td>burnflip</td><td>0.01375</td><td>0.01100</td><td>1.60</td>"),
            std::string::npos);

  // The same input gives the same bytes.
  const std::string again = (dir / "again.html").string();
  ASSERT_EQ(
      testing::run_backscore({"report", "--simulation", (dir / "sim.h5").string(), "--out", again})
          .status,
      0);
  EXPECT_EQ(testing::read_file(again), page);
}

// Without the store's meta-model, burn eras come from the first rule's, and the caption says so.
TEST(SimulationReport, BurnErasFromTheFirstRuleWithoutAStoreMetaModel) {
  testing::TempDir dir;
  write_simulation(dir / "sim.h5", false);
  const std::string out = (dir / "sim.html").string();
  const auto r =
      testing::run_backscore({"report", "--simulation", (dir / "sim.h5").string(), "--out", out});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = testing::read_file(out);
  EXPECT_NE(page.find("the store has no meta-model, so burn eras are those where the first "
                      "rule's (as_paid) simulated meta-model has mm_corr &lt; 0"),
            std::string::npos);
  EXPECT_EQ(count(svg_of(page, "sim-cum-mm-corr"), "class=\"burn\""), 2u);  // eras 1 and 6
}

class SimulationReportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir;
    write_simulation(*dir_ / "sim.h5", true);
    const auto synth = testing::run_backscore({"synth", "--models", "20", "--eras", "8", "--stocks",
                                               "200", "--burn-fraction", "0.3", "--seed", "5",
                                               "--out", (*dir_ / "hist.h5").string(), "--quiet"});
    ASSERT_EQ(synth.status, 0) << synth.err;
    const auto run = testing::run_backscore({"run", (*dir_ / "hist.h5").string(), "--formulas",
                                             "corr_v1,corr,mmc,mmc2", "--out",
                                             (*dir_ / "scores.h5").string(), "--quiet"});
    ASSERT_EQ(run.status, 0) << run.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static testing::TempDir* dir_;
};
testing::TempDir* SimulationReportCli::dir_ = nullptr;

// A scores file with --store and a simulation: one page with both, the summary linking to it.
TEST_F(SimulationReportCli, ScoresAndSimulationOnOnePage) {
  const std::string out = (*dir_ / "both.html").string();
  const auto r = testing::run_backscore({"report", (*dir_ / "scores.h5").string(), "--store",
                                         (*dir_ / "hist.h5").string(), "--simulation",
                                         (*dir_ / "sim.h5").string(), "--out", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("4 formulas and the simulation"), std::string::npos) << r.out;
  const std::string page = testing::read_file(out);
  const std::size_t summary = page.find("<h2 id=\"summary\">");
  const std::size_t simulation = page.find("<h2 id=\"simulation\">");
  ASSERT_NE(summary, std::string::npos);
  ASSERT_NE(simulation, std::string::npos);
  EXPECT_LT(page.find("<h2 id=\"agreement\">"), simulation);
  EXPECT_NE(page.substr(summary, page.find("<h2 id=\"audit\">") - summary)
                .find("<a href=\"#simulation\">"),
            std::string::npos);
  for (const std::string& id : simulation_plot_ids()) EXPECT_FALSE(svg_of(page, id).empty()) << id;
  EXPECT_NE(page.find("<svg id=\"cum-mmc\""), std::string::npos);
}

TEST_F(SimulationReportCli, RefusalsExitTwoWithOneLineAndNoFile) {
  const std::string out = (*dir_ / "bad.html").string();
  const std::string scores = (*dir_ / "scores.h5").string(), store = (*dir_ / "hist.h5").string();
  const std::string sim = (*dir_ / "sim.h5").string();
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--out", out}, "report needs a scores file with --store, or --simulation SIM.h5"},
      {{scores, "--out", out}, "--store is required with a scores file"},
      {{"--store", store, "--simulation", sim, "--out", out},
       "--store is used only with a scores file"},
      {{"--simulation", (*dir_ / "none.h5").string(), "--out", out},
       (*dir_ / "none.h5").string() + ": no such file"},
      {{"--simulation", scores, "--out", out},
       scores + ": not a backscore simulation file (format attribute is not "
                "'backscore-simulation'"},
      {{"--simulation", sim, "--out", sim}, "--simulation"},
      {{"--simulation", sim, "--payout", "classic-2020", "--out", out},
       "--payout is used only with a scores file"},
      {{"--simulation", sim, "--formulas", "mmc", "--out", out},
       "--formulas is used only with a scores file"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"report"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    const auto r = testing::run_backscore(args);
    EXPECT_EQ(r.status, 2) << c.says << "\n" << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.says;
  }
  EXPECT_TRUE(std::filesystem::exists(sim));  // the refused --out did not replace it
}

}  // namespace
}  // namespace backscore
