// Helpers shared by the tests: temporary directories and running the backscore executable as a
// user would (exit status, stderr, peak memory).
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace backscore::testing {

// A fresh directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("backscore-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct CommandResult {
  int status = -1;       // exit status, or 128 + signal
  std::string out, err;  // stdout, stderr
  long max_rss_kib = 0;  // peak resident memory of the child
};

// Runs the program `bin` with ARGS (no shell) and collects its outputs.
inline CommandResult run_program(const std::string& bin, const std::vector<std::string>& args) {
  TempDir tmp;
  const auto out_path = tmp / "stdout", err_path = tmp / "stderr";
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(out_path.c_str(), "w", stdout);
    std::freopen(err_path.c_str(), "w", stderr);
    std::vector<char*> argv;
    std::string copy_bin = bin;
    argv.push_back(copy_bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(copy_bin.c_str(), argv.data());
    ::_exit(127);
  }
  CommandResult r;
  int wstatus = 0;
  struct rusage usage {};
  ::wait4(pid, &wstatus, 0, &usage);
  r.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  r.max_rss_kib = usage.ru_maxrss;
  r.out = read_file(out_path);
  r.err = read_file(err_path);
  return r;
}

// The build's binary `name` (BACKSCORE_BINARY, BACKSCORE_SEAM_RUNNER); the environment variable
// of the same name overrides it (test binaries copied to another machine,
// scripts/gpu-on-device.sh).
inline std::string test_program(const char* variable, const char* built) {
  const char* override_bin = std::getenv(variable);
  return override_bin != nullptr && *override_bin ? override_bin : built;
}

// Runs `backscore ARGS...` and collects its outputs.
inline CommandResult run_backscore(const std::vector<std::string>& args) {
  return run_program(test_program("BACKSCORE_BINARY", BACKSCORE_BINARY), args);
}

#ifdef BACKSCORE_SEAM_RUNNER
// Runs `backscore ARGS...` through tests/seam_runner.cpp with its seam options first
// ({"--kill-after-eras", "3"}, {"--throw-at", "2", "5", "input"}).
inline CommandResult run_with_seams(const std::vector<std::string>& seams,
                                    const std::vector<std::string>& args) {
  std::vector<std::string> all = seams;
  all.push_back("--");
  all.insert(all.end(), args.begin(), args.end());
  return run_program(test_program("BACKSCORE_SEAM_RUNNER", BACKSCORE_SEAM_RUNNER), all);
}
#endif

// v as text that reads back to the same double (%.17g), for CSV fixtures.
inline std::string exact_text(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// The cells of one CSV line (no quoting), empty ones included: "a,,b," is {"a", "", "b", ""}.
inline std::vector<std::string> csv_cells(const std::string& line) {
  std::vector<std::string> cells;
  std::size_t at = 0;
  for (std::size_t comma; (comma = line.find(',', at)) != std::string::npos; at = comma + 1) {
    cells.push_back(line.substr(at, comma - at));
  }
  cells.push_back(line.substr(at));
  return cells;
}

// Counts the lines of s (a final line without newline counts).
inline std::size_t line_count(const std::string& s) {
  std::size_t n = 0;
  for (char c : s) n += c == '\n';
  return n + (!s.empty() && s.back() != '\n');
}

// Where each record of a run journal starts, and its end (docs/FORMAT.md, "The run journal").
inline std::vector<std::size_t> journal_records(const std::string& bytes, std::size_t formulas) {
  std::uint64_t len = 0;
  std::memcpy(&len, bytes.data() + 4, 8);
  std::vector<std::size_t> at{4 + 8 + len + 8};
  while (at.back() < bytes.size()) {
    std::uint64_t m = 0;
    std::memcpy(&m, bytes.data() + at.back() + 8, 8);
    at.push_back(at.back() + 16 + m * (4 + 8 * formulas) + 8);
  }
  return at;
}

}  // namespace backscore::testing
