// For the fuzz targets: the input bytes as a file the code under test opens by path, as a user's
// file would be. One file per input, in /dev/shm when there is one (no disk I/O), removed after
// the input. Not an anonymous memfd: HDF5 resolves a file's real path, and /proc/self/fd/N of a
// memfd has none. Each input is a new file: HDF5 recognizes a file it still has open (one a
// damaged input left open) by its inode, which stays taken while it is open, so no input sees
// another's state.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace backscore::fuzz {

class InputFile {
 public:
  InputFile(const std::uint8_t* data, std::size_t size) {
    static const std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    static unsigned long counter = 0;
    path_ = dir + "/backscore-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    for (std::size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n <= 0) std::abort();
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  ~InputFile() { ::unlink(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace backscore::fuzz
