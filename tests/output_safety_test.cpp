// Issue 13, never lose the user's data: an output that is (or resolves through links or `..` to)
// one of the command's inputs or another of its outputs is refused before any work, with one line
// naming both, exit 2 and nothing changed; a run failing on bad input leaves no journal, one
// failing to write keeps it for --resume, and a damaged journal is scored again, never read as
// scores; stale temporaries of a killed run are removed by the next run of the same output.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/hdf5.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::read_file;
using testing::run_backscore;
using testing::TempDir;

// A small synthetic store and its scores file, made once for the suite.
class OutputSafety : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    const auto synth =
        run_backscore({"synth", "--models", "30", "--eras", "5", "--stocks", "200", "--features",
                       "3", "--seed", "5", "--out", store(), "--quiet"});
    ASSERT_EQ(synth.status, 0) << synth.err;
    const auto run =
        run_backscore({"run", store(), "--formulas", "corr,mmc", "--out", scores(), "--quiet"});
    ASSERT_EQ(run.status, 0) << run.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string store() { return (*dir_ / "s.h5").string(); }
  static std::string scores() { return (*dir_ / "sc.h5").string(); }
  static fs::path path(const std::string& name) { return *dir_ / name; }

  // `args` must be refused with one line holding every fragment, exit 2, leaving the store and
  // the scores file as they were and no new file in the directory.
  static void expect_refused(const std::vector<std::string>& args,
                             const std::vector<std::string>& fragments) {
    const std::string store_bytes = read_file(store()), scores_bytes = read_file(scores());
    std::vector<fs::path> before;
    for (const auto& e : fs::directory_iterator(dir_->path())) before.push_back(e.path());
    const auto r = run_backscore(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    for (const std::string& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << r.err;
    EXPECT_EQ(read_file(store()), store_bytes) << "the store changed";
    EXPECT_EQ(read_file(scores()), scores_bytes) << "the scores file changed";
    std::size_t after = 0;
    for (const auto& e : fs::directory_iterator(dir_->path())) {
      ++after;
      EXPECT_NE(std::find(before.begin(), before.end(), e.path()), before.end())
          << "new file " << e.path();
    }
    EXPECT_EQ(after, before.size());
  }

  static TempDir* dir_;
};

TempDir* OutputSafety::dir_ = nullptr;

TEST_F(OutputSafety, RunRefusesToWriteOverItsStore) {
  expect_refused({"run", store(), "--out", store(), "--quiet"},
                 {"--out " + store(), "the store " + store()});
  expect_refused({"run", store(), "--csv", store(), "--quiet"},
                 {"--csv " + store(), "the store " + store()});
}

// The same file under another name: a symbolic link, `..`, a hard link.
TEST_F(OutputSafety, RunRefusesTheStoreUnderAnotherName) {
  fs::create_directories(path("sub"));
  const fs::path link = path("link.h5"), hard = path("hard.h5");
  std::error_code ec;
  fs::remove(link, ec);
  fs::remove(hard, ec);
  fs::create_symlink(store(), link);
  fs::create_hard_link(store(), hard);
  for (const fs::path& alias : {link, path("sub") / ".." / "s.h5", hard}) {
    expect_refused({"run", store(), "--out", alias.string(), "--quiet"},
                   {"--out " + alias.string(), "is the same file as the store"});
  }
  fs::remove(link);
  fs::remove(hard);
  fs::remove(path("sub"));
}

// Two outputs on one path (or on the journal of the other) would scrap each other after the whole
// run: refused before it, with no X.partial left.
TEST_F(OutputSafety, RunRefusesTwoOutputsOnOnePath) {
  const std::string x = path("x.out").string();
  expect_refused({"run", store(), "--out", x, "--csv", x, "--quiet"},
                 {"--csv " + x, "--out " + x, "each output its own path"});
  expect_refused({"run", store(), "--out", x, "--csv", x + ".partial", "--quiet"},
                 {"--csv " + x + ".partial", "the journal of --out"});
  testing::write_file(path("models.txt"), "model001\n");
  expect_refused({"run", store(), "--models", path("models.txt").string(), "--csv",
                  path("models.txt").string(), "--quiet"},
                 {"--csv", "--models"});
  fs::remove(path("models.txt"));
}

TEST_F(OutputSafety, ReportRefusesToWriteOverItsInputs) {
  expect_refused({"report", scores(), "--store", store(), "--out", scores()},
                 {"--out " + scores(), "the scores file " + scores()});
  expect_refused({"report", scores(), "--store", store(), "--out", store()},
                 {"--out " + store(), "--store " + store()});
}

// compare and audit write fixed names into --out-dir: one of them may be the scores file.
TEST_F(OutputSafety, CompareAndAuditRefuseTablesOverTheirInputs) {
  const fs::path d = path("tables");
  fs::create_directories(d);
  fs::copy_file(scores(), d / "models.csv");
  fs::create_hard_link(scores(), d / "audit_summary.csv");
  const std::string copy = (d / "models.csv").string();
  expect_refused(
      {"compare", copy, "--baseline", "corr", "--candidate", "mmc", "--out-dir", d.string()},
      {"--out-dir " + copy, "the scores file " + copy});
  expect_refused(
      {"audit", scores(), "--store", store(), "--formula", "mmc", "--out-dir", d.string()},
      {"--out-dir " + (d / "audit_summary.csv").string(), "the scores file"});
  expect_refused({"audit", scores(), "--store", store(), "--formula", "mmc", "--out-dir", scores()},
                 {"--out-dir: " + scores() + " exists and is not a directory"});
  fs::remove_all(d);
}

// import reads its CSV files only after this check: they need not even be valid.
TEST_F(OutputSafety, ImportRefusesToWriteOverItsInputs) {
  const fs::path subs = path("subs");
  fs::create_directories(subs / "model_a");
  testing::write_file(path("u.csv"), "era,id,target\n");
  testing::write_file(path("p.csv"), "model,era,id,prediction\n");
  expect_refused({"import", "--universe", path("u.csv").string(), "--predictions",
                  path("p.csv").string(), "--out", path("p.csv").string()},
                 {"--out " + path("p.csv").string(), "--predictions " + path("p.csv").string()});
  expect_refused({"import", "--universe", path("u.csv").string(), "--predictions-dir",
                  subs.string(), "--out", (subs / "model_a" / "era1.csv").string()},
                 {"lies inside --predictions-dir " + subs.string()});
  fs::remove_all(subs);
  fs::remove(path("u.csv"));
  fs::remove(path("p.csv"));
}

// A store whose later era is bad: the run ends with exit 2 when it reaches that era, and since a
// --resume would stop there again, no journal is kept (and the message says so).
TEST_F(OutputSafety, BadLaterEraLeavesNoJournal) {
  struct Damage {
    const char* dataset;
    const char* says;
  };
  for (const Damage& d : {Damage{"meta_model", "not finite"}, Damage{"targets", "not finite"},
                          Damage{"ids", "duplicate id"}}) {
    TempDir dir;
    const fs::path bad = dir / "bad.h5";
    fs::copy_file(store(), bad);
    {
      h5::SilenceHdf5 quiet;
      h5::Hid f = h5::open_file(bad.string(), true);
      const std::string name = std::string("/eras/000003/") + d.dataset;
      if (std::string(d.dataset) == "ids") {
        std::vector<std::string> ids = h5::read_strings(f.get(), name);
        ids[2] = ids[1];
        H5Ldelete(f.get(), name.c_str(), H5P_DEFAULT);
        h5::write_strings(f.get(), name, ids);
      } else {
        h5::Hid ds = h5::open_dataset(f.get(), name);
        std::vector<double> v(
            h5::dataset_dims(ds.get(), name)[0] *
            (std::string(d.dataset) == "targets" ? h5::dataset_dims(ds.get(), name)[1] : 1));
        h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, v.data(), name);
        v[3] = std::string(d.dataset) == "targets" ? INFINITY : std::nan("");
        h5::write_all(ds.get(), H5T_NATIVE_DOUBLE, v.data(), name);
      }
    }
    const auto r = run_backscore({"run", bad.string(), "--formulas", "corr,mmc", "--out",
                                  (dir / "o.h5").string(), "--csv", (dir / "o.csv").string(),
                                  "--threads", "2", "--quiet"});
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find(d.says), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no journal kept"), std::string::npos) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 2u) << r.err;  // the run's first line, the error
    EXPECT_FALSE(fs::exists(dir / "o.h5.partial")) << d.dataset;
    EXPECT_FALSE(fs::exists(dir / "o.h5"));
    EXPECT_FALSE(fs::exists(dir / "o.csv"));
  }
}

