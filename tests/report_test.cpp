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

// The cells of compare's TOTAL row (model,staked_eras,baseline,candidate,...), split at blanks;
// out must hold the row.
std::vector<std::string> total_row_cells(const std::string& out) {
  std::vector<std::string> cells;
  const std::size_t total = out.find("\nTOTAL");
  std::string cell;
  for (char ch : out.substr(total + 1, out.find('\n', total + 1) - total - 1) + " ") {
    if (ch == ' ') {
      if (!cell.empty()) cells.push_back(cell);
      cell.clear();
    } else {
      cell += ch;
    }
  }
  return cells;
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
  ASSERT_NE(c.out.find("\nTOTAL"), std::string::npos);
  const std::vector<std::string> cells = total_row_cells(c.out);
  ASSERT_GE(cells.size(), 4u) << c.out;
  EXPECT_NE(
      page.find("<tr><td>mmc (as paid)</td><td>" + cells[1] + "</td><td>" + cells[2] + "</td>"),
      std::string::npos)
      << c.out;
  EXPECT_NE(page.find("<tr><td>mmc2</td><td>" + cells[1] + "</td><td>" + cells[3] + "</td>"),
            std::string::npos)
      << c.out;
}

// The page opens with the one-screen summary: each formula's burn-era verdict with its slope and
// interval (the audit's numbers), the candidate's payout against the baseline's (compare's
// totals), the biggest movers (compare's), and links to the sections below it.
TEST_F(ReportHistory, OpensWithTheSummary) {
  const std::string html = (*dir_ / "summary.html").string();
  ASSERT_EQ(report(html, {"--candidate", "mmc2_burnflip"}).status, 0);
  const std::string page = testing::read_file(html);
  const std::size_t summary = page.find("<h2 id=\"summary\">Summary</h2>");
  const std::size_t audit = page.find("<h2 id=\"audit\">");
  ASSERT_NE(summary, std::string::npos);
  ASSERT_NE(audit, std::string::npos);
  EXPECT_LT(summary, page.find("<svg"));  // before every plot
  EXPECT_LT(summary, audit);
  const std::string head = page.substr(summary, audit - summary);
  for (const char* id :
       {"audit", "payouts", "diagnostics", "cumulative", "scatter", "distributions", "agreement"}) {
    EXPECT_NE(head.find(std::string("<a href=\"#") + id + "\">"), std::string::npos) << id;
    EXPECT_NE(page.find(std::string("<h2 id=\"") + id + "\">"), std::string::npos) << id;
  }
  // The verdicts: the audit's burn-era slope and interval of each formula.
  const auto a = testing::run_backscore({"audit", (*dir_ / "scores.h5").string(), "--store",
                                         (*dir_ / "hist.h5").string(), "--formula",
                                         "corr_v1,corr,mmc,mmc2,mmc2_burnflip", "--worst", "0"});
  ASSERT_EQ(a.status, 0) << a.err;
  for (const char* f : {"mmc2", "mmc2_burnflip"}) {
    const std::size_t at = a.out.find(std::string("\n") + f + " ", a.out.find("\nsummary"));
    ASSERT_NE(at, std::string::npos) << a.out;
    std::vector<std::string> cells;
    std::string cell;
    for (char ch : a.out.substr(at + 1, a.out.find('\n', at + 1) - at - 1) + " ") {
      if (ch != ' ') {
        cell += ch;
      } else if (!cell.empty()) {
        cells.push_back(cell);
        cell.clear();
      }
    }
    ASSERT_GE(cells.size(), 12u);
    auto sign = [](const std::string& v) { return v[0] == '-' ? v : "+" + v; };
    // formula, observed, burn_eras, a_pairs, a_violations, a_rate, b_pairs, b_violations, b_rate,
    // burn_slope, burn_lo, burn_hi, ...
    EXPECT_NE(head.find("<tr><td>" + std::string(f) + "</td><td>" + sign(cells[9]) + "</td><td>[" +
                        sign(cells[10]) + ", " + sign(cells[11]) + "]</td><td>"),
              std::string::npos)
        << f << "\n"
        << head;
  }
  EXPECT_NE(head.find("<td>mmc2</td><td>+"), std::string::npos);
  EXPECT_NE(head.find("punishes originality in burn eras"), std::string::npos);
  // The payout headline: compare's totals for the candidate in place of the baseline.
  const auto c = testing::run_backscore({"compare", (*dir_ / "scores.h5").string(), "--baseline",
                                         "mmc", "--candidate", "mmc2_burnflip", "--store",
                                         (*dir_ / "hist.h5").string(), "--top", "5"});
  ASSERT_EQ(c.status, 0) << c.err;
  ASSERT_NE(c.out.find("\nTOTAL"), std::string::npos);
  const std::vector<std::string> cells = total_row_cells(c.out);
  ASSERT_GE(cells.size(), 4u) << c.out;
  EXPECT_NE(
      head.find("paying <b>mmc2_burnflip</b> in place of <b>mmc</b> moves the total payout "
                "over " +
                cells[1] + " staked model-eras from " + cells[2] + " to " + cells[3] + " NMR"),
      std::string::npos)
      << head;
  EXPECT_NE(head.find("(pf = min(1, 72000 / the era's total stake at risk))"), std::string::npos);
  // The biggest movers: compare's first mover up, in the summary's table.
  const std::size_t up = c.out.find("biggest movers up");
  const std::size_t first = c.out.find('\n', c.out.find('\n', up) + 1) + 1;
  const std::string mover = c.out.substr(first, c.out.find(' ', first) - first);
  EXPECT_NE(head.find("<tr><td>" + mover + "</td>"), std::string::npos) << mover;

  // The 10 pairs of 5 formulas fold below the heatmap; the diagnostics have their columns.
  const std::size_t matrix = page.find("<svg id=\"corr-matrix\"");
  const std::size_t pairs =
      page.find("<details><summary>Every pair of formulas (10 rows)</summary>");
  ASSERT_NE(pairs, std::string::npos);
  EXPECT_LT(matrix, pairs);
  const std::size_t diag = page.find("<h2 id=\"diagnostics\">");
  for (const char* col : {"<th>smart_sharpe</th>", "<th>autocorr</th>", "<th>calmar</th>",
                          "<th>apy</th>", "<th>max_feature_exposure</th>", "<th>churn</th>"}) {
    EXPECT_NE(page.find(col, diag), std::string::npos) << col;
  }
  // No max_feature_corr column in this scores file: "-"; churn from the store: a number.
  EXPECT_NE(page.find("<tr><td>all models (median)</td><td>-</td><td>0.", diag), std::string::npos);

  // Without --candidate: the first formula shown that is not the baseline.
  const std::string other = (*dir_ / "default.html").string();
  ASSERT_EQ(report(other, {"--formulas", "mmc,mmc2"}).status, 0);
  EXPECT_NE(testing::read_file(other).find("paying <b>mmc2</b> in place of <b>mmc</b>"),
            std::string::npos);
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
      {{"--candidate", "nope"}, "--candidate: " + scores + " has no formula 'nope'"},
      {{"--payout", "classic-2026", "--payout-param", "cx=1"},
       "--payout-param: the payout preset 'classic-2026' has no parameter 'cx'"},
      {{"--payout-param", "cm"}, "--payout-param: 'cm' is not NAME=VALUE"},
      {{"--payout", "numerai2020", "--payout-threshold", "100"},
       "--payout-threshold: the payout rule 'clip(corr_v1 + mmc2, -0.25, 0.25)' does not use pf"},
      {{"--payout", "signals-2025"},
       "--payout: the rule 'clip(pf*(0.3*alpha + 0.8*mpc), -0.017, 0.017)' uses 'alpha'"},
      {{"--eras-per-year", "0"}, "--eras-per-year"},
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
