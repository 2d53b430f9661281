// backscore_seam_runner: the backscore command line with test seams (RunSeams) set from its own
// options, for the tests that need a run killed after N eras or an error thrown on a scoring
// thread. A separate executable, so each such run is a fresh process (forking the multi-threaded
// test binary is not safe with OpenMP). The backscore executable never sets seams.
//
//   backscore_seam_runner [--kill-after-eras N] [--throw-at ERA COLUMN input|internal] -- ARGS...
//
// Built a second time as backscore_mpi_seam_runner (BACKSCORE_SEAM_RUNNER_MPI) for backscore-mpi.
// After run_cli returns it checks that the run's reader thread has ended (exit 99 if not) and
// exits with run_cli's status.
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/run/batch_reader.hpp"
#include "host/run/stage_prefetch.hpp"
#ifdef BACKSCORE_SEAM_RUNNER_MPI
#include "host/mpi/main.hpp"
#endif

namespace {

bool thread_alive(const std::string& name) {
  bool found = false;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string text;
      std::getline(comm, text);
      found = found || text == name;
    }
    ::closedir(d);
  }
  return found;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: backscore_seam_runner [--kill-after-eras N] "
               "[--throw-at ERA COLUMN input|internal] [--throw-in-stages ERA input|internal] "
               "-- ARGS...\n");
  std::exit(64);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace backscore;
  RunSeams seams;
  int i = 1;
  for (; i < argc && std::string(argv[i]) != "--"; ++i) {
    const std::string opt = argv[i];
    if (opt == "--kill-after-eras" && i + 1 < argc) {
      const std::size_t eras = std::stoul(argv[++i]);
      seams.after_journaled_era = [eras](std::size_t journaled) {
        if (journaled == eras) ::kill(::getpid(), SIGKILL);
      };
    } else if (opt == "--throw-at" && i + 3 < argc) {
      const std::size_t era = std::stoul(argv[i + 1]), column = std::stoul(argv[i + 2]);
      const bool input = std::string(argv[i + 3]) == "input";
      i += 3;
      // Every column from `column` on in era `era` throws: the lowest one must be reported.
      seams.before_column = [era, column, input](std::size_t e, std::size_t c) {
        if (e != era || c < column) return;
        const std::string what = "model column " + std::to_string(c) + " of era " +
                                 std::to_string(e) + (input ? " is bad" : "");
        if (input) throw InputError(what);
        throw std::logic_error(what);
      };
    } else if (opt == "--throw-in-stages" && i + 2 < argc) {
      const std::size_t era = std::stoul(argv[i + 1]);
      const bool input = std::string(argv[i + 2]) == "input";
      i += 2;
      seams.before_stages = [era, input](std::size_t e) {
        if (e != era) return;
        const std::string what = "the stages of era " + std::to_string(e) + (input ? " are bad" : "");
        if (input) throw InputError(what);
        throw std::logic_error(what);
      };
    } else {
      usage();
    }
  }
  if (i == argc) usage();
  std::vector<char*> args{argv[0]};
  for (++i; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
#ifdef BACKSCORE_SEAM_RUNNER_MPI
  // backscore_mpi_seam_runner: backscore-mpi's command line (the seams act on every rank; the
  // journal, hence --kill-after-eras, is rank 0's).
  const int status = mpi::main_of_rank(static_cast<int>(args.size() - 1), args.data(), seams);
#else
  const int status = cli::run_cli(static_cast<int>(args.size() - 1), args.data(), seams);
#endif
  std::fflush(nullptr);
  if (thread_alive(BatchReader::kThreadName)) {
    std::fprintf(stderr, "the reader thread is still running\n");
    return 99;
  }
  if (thread_alive(StagePrefetch::kThreadName)) {
    std::fprintf(stderr, "a stage prefetch thread is still running\n");
    return 99;
  }
  return status;
}