// A pid no process has any more: a child that has exited and been reaped.
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

// A run killed while writing its outputs leaves OUT.tmp-PID: the next run of the same output
// removes those of dead processes, and leaves a running process's alone.
TEST_F(OutputSafety, StaleTemporariesOfADeadRunAreRemoved) {
  TempDir dir;
  const std::string dead = std::to_string(dead_pid()), alive = std::to_string(::getpid());
  const fs::path stale_csv = dir / ("o.csv.tmp-" + dead), stale_h5 = dir / ("o.h5.tmp-" + dead);
  const fs::path live = dir / ("o.csv.tmp-" + alive), other = dir / ("p.csv.tmp-" + dead);
  for (const fs::path& p : {stale_csv, stale_h5, live, other}) testing::write_file(p, "partial");
  const auto r =
      run_backscore({"run", store(), "--formulas", "corr", "--out", (dir / "o.h5").string(),
                     "--csv", (dir / "o.csv").string(), "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(stale_csv));
  EXPECT_FALSE(fs::exists(stale_h5));
  EXPECT_TRUE(fs::exists(live)) << "a running process's temporary file";
  EXPECT_TRUE(fs::exists(other)) << "another output's";
  EXPECT_TRUE(fs::exists(dir / "o.csv"));
}

// End to end: 16 bytes overwritten inside a journaled era's scores once resumed with exit 0 and
// silently different scores. Now that era and those after it are scored again: the same bytes as
// a clean run.
TEST(JournalRun, DamagedRecordIsRescoredOnResume) {
  TempDir dir;
  const auto synth = run_backscore({"synth", "--models", "30", "--eras", "6", "--stocks", "200",
                                    "--seed", "3", "--out", (dir / "s.h5").string(), "--quiet"});
  ASSERT_EQ(synth.status, 0) << synth.err;
  const std::vector<std::string> args = {
      "run",   (dir / "s.h5").string(),  "--formulas", "corr,mmc",
      "--csv", (dir / "o.csv").string(), "--quiet"};
  std::vector<std::string> ref = args;
  ref[5] = (dir / "ref.csv").string();
  ASSERT_EQ(run_backscore(ref).status, 0);
  const auto killed = testing::run_with_seams({"--kill-after-eras", "3"}, args);
  ASSERT_EQ(killed.status, 128 + SIGKILL) << killed.err;

  const fs::path journal = dir / "o.csv.partial";
  std::string bytes = read_file(journal);
  const std::vector<std::size_t> at = testing::journal_records(bytes, 2);
  ASSERT_EQ(at.size(), 4u);
  std::uint64_t m = 0;
  std::memcpy(&m, bytes.data() + at[1] + 8, 8);
  ASSERT_GE(m * 2, 3u);
  const std::size_t scores = at[1] + 16 + 4 * m + 8;  // the record's second score
  const double forged[2] = {0.123, -0.456};
  std::memcpy(bytes.data() + scores, forged, 16);
  testing::write_file(journal, bytes);

  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  const auto resumed = run_backscore(resume);
  ASSERT_EQ(resumed.status, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("1 eras already scored"), std::string::npos) << resumed.err;
  EXPECT_NE(resumed.err.find("journal record 2 is damaged"), std::string::npos) << resumed.err;
  EXPECT_EQ(read_file(dir / "o.csv"), read_file(dir / "ref.csv"));
  EXPECT_FALSE(fs::exists(journal));

  // A damaged header: refused with exit 2, the journal left for the user to look at.
  ASSERT_EQ(testing::run_with_seams({"--kill-after-eras", "2"}, args).status, 128 + SIGKILL);
  bytes = read_file(journal);
  bytes[20] = static_cast<char>(bytes[20] ^ 0x04);
  testing::write_file(journal, bytes);
  const auto refused = run_backscore(resume);
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("the journal's header is damaged"), std::string::npos) << refused.err;
  EXPECT_EQ(read_file(journal), bytes);
}

// Runs backscore with every file it writes limited to `bytes` (RLIMIT_FSIZE, SIGXFSZ ignored: a
// write past it fails with EFBIG, as on a full disk).
testing::CommandResult run_with_file_limit(rlim_t bytes, const std::vector<std::string>& args) {
  TempDir tmp;
  const fs::path out = tmp / "stdout", err = tmp / "stderr";
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(out.c_str(), "w", stdout);
    std::freopen(err.c_str(), "w", stderr);
    ::signal(SIGXFSZ, SIG_IGN);
    const struct rlimit limit { bytes, bytes };
    ::setrlimit(RLIMIT_FSIZE, &limit);
    std::string bin = testing::test_program("BACKSCORE_BINARY", BACKSCORE_BINARY);
    std::vector<std::string> copy = args;
    std::vector<char*> argv{bin.data()};
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(bin.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  testing::CommandResult r;
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_file(out);
  r.err = read_file(err);
  return r;
}

// The journal or the outputs cannot be written (a full disk): the journal is kept, the message
// says so, and --resume finishes the job without the failed run's work lost.
TEST(JournalRun, WriteFailureKeepsTheJournalForResume) {
  TempDir dir;
  const auto synth = run_backscore({"synth", "--models", "30", "--eras", "5", "--stocks", "200",
                                    "--seed", "4", "--out", (dir / "s.h5").string(), "--quiet"});
  ASSERT_EQ(synth.status, 0) << synth.err;
  const std::string csv = (dir / "o.csv").string(), journal = csv + ".partial";
  const std::vector<std::string> args = {
      "run", (dir / "s.h5").string(), "--formulas", "all", "--csv", csv, "--quiet"};
  std::vector<std::string> resume = args;
  resume.push_back("--resume");
  std::vector<std::string> ref = args;
  ref[5] = (dir / "ref.csv").string();
  ASSERT_EQ(run_backscore(ref).status, 0);
  const std::uintmax_t csv_size = fs::file_size(dir / "ref.csv");

  // The sizes of the journal after one era and after all five.
  ASSERT_EQ(testing::run_with_seams({"--kill-after-eras", "1"}, args).status, 128 + SIGKILL);
  const std::uintmax_t one_era = fs::file_size(journal);
  ASSERT_EQ(testing::run_with_seams({"--kill-after-eras", "5"}, args).status, 128 + SIGKILL);
  const std::uintmax_t all_eras = fs::file_size(journal);
  ASSERT_LT(all_eras, csv_size);
  fs::remove(journal);

  struct Case {
    rlim_t limit;
    std::string fails;  // the file whose write fails
  };
  for (const Case& c : {Case{static_cast<rlim_t>(one_era + 40), journal},
                        Case{static_cast<rlim_t>((all_eras + csv_size) / 2), csv}}) {
    const auto failed = run_with_file_limit(c.limit, args);
    EXPECT_EQ(failed.status, 2) << failed.err;
    EXPECT_NE(failed.err.find("cannot write " + c.fails), std::string::npos) << failed.err;
    if (c.fails == csv) {
      EXPECT_EQ(failed.err.find("cannot write " + journal), std::string::npos) << failed.err;
    }
    EXPECT_NE(failed.err.find("the journal " + journal + " is kept"), std::string::npos)
        << failed.err;
    EXPECT_TRUE(fs::exists(journal)) << c.fails;
    EXPECT_FALSE(fs::exists(csv));
    const auto resumed = run_backscore(resume);
    ASSERT_EQ(resumed.status, 0) << resumed.err;
    EXPECT_EQ(read_file(csv), read_file(dir / "ref.csv"));
    EXPECT_FALSE(fs::exists(journal));
    fs::remove(csv);
  }
}

}  // namespace
}  // namespace backscore
