// Runs the backscore command line in a forked child of the test process, with test seams (which
// the executable never sets): a run killed after N eras, an error thrown inside the scoring loop.
// The child's exit status, stdout and stderr come back as from run_backscore.
#pragma once

#include <dirent.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "host/cli/commands.hpp"
#include "host/run/batch_reader.hpp"
#include "test_support.hpp"

namespace backscore::testing {

// Whether a thread named `name` is alive in this process.
inline bool thread_alive(const std::string& name) {
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

// `backscore ARGS...` through cli::run_cli in a child process. When run_cli returns, the child
// checks that the run's reader thread has ended (exit 99 if not) and exits with run_cli's status.
inline CommandResult run_cli_in_child(const std::vector<std::string>& args, const RunSeams& seams) {
  TempDir tmp;
  const auto out_path = tmp / "stdout", err_path = tmp / "stderr";
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(out_path.c_str(), "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    std::vector<std::string> copy = args;
    copy.insert(copy.begin(), "backscore");
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int status = cli::run_cli(static_cast<int>(copy.size()), argv.data(), seams);
    std::fflush(nullptr);
    if (thread_alive(BatchReader::kThreadName)) {
      std::fprintf(stderr, "the reader thread is still running\n");
      std::fflush(nullptr);
      ::_exit(99);
    }
    ::_exit(status);
  }
  CommandResult r;
  int wstatus = 0;
  ::waitpid(pid, &wstatus, 0);
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

// Seams that kill the process (SIGKILL) once `eras` eras are journaled.
inline RunSeams kill_after_eras(std::size_t eras) {
  RunSeams s;
  s.after_journaled_era = [eras](std::size_t journaled) {
    if (journaled == eras) ::kill(::getpid(), SIGKILL);
  };
  return s;
}

}  // namespace backscore::testing
