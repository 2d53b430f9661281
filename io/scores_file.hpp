// The scores file that `backscore run --out` writes (format backscore-scores v1, see
// docs/FORMAT.md): its one definition of the format's name and version, the writer (one era
// column at a time), and the reader (the model and era tables, the formula list, the root
// attributes, and one formula's models x eras matrix at a time, so `compare` and `audit` load
// only what they use).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace backscore {

inline constexpr const char* kScoresFormat = "backscore-scores";
inline constexpr int kScoresVersion = 1;

// What a scores file records besides the scores.
struct ScoresFileHeader {
  std::string store;                     // absolute path of the store scored
  std::string target;                    // the target scored against
  std::string benchmark;                 // the benchmark used by bmc ("" when none)
  std::vector<std::string> models;       // the store's model table (M)
  std::vector<std::string> eras;         // the run's eras in order (E)
  std::vector<std::string> formulas;     // formula names (K)
  std::vector<std::string> definitions;  // one-line definition of each formula (K)
};

// Writes a scores file era column by era column; every score not written stays NaN. It writes
// to `path` itself: the caller names a temporary file and renames it once close() returned.
// Every HDF5 failure throws h5::Hdf5Error. Not thread-safe (HDF5 is used from one thread).
class ScoresFileWriter {
 public:
  ScoresFileWriter(const std::filesystem::path& path, const ScoresFileHeader& header);
  ~ScoresFileWriter();
  ScoresFileWriter(const ScoresFileWriter&) = delete;
  ScoresFileWriter& operator=(const ScoresFileWriter&) = delete;

  // Era column `column`: the scores of the models `models` (global indices), model-major,
  // scores[j * K + f] the score of models[j] under formula f.
  void write_era(std::size_t column, std::span<const std::int32_t> models,
                 std::span<const double> scores);
  // Flushes and closes the file.
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ScoresFileReader {
 public:
  // Throws InputError naming the file when it is missing, not HDF5, another format or version,
  // or misses one of the tables or a /scores/<formula> dataset of the right shape.
  explicit ScoresFileReader(const std::filesystem::path& path);
  ~ScoresFileReader();
  ScoresFileReader(ScoresFileReader&&) noexcept;
  ScoresFileReader& operator=(ScoresFileReader&&) noexcept;

  const std::filesystem::path& path() const;
  const std::vector<std::string>& models() const;    // the store's model table (M)
  const std::vector<std::string>& eras() const;      // the run's eras in order (E)
  const std::vector<std::string>& formulas() const;  // formula names (K)
  bool has_formula(const std::string& name) const;

  // A root string attribute (program, store, target, benchmark); "" when absent.
  std::string attribute(const std::string& name) const;
  // The formula's `definition` attribute; "" when absent.
  std::string definition(const std::string& formula) const;

  // The formula's scores, M x E row-major: element (model i, era j) at [i * E + j]; NaN where
  // the model did not submit or was not scored. Throws InputError naming the file and formula
  // when the file has no such formula (listing the ones it has).
  std::vector<double> read_matrix(const std::string& formula) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backscore
