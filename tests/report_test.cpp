// `backscore report`: the page renders in a real headless browser (Debian's chromium) with every
// plot present, is self-contained and byte-identical for the same input, agrees with `compare`,
// and bad input exits 2 with one line and no file.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "host/report/report.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::TempDir;

// The chromium executable on PATH, "" when there is none.
std::string find_chromium() {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    for (const char* name : {"chromium", "chromium-browser"}) {
      const std::filesystem::path p = std::filesystem::path(dirs.substr(start, end - start)) / name;
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
    start = end + 1;
  }
  return "";
}

class ReportHistory : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto synth = testing::run_backscore(
        {"synth", "--models", "80", "--eras", "24", "--stocks", "500", "--burn-fraction", "0.3",
         "--seed", "11", "--out", (*dir_ / "hist.h5").string(), "--quiet"});
    ASSERT_EQ(synth.status, 0) << synth.err;
    const auto run = testing::run_backscore({"run", (*dir_ / "hist.h5").string(), "--formulas",
                                             "corr_v1,corr,mmc,mmc2,mmc2_burnflip", "--out",
                                             (*dir_ / "scores.h5").string(), "--quiet"});
    ASSERT_EQ(run.status, 0) << run.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static testing::CommandResult report(const std::string& out,
                                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"report",  (*dir_ / "scores.h5").string(),
                                     "--store", (*dir_ / "hist.h5").string(),
                                     "--out",   out};
    args.insert(args.end(), extra.begin(), extra.end());
    return testing::run_backscore(args);
  }
  static TempDir* dir_;
};
TempDir* ReportHistory::dir_ = nullptr;

