#include "io/pending_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

}  // namespace

PendingFile::PendingFile(fs::path final_path) : final_(std::move(final_path)) {
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
