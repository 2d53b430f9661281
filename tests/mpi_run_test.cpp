// backscore-mpi (host/mpi/): `run` with its eras split among MPI ranks writes the bytes one
// process writes, for any number of ranks; a killed job resumes from rank 0's journal with any
// number of ranks (or in one process); a bad era stops every rank with one line and exit 2, never
// a hang. Each job runs under mpiexec (--oversubscribe: more ranks than this machine's cores;
// --allow-run-as-root when the tests run as root; -q: no launcher banner) inside `timeout`, so a
// hang fails the test instead of the suite. Skipped, counted, in a build without MPI.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/hdf5.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::read_file;
using testing::run_backscore;
using testing::TempDir;

constexpr int kTimeoutSeconds = 180;

bool have_mpi() { return std::string(BACKSCORE_MPI_BINARY).size() > 0; }

// `binary ARGS...` as RANKS ranks of one MPI job; status 124 when it did not end in time.
CommandResult mpirun(int ranks, const std::string& binary, const std::vector<std::string>& args) {
  std::vector<std::string> a = {std::to_string(kTimeoutSeconds), BACKSCORE_MPIEXEC, "-q",
                                "--oversubscribe"};
  if (::geteuid() == 0) a.push_back("--allow-run-as-root");
  a.insert(a.end(), {"-n", std::to_string(ranks), binary});
  a.insert(a.end(), args.begin(), args.end());
  return testing::run_program("/usr/bin/timeout", a);
}

CommandResult backscore_mpi(int ranks, const std::vector<std::string>& args) {
  return mpirun(ranks, BACKSCORE_MPI_BINARY, args);
}

// A store with missing ids, features, a benchmark, neutralizers and sample weights, and the
// one-process run's outputs of every built-in (the Signals ones included) and a defined formula,
// made once for the suite.
class MpiRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_mpi()) return;
    dir_ = new TempDir;
    // With Signals data, so `all` holds mpc too: the one formula computed over an era's models.
    const auto synth = run_backscore({"synth", "--models", "40", "--eras", "9", "--stocks", "300",
                                      "--features", "6", "--missing-ids", "0.15", "--neutralizers",
                                      "4", "--sample-weights", "--seed", "11", "--out", store(),
                                      "--quiet"});
    ASSERT_EQ(synth.status, 0) << synth.err;
    std::vector<std::string> args = {"run", store()};
    args.insert(args.end(), job().begin(), job().end());
    args.insert(args.end(), {"--out", path("one.h5"), "--csv", path("one.csv")});
    const auto one = run_backscore(args);
    ASSERT_EQ(one.status, 0) << one.err;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    if (!have_mpi()) GTEST_SKIP() << "built without MPI (BACKSCORE_MPI off)";
  }

  static const std::vector<std::string>& job() {
    static const std::vector<std::string> args = {
        "--formula", "half = mmc - 0.5 * corr", "--formulas", "all,half", "--top-bottom", "50",
        "--batch",   "7",                       "--quiet"};
    return args;
  }
  static std::string store() { return (*dir_ / "s.h5").string(); }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  // `run STORE <job> --out DIR/NAME.h5 --csv DIR/NAME.csv EXTRA...`
  static std::vector<std::string> run_args(const TempDir& dir, const std::string& name,
                                           const std::vector<std::string>& extra = {}) {
    std::vector<std::string> a = {"run", store()};
    a.insert(a.end(), job().begin(), job().end());
    a.insert(a.end(), {"--out", (dir / (name + ".h5")).string(), "--csv",
                       (dir / (name + ".csv")).string()});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static void expect_same_outputs(const TempDir& dir, const std::string& name) {
    EXPECT_EQ(read_file(dir / (name + ".h5")), read_file(path("one.h5"))) << name;
    EXPECT_EQ(read_file(dir / (name + ".csv")), read_file(path("one.csv"))) << name;
    EXPECT_FALSE(fs::exists(dir / (name + ".h5.partial"))) << name;
  }

  static TempDir* dir_;
};
TempDir* MpiRun::dir_ = nullptr;