TEST_F(ReportHistory, RendersInHeadlessChromiumWithEveryPlot) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium is not installed (Debian: apt-get install chromium; "
                    "scripts/install-deps.sh installs it)";
  }
  const std::string html = (*dir_ / "report.html").string();
  const auto r = report(html);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string page = testing::read_file(html);

  // Self-contained: nothing is fetched and nothing runs.
  EXPECT_EQ(page.find("<script"), std::string::npos);
  EXPECT_EQ(page.find("http://"), page.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<link"), std::string::npos);
  EXPECT_EQ(page.find("<img"), std::string::npos);

  // The DOM chromium builds from the page (its parser, not ours), and a screenshot of it.
  const std::string dom = (*dir_ / "dom.html").string(), png = (*dir_ / "shot.png").string();
  const std::string flags = " --headless --disable-gpu --no-sandbox --no-first-run ";
  ASSERT_EQ(
      std::system(
          (chromium + flags + "--dump-dom file://" + html + " > " + dom + " 2> /dev/null").c_str()),
      0);
  const std::string tree = testing::read_file(dom);
  ASSERT_NE(tree.find("<h1>backscore report</h1>"), std::string::npos) << tree.substr(0, 500);
  const std::vector<std::string> formulas = {"corr_v1", "corr", "mmc", "mmc2", "mmc2_burnflip"};
  const std::vector<std::string> ids = report_plot_ids(formulas, true);
  EXPECT_EQ(ids.size(), 3 * formulas.size() + 3);
  std::size_t svgs = 0;
  for (std::size_t at = tree.find("<svg"); at != std::string::npos;
       at = tree.find("<svg", at + 1)) {
    ++svgs;
  }
  EXPECT_EQ(svgs, ids.size());
  for (const std::string& id : ids) {
    const std::size_t at = tree.find("<svg id=\"" + id + "\"");
    ASSERT_NE(at, std::string::npos) << "plot " << id << " missing from the rendered DOM";
    // Each plot was parsed as SVG with drawn content, not as unknown text.
    const std::size_t end = tree.find("</svg>", at);
    ASSERT_NE(end, std::string::npos) << id;
    const std::string svg = tree.substr(at, end - at);
    EXPECT_TRUE(svg.find("<polyline") != std::string::npos ||
                svg.find("<rect") != std::string::npos || svg.find("<circle") != std::string::npos)
        << id;
  }
  ASSERT_EQ(std::system((chromium + flags + "--window-size=1200,3000 --screenshot=" + png +
                         " file://" + html + " > /dev/null 2>&1")
                            .c_str()),
            0);
  const std::string shot = testing::read_file(png);
  ASSERT_GT(shot.size(), 10000u);
  EXPECT_EQ(shot.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
}

TEST_F(ReportHistory, SameInputSameBytesAndAgreesWithCompare) {
  const std::string a = (*dir_ / "a.html").string(), b = (*dir_ / "b.html").string();
  ASSERT_EQ(report(a, {"--formulas", "mmc,mmc2,mmc2_burnflip"}).status, 0);
  ASSERT_EQ(report(b, {"--formulas", "mmc,mmc2,mmc2_burnflip"}).status, 0);
  const std::string page = testing::read_file(a);
  EXPECT_EQ(page, testing::read_file(b));
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
  // The formula-to-formula table and the payout totals are compare's numbers.
  const auto c =
      testing::run_backscore({"compare", (*dir_ / "scores.h5").string(), "--baseline", "mmc",
                              "--candidate", "mmc2", "--store", (*dir_ / "hist.h5").string()});
  ASSERT_EQ(c.status, 0) << c.err;
  const std::string key = "overall Spearman over ";
  const std::size_t at = c.out.find(key);
  ASSERT_NE(at, std::string::npos) << c.out;
  const std::string pairs =
      c.out.substr(at + key.size(), c.out.find(' ', at + key.size()) - at - key.size());
  const std::size_t rho_at = c.out.find(": ", at) + 2;
  const std::string rho = c.out.substr(rho_at, c.out.find('\n', rho_at) - rho_at);
  EXPECT_NE(page.find("<tr><td>mmc</td><td>mmc2</td><td>"), std::string::npos);
  EXPECT_NE(page.find("<td>" + rho + "</td><td>" + pairs + "</td></tr>"), std::string::npos)
      << rho << " " << pairs;
  // TOTAL row of compare: model,staked_eras,baseline,candidate,...
  const std::size_t total = c.out.find("\nTOTAL");
  ASSERT_NE(total, std::string::npos);
  std::vector<std::string> cells;
  std::string line = c.out.substr(total + 1, c.out.find('\n', total + 1) - total - 1), cell;
  for (char ch : line + " ") {
    if (ch == ' ') {
      if (!cell.empty()) cells.push_back(cell);
      cell.clear();
    } else {
      cell += ch;
    }
  }
  ASSERT_GE(cells.size(), 4u) << line;
  EXPECT_NE(
      page.find("<tr><td>mmc (as paid)</td><td>" + cells[1] + "</td><td>" + cells[2] + "</td>"),
      std::string::npos)
      << line;
  EXPECT_NE(page.find("<tr><td>mmc2</td><td>" + cells[1] + "</td><td>" + cells[3] + "</td>"),
            std::string::npos)
      << line;
}

// Scores that differ only in their last bits (three values 1 ulp apart) once made the tick loop
// spin forever (v += step left v unchanged); the page must simply be drawn.
TEST_F(ReportHistory, ScoresAFewUlpsApartAreDrawn) {
  const auto run = testing::run_backscore(
      {"run", (*dir_ / "hist.h5").string(), "--formulas", "corr_v1,corr,mmc,tiny", "--formula",
       "tiny = 1 + corr * 1e-15", "--out", (*dir_ / "tiny.h5").string(), "--quiet"});
  ASSERT_EQ(run.status, 0) << run.err;
  const std::string out = (*dir_ / "tiny.html").string();
  const auto r = testing::run_backscore({"report", (*dir_ / "tiny.h5").string(), "--store",
                                         (*dir_ / "hist.h5").string(), "--out", out, "--formulas",
                                         "tiny,corr", "--payout", "none"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(std::filesystem::exists(out));
}

TEST_F(ReportHistory, BadInputExitsTwoWithOneLineAndNoFile) {
  const std::string out = (*dir_ / "bad.html").string();
  const std::string scores = (*dir_ / "scores.h5").string();
  struct Case {
    std::vector<std::string> extra;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"--formulas", "mmc,nope"}, "--formulas: " + scores + " has no formula 'nope'"},
      {{"--payout", "clip(corr +, 1, 2)"},
       "payout rule 'clip(corr +, 1, 2)': column 12: unexpected ','"},
      {{"--payout", "corr + fnc"}, "--payout: the rule 'corr + fnc' uses 'fnc'"},
      {{"--baseline", "mmc2"}, "--baseline: the payout rule"},
      {{"--models", "model0001,nobody"}, "--models: " + scores + " has no model 'nobody'"},
      {{"--corr-formula", "mmc"}, "--corr-formula: 'mmc' is not corr_v1 or corr"},
  };
  for (const Case& c : cases) {
    const auto r = report(out, c.extra);
    EXPECT_EQ(r.status, 2) << c.says << "\n" << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out)) << c.says;
  }
  const auto missing = testing::run_backscore({"report", (*dir_ / "none.h5").string(), "--store",
                                               (*dir_ / "hist.h5").string(), "--out", out});
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err, "backscore: error: " + (*dir_ / "none.h5").string() + ": no such file\n");
  EXPECT_FALSE(std::filesystem::exists(out));
  for (const auto& entry : std::filesystem::directory_iterator(dir_->path())) {
    EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

}  // namespace
}  // namespace backscore
