// PendingFile: every output file of the program (store, scores file, CSV, tables, report) is
// written under a temporary name beside its final path, NAME.tmp-<pid>, and moved into place only
// when complete. commit() flushes the file to disk (fsync), renames it, then flushes the directory
// entry, so a crash, kill or full disk never leaves a partial file under the final name. Destroyed
// uncommitted (an error on the way), it removes the temporary file.
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

// `content` as the whole file `path`, through a PendingFile.
void write_file_atomically(const std::filesystem::path& path, const std::string& content);

}  // namespace backscore