TEST_F(MpiRun, OneTwoAndThreeRanksWriteTheBytesOfOneProcess) {
  TempDir dir;
  for (const int ranks : {1, 2, 3}) {
    const std::string name = "r" + std::to_string(ranks);
    const auto r = backscore_mpi(ranks, run_args(dir, name));
    ASSERT_EQ(r.status, 0) << ranks << " ranks: " << r.err;
    expect_same_outputs(dir, name);
    EXPECT_NE(r.err.find(std::to_string(ranks) + " rank"), std::string::npos) << r.err;
    // Rank 0 alone reports: the summary table once, one line per formula.
    EXPECT_EQ(r.out, run_backscore(run_args(dir, "check")).out) << ranks;
  }
}

// More ranks than eras: the ranks without eras end at once; thread counts per rank change no byte.
TEST_F(MpiRun, MoreRanksThanErasAndOtherThreadCounts) {
  TempDir dir;
  std::vector<std::string> args = run_args(dir, "few", {"--eras", "era0002:era0003"});
  const auto one = run_backscore(args);
  ASSERT_EQ(one.status, 0) << one.err;
  const std::string h5 = read_file(dir / "few.h5"), csv = read_file(dir / "few.csv");
  fs::remove(dir / "few.h5");
  fs::remove(dir / "few.csv");
  const auto r = backscore_mpi(4, args);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(read_file(dir / "few.h5"), h5);
  EXPECT_EQ(read_file(dir / "few.csv"), csv);
  const auto threads = backscore_mpi(2, run_args(dir, "t2", {"--threads", "2"}));
  ASSERT_EQ(threads.status, 0) << threads.err;
  expect_same_outputs(dir, "t2");
}

// Rank 0 killed after 3 journaled eras (the whole job with it): resuming with another number of
// ranks, or in one process, scores only the rest and writes the same bytes.
TEST_F(MpiRun, KilledJobResumesWithAnyNumberOfRanks) {
  struct Case {
    int killed_ranks;
    int resumed_ranks;  // 0: backscore run --resume in one process
  };
  for (const Case c : {Case{2, 3}, Case{3, 1}, Case{2, 0}}) {
    TempDir dir;
    std::vector<std::string> killed = {"--kill-after-eras", "3", "--"};
    const std::vector<std::string> args = run_args(dir, "k");
    killed.insert(killed.end(), args.begin(), args.end());
    const auto first = mpirun(c.killed_ranks, BACKSCORE_MPI_SEAM_RUNNER, killed);
    ASSERT_NE(first.status, 0) << first.err;
    ASSERT_NE(first.status, 124) << "the killed job did not end";
    ASSERT_TRUE(fs::exists(dir / "k.h5.partial"));
    EXPECT_FALSE(fs::exists(dir / "k.h5"));
    std::vector<std::string> resume = args;
    resume.push_back("--resume");
    const auto again = c.resumed_ranks > 0 ? backscore_mpi(c.resumed_ranks, resume)
                                           : run_backscore(resume);
    ASSERT_EQ(again.status, 0) << again.err;
    EXPECT_NE(again.err.find("resuming, 3 eras already scored"), std::string::npos) << again.err;
    EXPECT_NE(again.err.find("backscore run: 6 eras"), std::string::npos) << again.err;
    expect_same_outputs(dir, "k");
  }
}

// A bad era in the middle of the history: whichever rank reads it, the job ends (no hang) with
// exit 2 and that rank's one line on stderr after the run's first line, and nothing is left: no
// output, and no journal (a --resume would stop at the same era).
TEST_F(MpiRun, BadEraStopsEveryRankWithOneLine) {
  TempDir dir;
  const fs::path bad = dir / "bad.h5";
  fs::copy_file(store(), bad);
  {
    h5::SilenceHdf5 quiet;
    h5::Hid f = h5::open_file(bad.string(), true);
    const std::string name = "/eras/000004/meta_model";
    h5::Hid ds = h5::open_dataset(f.get(), name);
    std::vector<double> v(h5::dataset_dims(ds.get(), name)[0]);
    h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, v.data(), name);
    v[5] = std::nan("");
    h5::write_all(ds.get(), H5T_NATIVE_DOUBLE, v.data(), name);
  }
  for (const int ranks : {1, 2, 3}) {
    std::vector<std::string> args = run_args(dir, "o");
    args[1] = bad.string();
    const auto r = backscore_mpi(ranks, args);
    EXPECT_EQ(r.status, 2) << ranks << " ranks: " << r.err;
    const std::string err = r.err.substr(r.err.find('\n') + 1);  // after the run's first line
    EXPECT_EQ(testing::line_count(err), 1u) << r.err;
    EXPECT_EQ(err.rfind("backscore: error: ", 0), 0u) << r.err;
    EXPECT_NE(err.find("meta_model is not finite"), std::string::npos) << r.err;
    EXPECT_NE(err.find("no journal kept"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "o.h5.partial"));
    EXPECT_FALSE(fs::exists(dir / "o.h5"));
    EXPECT_FALSE(fs::exists(dir / "o.csv"));
  }
}

