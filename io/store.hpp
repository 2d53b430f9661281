// The tournament store: one HDF5 file holding a whole history (see docs/FORMAT.md).
// StoreWriter appends one era at a time; StoreReader streams eras back one at a time, so memory
// is bounded by the largest era, never by the history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace backscore {

inline constexpr const char* kStoreFormat = "backscore-store";
// Version 2 added the sample weights and the neutralizers; version 1 stores are read as before
// (without either).
inline constexpr int kStoreVersion = 2;
inline constexpr int kOldestStoreVersion = 1;

// What every era of a store carries; fixed for the whole store.
struct StoreSchema {
  std::vector<std::string> models;      // global model table; Era::models index into it
  std::vector<std::string> targets;     // target names; "target" (the default) first
  std::vector<std::string> benchmarks;  // benchmark model names (may be empty)
  std::vector<std::string> features;    // feature names (may be empty)
  // Neutralizer names (may be empty): the columns neutral_corr, neutral_mmc, alpha and mpc
  // neutralize to (Numerai Signals gives them per era; a classic store may repeat features).
  std::vector<std::string> neutralizers;
  bool has_meta_model = false;
  bool has_stakes = false;
  bool has_sample_weights = false;  // every era has sample_weights (alpha, mpc)
};

// One era without its prediction matrix. Every matrix is flat with the stock index fastest:
// element (k, i) of a K x n matrix is at [k * n + i].
struct Era {
  std::string name;
  std::vector<std::string> ids;      // stock ids, unique, sorted ascending by byte order
  std::vector<double> targets;       // schema.targets.size() x n_stocks, all finite
  std::vector<double> meta_model;    // n_stocks (finite) when schema.has_meta_model, else empty
  std::vector<double> benchmarks;    // schema.benchmarks.size() x n_stocks, all finite
  std::vector<double> features;      // schema.features.size() x n_stocks, all finite
  std::vector<double> neutralizers;  // schema.neutralizers.size() x n_stocks, all finite
  std::vector<double> sample_weights;  // n_stocks (finite, >= 0) when schema.has_sample_weights
  std::vector<std::int32_t> models;  // global model index of each prediction column, ascending
  std::vector<double> stakes;        // one per prediction column when schema.has_stakes, else empty

  std::size_t n_stocks() const { return ids.size(); }
  std::size_t n_submitted() const { return models.size(); }
  // Row i of target `k` (k indexes schema.targets).
  std::span<const double> target(std::size_t k) const {
    return {targets.data() + k * n_stocks(), n_stocks()};
  }
  std::span<const double> benchmark(std::size_t k) const {
    return {benchmarks.data() + k * n_stocks(), n_stocks()};
  }
  std::span<const double> feature(std::size_t k) const {
    return {features.data() + k * n_stocks(), n_stocks()};
  }
  std::span<const double> neutralizer(std::size_t k) const {
    return {neutralizers.data() + k * n_stocks(), n_stocks()};
  }
};

// Prediction matrices are float32, model-major: column j (the j-th submitted model of the era)
// is predictions[j * n_stocks .. (j + 1) * n_stocks); NaN marks an id the model did not submit.

class StoreWriter {
 public:
  // Writes to a temporary name beside `path`; the file appears under `path` only in finish().
  StoreWriter(std::filesystem::path path, StoreSchema schema);
  ~StoreWriter();  // removes the temporary file unless finish() succeeded
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Validates the era against the schema (sorted unique ids, finite values, shapes, model
  // indices ascending and in range, predictions finite or NaN) and appends it. Throws
  // InputError naming the era and field.
  void append_era(const Era& era, std::span<const float> predictions);
  // Writes the era table, closes the file and renames it to its final name.
  void finish();

  const StoreSchema& schema() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Thread-safety: a StoreReader is used by one thread at a time (HDF5 is not thread-safe). Its
// const methods return the tables read when the file was opened; the others read the file and
// are non-const: read_predictions keeps the era it read last open (its dataset and the plan of
// its chunks) for the era's next batches, and every read goes through the one open file. To read
// on several threads, open one StoreReader per thread (read_predictions' own `threads` is safe).
class StoreReader {
 public:
  // Throws InputError (naming the file) when it is missing, not HDF5, another format or
  // version, or misses a dataset.
  explicit StoreReader(const std::filesystem::path& path);
  ~StoreReader();
  StoreReader(StoreReader&&) noexcept;
  StoreReader& operator=(StoreReader&&) noexcept;

  const std::filesystem::path& path() const;
  int version() const;  // the file's format version (kOldestStoreVersion..kStoreVersion)
  const StoreSchema& schema() const;
  const std::vector<std::string>& eras() const;  // era names in history order

  // The shape of era `era` from its datasets' dimensions, without reading them (for planning
  // work: host/run/era_shards.hpp): its stocks, and its submitted models.
  std::size_t n_stocks(std::size_t era);
  std::size_t n_submitted(std::size_t era);
  // Everything of era `era` except its predictions, checked as docs/FORMAT.md says (shapes, id
  // order and uniqueness, finite targets, meta-model, benchmarks and features, model indices in
  // range and ascending, stakes finite and >= 0): InputError naming the file, era and field.
  Era read_era(std::size_t era);
  // Prediction columns [first, first + count) of era `era` into out (count x n_stocks floats).
  // When the era's dataset is what backscore writes (chunked by rows, unfiltered, little-endian
  // float32 in a file without a user block) the rows are read straight from the file's chunks with
  // pread, by up to `threads` threads at once (chunk addresses from HDF5, on the calling thread);
  // any other layout is read through HDF5 (one hyperslab). Same values either way. An infinite
  // value is an InputError naming the file, era, row and column (NaN: an id not submitted).
  void read_predictions(std::size_t era, std::size_t first, std::size_t count, std::span<float> out,
                        int threads = 1);
  // Whether read_predictions of era `era` reads the file directly (true for every store backscore
  // writes) rather than through HDF5.
  bool reads_predictions_directly(std::size_t era);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace backscore
