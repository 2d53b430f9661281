// The simulation file that `backscore simulate --out` writes (format backscore-simulation v1,
// docs/FORMAT.md "The simulation file"): for each payout rule simulated, per era the quantities
// of its meta-model and of its stakes (kSimEraQuantities), and per model and era the model's
// simulated stake and payout. One definition of the format's name, version and quantities, the
// writer (one era column at a time) and the reader (`backscore report --simulation`, Python).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace backscore {

inline constexpr const char* kSimulationFormat = "backscore-simulation";
inline constexpr int kSimulationVersion = 1;

// The per-rule, per-era quantities, in this order everywhere (the file, the journal, eras.csv).
// Definitions: docs/FORMULAS.md, "Simulation".
inline constexpr std::array<std::string_view, 11> kSimEraQuantities = {
    "models",            // models that submitted the era
    "total_stake",       // sum of their simulated stakes (NMR)
    "effective_models",  // 1 / sum w^2, w = stake / total_stake (0 when total_stake = 0)
    "gini",              // Gini coefficient of the submitted models' stakes
    "mean_xcorr",        // stake-weighted mean Pearson(model's gauss ranks, meta-model)
    "mm_corr_v1",        // the rebuilt meta-model's corr_v1 with the target
    "mm_corr",           // its numerai_corr with the target
    "mm_pearson",        // Pearson(raw meta-model, target)
    "payout_factor",     // pf = min(1, threshold / total_stake)
    "paid",              // sum over the models of stake x payout (NMR, negative: burned)
    "mean_payout",       // stake-weighted mean payout fraction
};
inline constexpr std::size_t kSimQuantityCount = kSimEraQuantities.size();
// Index of a quantity by name; kSimQuantityCount when there is none.
constexpr std::size_t sim_quantity_index(std::string_view name) {
  for (std::size_t i = 0; i < kSimQuantityCount; ++i) {
    if (kSimEraQuantities[i] == name) return i;
  }
  return kSimQuantityCount;
}

struct SimulationHeader {
  std::string store;                    // absolute path of the store simulated
  std::string target;                   // the target scored against
  std::string flows;                    // "none" or "observed"
  std::int64_t resolve_lag = 0;         // eras between an era and its payout joining the stake
  std::vector<std::string> rules;       // rule names (R)
  std::vector<std::string> rule_texts;  // each rule's expression, presets expanded (R)
  std::vector<std::string> models;      // the store's model table (M)
  std::vector<std::string> eras;        // the simulated eras in order (E)
};

// Writes a simulation file era column by era column; what is not written stays NaN. It writes
// to `path` itself: the caller names a temporary file and renames it once close() returned.
// HDF5 failures throw h5::Hdf5Error. Not thread-safe.
class SimulationFileWriter {
 public:
  SimulationFileWriter(const std::filesystem::path& path, const SimulationHeader& header);
  ~SimulationFileWriter();
  SimulationFileWriter(const SimulationFileWriter&) = delete;
  SimulationFileWriter& operator=(const SimulationFileWriter&) = delete;

  // Era column `column`: `models` the global indices of the era's submitted models (m);
  // stakes and payouts R x m rule-major (stakes[r * m + j]: model j's stake at risk in the era
  // under rule r; payouts the fraction of it paid, NaN-scored models 0); quantities R x Q
  // rule-major (kSimEraQuantities); store_mm_corr the numerai_corr of the store's own
  // meta-model (NaN when the store has none).
  void write_era(std::size_t column, std::span<const std::int32_t> models,
                 std::span<const double> stakes, std::span<const double> payouts,
                 std::span<const double> quantities, double store_mm_corr);
  void close();  // flushes and closes the file

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SimulationFileReader {
 public:
  // Throws InputError naming the file when it is missing, not HDF5, another format or version,
  // or misses a table.
  explicit SimulationFileReader(const std::filesystem::path& path);
  ~SimulationFileReader();
  SimulationFileReader(SimulationFileReader&&) noexcept;
  SimulationFileReader& operator=(SimulationFileReader&&) noexcept;

  const std::filesystem::path& path() const;
  const SimulationHeader& header() const;
  // Quantity `name` of rule `rule` for every era (E values). InputError for an unknown name.
  std::vector<double> era_quantity(std::size_t rule, std::string_view name) const;
  // numerai_corr of the store's meta-model per era (E values; NaN without one).
  std::vector<double> store_mm_corr() const;
  // M x E row-major (model i, era j at [i * E + j]); NaN where the model did not submit.
  std::vector<double> stakes(std::size_t rule) const;
  std::vector<double> payouts(std::size_t rule) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backscore