// An error in a rank's scoring (a seam throws on every rank reaching era 5's columns; the
// internal kind is exit 1): every rank stops, one line, the same status from the whole job.
TEST_F(MpiRun, ErrorOnAScoringThreadStopsTheJob) {
  TempDir dir;
  for (const char* kind : {"input", "internal"}) {
    std::vector<std::string> a = {"--throw-at", "5", "0", kind, "--"};
    const std::vector<std::string> args = run_args(dir, "e");
    a.insert(a.end(), args.begin(), args.end());
    const auto r = mpirun(3, BACKSCORE_MPI_SEAM_RUNNER, a);
    EXPECT_EQ(r.status, std::string(kind) == "input" ? 2 : 1) << r.err;
    const std::string err = r.err.substr(r.err.find('\n') + 1);
    EXPECT_EQ(testing::line_count(err), 1u) << r.err;
    EXPECT_NE(err.find("model column 0 of era 5"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "e.h5"));
  }
}

// Bad arguments are found by every rank before any work: rank 0 alone says so, in one line.
TEST_F(MpiRun, BadArgumentsAreOneLineFromRankZero) {
  TempDir dir;
  const std::string store_bytes = read_file(store());
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"run", store(), "--formulas", "nonsense", "--out",
                                 (dir / "x.h5").string()},
        std::vector<std::string>{"run", store(), "--out", store()},
        std::vector<std::string>{"run", store(), "--threads", "-3"},
        std::vector<std::string>{"run", (dir / "missing.h5").string()},
        std::vector<std::string>{"frobnicate"}}) {
    const auto r = backscore_mpi(3, args);
    EXPECT_EQ(r.status, 2) << args.back() << ": " << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("backscore: error: ", 0), 0u) << r.err;
  }
  EXPECT_EQ(read_file(store()), store_bytes);
  EXPECT_FALSE(fs::exists(dir / "x.h5"));
  const auto help = backscore_mpi(2, {"run", "--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_EQ(help.out.find("Usage"), help.out.rfind("Usage")) << "help printed more than once";
}

// A rank that sees another store (a stale copy on its node's disk; here an MPMD launch giving rank 1
// another file): refused by rank 0 before any work.
TEST_F(MpiRun, RanksMustReadTheSameStore) {
  TempDir dir;
  const auto other = run_backscore({"synth", "--models", "10", "--eras", "9", "--stocks", "50",
                                    "--seed", "2", "--out", (dir / "other.h5").string(),
                                    "--quiet"});
  ASSERT_EQ(other.status, 0) << other.err;
  std::vector<std::string> a = {std::to_string(kTimeoutSeconds), BACKSCORE_MPIEXEC, "-q",
                                "--oversubscribe"};
  if (::geteuid() == 0) a.push_back("--allow-run-as-root");
  const std::string out = (dir / "o.h5").string();
  a.insert(a.end(), {"-n", "1", BACKSCORE_MPI_BINARY, "run", store(), "--out", out, ":", "-n", "1",
                     BACKSCORE_MPI_BINARY, "run", (dir / "other.h5").string(), "--out", out});
  const auto r = testing::run_program("/usr/bin/timeout", a);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
  EXPECT_NE(r.err.find("rank 1 sees another file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out));
}

}  // namespace
}  // namespace backscore
