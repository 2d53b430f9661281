// `backscore import`: a tournament store from CSV files (the layouts are in docs/FORMAT.md).
// The universe (one row per era and stock) and the predictions stream through spill files bucketed
// by era, so memory is bounded by one era (its universe and prediction matrix) plus fixed buffers
// and the universe's ids, however long the history and however many predictions there are.
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
  // Prediction cells buffered in memory before they are written to the spill file (20 bytes
  // each; the default is 80 MB). Tests set it tiny to exercise the spill path on small inputs.
  std::size_t spill_cells = std::size_t{1} << 22;
  // Universe bytes buffered in memory before they are written to the universe's spill file (a row
  // takes 1 + 8 per target, meta-model and benchmark + 1 per feature, or 8 per feature when the
  // row has one that is not an integer in -128..127). Tests set it tiny to spill every row.
  std::size_t universe_spill_bytes = std::size_t{64} << 20;
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
// is an InputError naming FILE:LINE and the column; nothing is left at options.out on error. A
// problem with an option itself (a prediction directory that is no directory, `out` naming an
// input) is an OptionError (core/error.hpp) naming the field of ImportOptions.
ImportSummary import_csv(const ImportOptions& options);

}  // namespace backscore
