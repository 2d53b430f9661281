// `backscore import`: a tournament store from CSV files (the layouts are in docs/FORMAT.md).
// The universe (one row per era and stock) is held in memory; predictions stream through a
// spill file bucketed by era, so memory is bounded by the universe plus one era's prediction
// matrix, not by the number of predictions.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <vector>

namespace backscore {

struct ImportOptions {
  std::filesystem::path universe;                      // era,id,target[,...]
  std::vector<std::filesystem::path> predictions;      // model,era,id,prediction
  std::vector<std::filesystem::path> prediction_dirs;  // DIR/<model>/<era>.csv with id,prediction
  std::optional<std::filesystem::path> stakes;         // model,era,stake
  std::filesystem::path out;
};

struct ImportSummary {
  std::size_t eras = 0, rows = 0, models = 0;
  std::size_t min_stocks = 0, max_stocks = 0;
  std::size_t predictions = 0;        // prediction cells read (including empty ones)
  std::size_t empty_predictions = 0;  // empty cells: the id counts as not submitted
  std::size_t submissions = 0;        // (model, era) pairs
  std::size_t stakes = 0;             // stakes attached to a submission
  std::size_t stakes_ignored = 0;     // stakes of (model, era) pairs without predictions
};

// Reads, validates and writes the store (temporary name, renamed when complete). Every problem
// is an InputError naming FILE:LINE and the column; nothing is left at options.out on error.
ImportSummary import_csv(const ImportOptions& options);

}  // namespace backscore
