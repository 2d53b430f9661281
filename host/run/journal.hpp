// The run journal: scores of finished eras appended as binary records beside the output, so a
// killed run resumes (--resume) without recomputing them, and the final outputs are assembled
// from it era by era (memory bounded by one era). A header fingerprint ties it to one job.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace backscore {

struct EraScores {
  std::uint64_t era = 0;             // index in the store
  std::vector<std::int32_t> models;  // global model indices of the submitted models
  std::vector<double> scores;        // models.size() x n_formulas, model-major
};

class JournalWriter {
 public:
  // Creates a new journal, or with resume=true reopens an existing one whose fingerprint matches
  // (InputError otherwise), dropping an incomplete trailing record.
  JournalWriter(std::filesystem::path path, std::string fingerprint, std::size_t n_formulas,
                bool resume);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  const std::vector<std::uint64_t>& finished_eras() const { return finished_; }
  void append(const EraScores& era);  // flushed to the OS before returning
  void close();

 private:
  std::filesystem::path path_;
  std::size_t n_formulas_;
  std::FILE* file_ = nullptr;
  std::vector<std::uint64_t> finished_;
};

// Calls visit for every complete record of the journal, in file order.
void read_journal(const std::filesystem::path& path, const std::string& fingerprint,
                  std::size_t n_formulas, const std::function<void(const EraScores&)>& visit);

}  // namespace backscore
