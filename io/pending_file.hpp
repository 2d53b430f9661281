// PendingFile: every output file of the program (store, scores file, CSV, tables, report) is
// written under a temporary name beside its final path, NAME.tmp-<pid>, and moved into place only
// when complete. commit() flushes the file to disk (fsync), renames it, then flushes the directory
// entry, so a crash, kill, power cut or full disk leaves the old file or the new one under the
// final name, never a partial one. Destroyed uncommitted (an error on the way), it removes the
// temporary file. A process killed before that leaves its NAME.tmp-<pid>: the next PendingFile of
// NAME removes it (and any other NAME.tmp-<pid> whose process is no longer running).
#pragma once

#include <filesystem>
#include <string>

namespace backscore {

class PendingFile {
 public:
  explicit PendingFile(std::filesystem::path final_path);
  ~PendingFile();  // removes the temporary file unless committed
  PendingFile(const PendingFile&) = delete;
  PendingFile& operator=(const PendingFile&) = delete;

  const std::filesystem::path& path() const { return temp_; }  // where to write
  const std::filesystem::path& final_path() const { return final_; }

  // The temporary file, written and closed by the caller, becomes the final one: fsync, rename,
  // fsync of the directory. Throws InputError naming the final path when any step fails.
  void commit();

 private:
  std::filesystem::path final_, temp_;
  bool committed_ = false;
};

// Removes the NAME.tmp-<pid> files beside `final_path` (NAME) whose process is not running on
// this machine: left by a process killed while it wrote NAME.
void remove_stale_temporaries(const std::filesystem::path& final_path);

// `content` as the whole file `path`, through a PendingFile.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace backscore
