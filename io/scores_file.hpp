// Reader for the scores file that `backscore run --out` writes (format backscore-scores v1, see
// docs/FORMAT.md): the model and era tables, the formula list, the root attributes, and one
// formula's models x eras matrix at a time, so `compare` and `audit` load only what they use.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace backscore {

inline constexpr const char* kScoresFormat = "backscore-scores";
inline constexpr int kScoresVersion = 1;

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
