#include "io/pending_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>
#include <system_error>

#include "core/error.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;

// fsync of a file or directory (O_RDONLY is enough on Linux); errno text on failure.
std::string sync_path(const fs::path& p, int flags) {
  const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC | flags);
  if (fd < 0) return std::generic_category().message(errno);
  std::string error;
  if (::fsync(fd) != 0 && errno != EINVAL) error = std::generic_category().message(errno);
  ::close(fd);
  return error;
}

// Whether process `pid` of this machine is running (EPERM: it is, under another user).
bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

void remove_stale_temporaries(const fs::path& final_path) {
  const fs::path dir = final_path.has_parent_path() ? final_path.parent_path() : fs::path(".");
  const std::string prefix = final_path.filename().string() + ".tmp-";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    const char* first = name.data() + prefix.size();
    const char* last = name.data() + name.size();
    pid_t pid = 0;
    const auto [end_of_number, error] = std::from_chars(first, last, pid);
    if (error != std::errc() || end_of_number != last || *first == '-' || *first == '+') continue;
    // Our own pid: a dead process's file (this one has not made its own yet).
    if (pid != ::getpid() && (pid <= 0 || process_alive(pid))) continue;
    std::error_code ignored;
    fs::remove(it->path(), ignored);
  }
}

PendingFile::PendingFile(fs::path final_path) : final_(std::move(final_path)) {
  remove_stale_temporaries(final_);
  temp_ = final_;
  temp_ += ".tmp-" + std::to_string(::getpid());
}

PendingFile::~PendingFile() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temp_, ec);
  }
}

void PendingFile::commit() {
  if (std::string e = sync_path(temp_, 0); !e.empty()) {
    throw InputError("cannot write " + final_.string() + ": " + e);
  }
  std::error_code ec;
  fs::rename(temp_, final_, ec);
  if (ec) {
    throw InputError("cannot rename " + temp_.string() + " to " + final_.string() + ": " +
                     ec.message());
  }
  committed_ = true;
  // The rename itself reaches the disk with the directory (EINVAL: a file system without it).
  const fs::path dir = final_.has_parent_path() ? final_.parent_path() : fs::path(".");
  if (std::string e = sync_path(dir, O_DIRECTORY); !e.empty()) {
    throw InputError("cannot write " + final_.string() + ": " + e);
  }
}

void write_file_atomically(const fs::path& path, const std::string& content) {
  PendingFile out(path);
  std::FILE* f = std::fopen(out.path().c_str(), "wb");
  if (!f) throw InputError("cannot write " + path.string() + ": " + std::strerror(errno));
  const bool ok = std::fwrite(content.data(), 1, content.size(), f) == content.size();
  const int saved = errno;
  if (std::fclose(f) != 0 || !ok) {
    throw InputError("cannot write " + path.string() + ": " + std::strerror(ok ? errno : saved));
  }
  out.commit();
}

}  // namespace backscore
