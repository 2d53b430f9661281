#include "io/import.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "io/csv.hpp"
#include "core/error.hpp"
#include "io/store.hpp"

namespace backscore {
namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------------------------------------
// The universe: one row per (era, stock).

struct UniverseLayout {
  std::size_t era = 0, id = 0;
  std::vector<std::size_t> targets;  // CSV column of each schema target
  std::optional<std::size_t> meta_model;
  std::vector<std::size_t> benchmarks;  // CSV column of each schema benchmark
  std::vector<std::size_t> features;    // CSV column of each schema feature
  std::size_t values() const {
    return targets.size() + (meta_model ? 1 : 0) + benchmarks.size() + features.size();
  }
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && s.substr(0, prefix.size()) == prefix;
}

UniverseLayout universe_layout(const CsvReader& csv, StoreSchema& schema) {
  UniverseLayout layout;
  std::optional<std::size_t> era, id, target;
  const auto& header = csv.header();
  for (std::size_t c = 0; c < header.size(); ++c) {
    const std::string& h = header[c];
    if (h == "era") {
      era = c;
    } else if (h == "id") {
      id = c;
    } else if (h == "target") {
      target = c;
    } else if (h == "meta_model") {
      layout.meta_model = c;
    } else if (starts_with(h, "target_")) {
      schema.targets.push_back(h);
      layout.targets.push_back(c);
    } else if (starts_with(h, "benchmark_")) {
      schema.benchmarks.push_back(h.substr(10));
      layout.benchmarks.push_back(c);
    } else if (starts_with(h, "feature_")) {
      schema.features.push_back(h.substr(8));
      layout.features.push_back(c);
    } else {
      csv.fail(c,
               "not a universe column (era, id, target, target_<name>, meta_model, "
               "benchmark_<name>, feature_<name>)");
    }
  }
  if (!era || !id || !target) {
    csv.fail(std::string("header: the universe needs the columns era, id and target (has ") +
             std::to_string(header.size()) + " columns, missing " +
             (!era  ? "era"
              : !id ? "id"
                    : "target") +
             ")");
  }
  layout.era = *era;
  layout.id = *id;
  schema.targets.insert(schema.targets.begin(), "target");
  layout.targets.insert(layout.targets.begin(), *target);
  schema.has_meta_model = layout.meta_model.has_value();
  return layout;
}

struct UniverseEra {
  std::string name;
  std::vector<std::string> ids;
  std::vector<std::size_t> lines;
  std::vector<double> values;  // row-major, layout.values() per row
};

// Reads the universe into eras (first-appearance order) with ids sorted by byte order and the
// values laid out as the store wants them.
std::vector<Era> read_universe(const fs::path& path, StoreSchema& schema) {
  CsvReader csv(path);
  const UniverseLayout layout = universe_layout(csv, schema);
  const std::size_t n_values = layout.values();
  std::vector<UniverseEra> rows;
  std::unordered_map<std::string, std::size_t> era_index;
  std::vector<std::string_view> f;
  std::vector<std::size_t> columns = layout.targets;
  if (layout.meta_model) columns.push_back(*layout.meta_model);
  columns.insert(columns.end(), layout.benchmarks.begin(), layout.benchmarks.end());
  const std::size_t first_feature = columns.size();
  columns.insert(columns.end(), layout.features.begin(), layout.features.end());
  std::size_t last = std::numeric_limits<std::size_t>::max();
  while (csv.next(f)) {
    const std::string_view era = csv.parse_name(f[layout.era], layout.era);
    if (last == std::numeric_limits<std::size_t>::max() || rows[last].name != era) {
      auto [it, added] = era_index.try_emplace(std::string(era), rows.size());
      if (added) rows.push_back(UniverseEra{std::string(era), {}, {}, {}});
      last = it->second;
    }
    UniverseEra& e = rows[last];
    e.ids.emplace_back(csv.parse_name(f[layout.id], layout.id));
    e.lines.push_back(csv.line());
    for (std::size_t k = 0; k < columns.size(); ++k) {
      const std::size_t c = columns[k];
      const double v = csv.parse_finite(f[c], c);
      // Features that are not small integers are stored as float32 (FORMAT.md).
      if (k >= first_feature && std::fabs(v) > std::numeric_limits<float>::max()) {
        csv.fail(c, std::string(f[c]) + " does not fit a 32-bit float");
      }
      e.values.push_back(v);
    }
  }
  if (rows.empty()) throw InputError(path.string() + ": no rows after the header");

  std::vector<Era> eras;
  eras.reserve(rows.size());
  const std::size_t n_targets = schema.targets.size(), n_bench = schema.benchmarks.size();
  const std::size_t n_features = schema.features.size();
  for (UniverseEra& u : rows) {
    const std::size_t n = u.ids.size();
    std::vector<std::size_t> order(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return u.ids[a] != u.ids[b] ? u.ids[a] < u.ids[b] : u.lines[a] < u.lines[b];
    });
    Era era;
    era.name = u.name;
    era.ids.reserve(n);
    era.targets.resize(n_targets * n);
    if (schema.has_meta_model) era.meta_model.resize(n);
    era.benchmarks.resize(n_bench * n);
    era.features.resize(n_features * n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t r = order[i];
      if (i > 0 && u.ids[r] == era.ids.back()) {
        throw InputError(path.string() + ":" + std::to_string(u.lines[r]) + ": column 'id' (" +
                         std::to_string(layout.id + 1) + "): duplicate id '" + u.ids[r] +
                         "' in era '" + u.name + "' (first on line " +
                         std::to_string(u.lines[order[i - 1]]) + ")");
      }
      era.ids.push_back(std::move(u.ids[r]));
      const double* v = u.values.data() + r * n_values;
      for (std::size_t k = 0; k < n_targets; ++k) era.targets[k * n + i] = *v++;
      if (schema.has_meta_model) era.meta_model[i] = *v++;
      for (std::size_t k = 0; k < n_bench; ++k) era.benchmarks[k * n + i] = *v++;
      for (std::size_t k = 0; k < n_features; ++k) era.features[k * n + i] = *v++;
    }
    u = UniverseEra{};  // give the row-major copy back as we go
    eras.push_back(std::move(era));
  }
  return eras;
}

// ---------------------------------------------------------------------------------------------
// Predictions: read in file order, bucketed by era into a spill file, assembled one era at a time.

struct Cell {
  std::uint32_t model, row;
  float value;  // NaN: an empty cell
  std::uint32_t source, line;
};

class EraSpill {
 public:
  EraSpill(const fs::path& beside, std::size_t eras) : buffers_(eras), chunks_(eras) {
    path_ = beside;
    path_ += ".spill-" + std::to_string(::getpid());
    file_ = std::fopen(path_.c_str(), "w+b");
    if (!file_) throw InputError("cannot create " + path_.string() + ": " + std::strerror(errno));
    ::unlink(path_.c_str());  // the space is freed when the file is closed, even on a crash
    // Test hook: a tiny buffer exercises the spill path on small inputs.
    if (const char* cells = std::getenv("BACKSCORE_TEST_SPILL_CELLS")) {
      max_buffered_ = std::max<std::size_t>(1, std::strtoull(cells, nullptr, 10));
    }
  }
  ~EraSpill() { std::fclose(file_); }
  EraSpill(const EraSpill&) = delete;
  EraSpill& operator=(const EraSpill&) = delete;

  void add(std::size_t era, const Cell& cell) {
    buffers_[era].push_back(cell);
    if (++buffered_ >= max_buffered_) flush();
  }

  // Every cell of the era, in the order added.
  std::vector<Cell> take(std::size_t era) {
    std::vector<Cell> cells;
    std::size_t total = buffers_[era].size();
    for (const auto& [offset, count] : chunks_[era]) total += count;
    cells.reserve(total);
    for (const auto& [offset, count] : chunks_[era]) {
      const std::size_t at = cells.size();
      cells.resize(at + count);
      if (::fseeko(file_, offset, SEEK_SET) != 0 ||
          std::fread(cells.data() + at, sizeof(Cell), count, file_) != count) {
        throw InputError("cannot read back " + path_.string() + ": " + std::strerror(errno));
      }
    }
    cells.insert(cells.end(), buffers_[era].begin(), buffers_[era].end());
    std::vector<Cell>().swap(buffers_[era]);
    return cells;
  }

 private:
  void flush() {
    if (::fseeko(file_, end_, SEEK_SET) != 0) fail();
    for (std::size_t e = 0; e < buffers_.size(); ++e) {
      std::vector<Cell>& b = buffers_[e];
      if (b.empty()) continue;
      if (std::fwrite(b.data(), sizeof(Cell), b.size(), file_) != b.size()) fail();
      chunks_[e].emplace_back(end_, b.size());
      end_ += static_cast<off_t>(b.size() * sizeof(Cell));
      std::vector<Cell>().swap(b);
    }
    if (std::fflush(file_) != 0) fail();
    buffered_ = 0;
  }
  [[noreturn]] void fail() const {
    throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  }

  fs::path path_;
  std::FILE* file_ = nullptr;
  std::vector<std::vector<Cell>> buffers_;
  std::vector<std::vector<std::pair<off_t, std::size_t>>> chunks_;
  std::size_t buffered_ = 0;
  std::size_t max_buffered_ = std::size_t{1} << 22;  // 80 MB of cells
  off_t end_ = 0;
};

class Importer {
 public:
  Importer(const ImportOptions& o, std::vector<Era>& eras, StoreSchema& schema)
      : options_(o), eras_(eras), schema_(schema), spill_(o.out, eras.size()) {
    for (std::size_t e = 0; e < eras_.size(); ++e) era_index_.emplace(eras_[e].name, e);
  }

  void read_long(const fs::path& path) {
    CsvReader csv(path);
    std::size_t col[4];
    const char* names[4] = {"model", "era", "id", "prediction"};
    for (int k = 0; k < 4; ++k) {
      const auto c = csv.column(names[k]);
      if (!c)
        csv.fail(std::string("header: the predictions need the columns model, era, id, "
                             "prediction (missing ") +
                 names[k] + ")");
      col[k] = *c;
    }
    const std::size_t source = add_source(path, col[2]);
    if (csv.header().size() != 4) {
      for (std::size_t c = 0; c < csv.header().size(); ++c) {
        if (std::find(col, col + 4, c) == col + 4) {
          csv.fail(c, "not a predictions column (model, era, id, prediction)");
        }
      }
    }
    std::vector<std::string_view> f;
    while (csv.next(f)) {
      const std::uint32_t model = intern_model(csv.parse_name(f[col[0]], col[0]));
      const std::size_t era = find_era(csv, f[col[1]], col[1]);
      add(csv, source, era, model, f[col[2]], col[2], f[col[3]], col[3]);
    }
  }

  // DIR/<model>/<era>.csv, each with an `id` column and one prediction column.
  void read_dir(const fs::path& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      throw InputError(dir.string() +
                       ": not a directory (--predictions-dir expects "
                       "DIR/<model>/<era>.csv)");
    }
    std::size_t files = 0;
    for (const fs::path& model_dir : sorted_entries(dir)) {
      if (!fs::is_directory(model_dir, ec)) continue;
      for (const fs::path& file : sorted_entries(model_dir)) {
        if (file.extension() != ".csv") continue;
        ++files;
        const std::uint32_t model = intern_model(model_dir.filename().string());
        const std::string era_name = file.stem().string();
        const auto it = era_index_.find(era_name);
        if (it == era_index_.end()) {
          throw InputError(file.string() + ": era '" + era_name +
                           "' (the file name) is not in the universe " +
                           options_.universe.string());
        }
        CsvReader csv(file);
        const auto id = csv.column("id");
        if (!id || csv.header().size() != 2) {
          csv.fail("header: a submission file needs two columns, id and the prediction");
        }
        const std::size_t source = add_source(file, *id);
        const std::size_t value = 1 - *id;
        std::vector<std::string_view> f;
        while (csv.next(f)) add(csv, source, it->second, model, f[*id], *id, f[value], value);
      }
    }
    if (files == 0) {
      throw InputError(dir.string() + ": no <model>/<era>.csv files");
    }
  }

  // model,era,stake. Stakes of unknown models or eras are counted and ignored (a stake export
  // usually covers more rounds than the history imported); a duplicate or bad value is an error.
  void read_stakes(const fs::path& path) {
    CsvReader csv(path);
    std::size_t col[3];
    const char* names[3] = {"model", "era", "stake"};
    for (int k = 0; k < 3; ++k) {
      const auto c = csv.column(names[k]);
      if (!c)
        csv.fail(std::string("header: the stakes need the columns model, era, stake (missing ") +
                 names[k] + ")");
      col[k] = *c;
    }
    std::vector<std::string_view> f;
    while (csv.next(f)) {
      const std::string_view model_name = csv.parse_name(f[col[0]], col[0]);
      const std::string_view era_name = csv.parse_name(f[col[1]], col[1]);
      const double stake = csv.parse_finite(f[col[2]], col[2]);
      if (stake < 0) csv.fail(col[2], "stake " + std::string(f[col[2]]) + " is negative");
      const auto m = model_index_.find(std::string(model_name));
      const auto e = era_index_.find(std::string(era_name));
      if (m == model_index_.end() || e == era_index_.end()) {
        ++summary_.stakes_ignored;
        continue;
      }
      const std::uint64_t key = (std::uint64_t{e->second} << 32) | m->second;
      const auto [it, added] = stakes_.try_emplace(key, stake, csv.line());
      if (!added) {
        csv.fail("duplicate stake for model '" + std::string(model_name) + "' in era '" +
                 std::string(era_name) + "' (first on line " + std::to_string(it->second.second) +
                 ")");
      }
    }
  }

  ImportSummary write() {
    if (model_names_.empty()) {
      throw InputError("no predictions: give --predictions FILE or --predictions-dir DIR");
    }
    schema_.models = model_names_;
    schema_.has_stakes = options_.stakes.has_value();
    StoreWriter writer(options_.out, schema_);
    summary_.eras = eras_.size();
    summary_.models = model_names_.size();
    summary_.min_stocks = std::numeric_limits<std::size_t>::max();
    std::vector<float> matrix;
    for (std::size_t e = 0; e < eras_.size(); ++e) {
      Era& era = eras_[e];
      const std::size_t n = era.n_stocks();
      summary_.rows += n;
      summary_.min_stocks = std::min(summary_.min_stocks, n);
      summary_.max_stocks = std::max(summary_.max_stocks, n);
      std::vector<Cell> cells = spill_.take(e);
      std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
        if (a.model != b.model) return a.model < b.model;
        if (a.row != b.row) return a.row < b.row;
        return a.source != b.source ? a.source < b.source : a.line < b.line;
      });
      for (std::size_t k = 0; k < cells.size(); ++k) {
        if (k == 0 || cells[k].model != cells[k - 1].model) {
          era.models.push_back(static_cast<std::int32_t>(cells[k].model));
        } else if (cells[k].row == cells[k - 1].row) {
          throw InputError(where(cells[k]) + ": column 'id' (" +
                           std::to_string(id_columns_[cells[k].source] + 1) +
                           "): duplicate prediction for model '" + model_names_[cells[k].model] +
                           "', era '" + era.name + "', id '" + era.ids[cells[k].row] +
                           "' (first at " + where(cells[k - 1]) + ")");
        }
      }
      const std::size_t m = era.models.size();
      summary_.submissions += m;
      matrix.assign(m * n, std::numeric_limits<float>::quiet_NaN());
      for (std::size_t k = 0, j = 0; k < cells.size(); ++k) {
        if (k > 0 && cells[k].model != cells[k - 1].model) ++j;
        matrix[j * n + cells[k].row] = cells[k].value;
      }
      if (schema_.has_stakes) {
        era.stakes.assign(m, 0.0);
        for (std::size_t j = 0; j < m; ++j) {
          const auto it =
              stakes_.find((std::uint64_t{e} << 32) | static_cast<std::uint32_t>(era.models[j]));
          if (it == stakes_.end()) continue;
          era.stakes[j] = it->second.first;
          stakes_.erase(it);
          ++summary_.stakes;
        }
      }
      writer.append_era(era, matrix);
      era = Era{};
    }
    summary_.stakes_ignored += stakes_.size();
    writer.finish();
    return summary_;
  }

 private:
  static std::vector<fs::path> sorted_entries(const fs::path& dir) {
    std::vector<fs::path> entries;
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path().filename().string().starts_with(".")) continue;
      entries.push_back(it->path());
    }
    if (ec) throw InputError(dir.string() + ": cannot list: " + ec.message());
    std::sort(entries.begin(), entries.end());
    return entries;
  }

  std::size_t add_source(const fs::path& path, std::size_t id_column) {
    sources_.push_back(path.string());
    id_columns_.push_back(id_column);
    if (sources_.size() > std::numeric_limits<std::uint32_t>::max()) {
      throw InputError(path.string() + ": too many prediction files");
    }
    return sources_.size() - 1;
  }

  std::string where(const Cell& c) const {
    return sources_[c.source] + ":" + std::to_string(c.line);
  }

  std::uint32_t intern_model(std::string_view name) {
    if (!model_names_.empty() && model_names_[last_model_] == name) return last_model_;
    const auto [it, added] = model_index_.try_emplace(
        std::string(name), static_cast<std::uint32_t>(model_names_.size()));
    if (added) model_names_.emplace_back(name);
    last_model_ = it->second;
    return last_model_;
  }

  std::size_t find_era(const CsvReader& csv, std::string_view field, std::size_t column) {
    const std::string_view name = csv.parse_name(field, column);
    if (last_era_ < eras_.size() && eras_[last_era_].name == name) return last_era_;
    const auto it = era_index_.find(std::string(name));
    if (it == era_index_.end()) {
      csv.fail(column, "era '" + std::string(name) + "' is not in the universe " +
                           options_.universe.string());
    }
    return last_era_ = it->second;
  }

  void add(const CsvReader& csv, std::size_t source, std::size_t era, std::uint32_t model,
           std::string_view id_field, std::size_t id_column, std::string_view value_field,
           std::size_t value_column) {
    const std::vector<std::string>& ids = eras_[era].ids;
    const std::string_view id = csv.parse_name(id_field, id_column);
    const auto it = std::lower_bound(
        ids.begin(), ids.end(), id, [](const std::string& a, std::string_view b) { return a < b; });
    if (it == ids.end() || *it != id) {
      csv.fail(id_column, "id '" + std::string(id) + "' is not in era '" + eras_[era].name +
                              "' of the universe " + options_.universe.string());
    }
    const std::optional<double> v = csv.parse_double(value_field, value_column);
    if (v && std::abs(*v) > std::numeric_limits<float>::max()) {
      csv.fail(value_column, std::string(value_field) + " does not fit a 32-bit float");
    }
    ++summary_.predictions;
    if (!v) ++summary_.empty_predictions;
    if (csv.line() > std::numeric_limits<std::uint32_t>::max()) {
      csv.fail("more than 2^32 lines in one predictions file; split it");
    }
    spill_.add(era,
               Cell{model, static_cast<std::uint32_t>(it - ids.begin()),
                    v ? static_cast<float>(*v) : std::numeric_limits<float>::quiet_NaN(),
                    static_cast<std::uint32_t>(source), static_cast<std::uint32_t>(csv.line())});
  }

  const ImportOptions& options_;
  std::vector<Era>& eras_;
  StoreSchema& schema_;
  EraSpill spill_;
  std::unordered_map<std::string, std::size_t> era_index_;
  std::unordered_map<std::string, std::uint32_t> model_index_;
  std::vector<std::string> model_names_;
  std::uint32_t last_model_ = 0;
  std::size_t last_era_ = std::numeric_limits<std::size_t>::max();
  std::vector<std::string> sources_;
  std::vector<std::size_t> id_columns_;  // of each source, for messages
  std::unordered_map<std::uint64_t, std::pair<double, std::size_t>> stakes_;  // stake, line
  ImportSummary summary_;
};

}  // namespace

ImportSummary import_csv(const ImportOptions& options) {
  const auto same_file = [&](const fs::path& in) {
    std::error_code ec;
    return fs::equivalent(in, options.out, ec);
  };
  if (same_file(options.universe) || (options.stakes && same_file(*options.stakes)) ||
      std::any_of(options.predictions.begin(), options.predictions.end(), same_file)) {
    throw InputError(options.out.string() + ": --out would overwrite an input file");
  }
  StoreSchema schema;
  std::vector<Era> eras = read_universe(options.universe, schema);
  Importer importer(options, eras, schema);
  for (const fs::path& p : options.predictions) importer.read_long(p);
  for (const fs::path& d : options.prediction_dirs) importer.read_dir(d);
  if (options.stakes) importer.read_stakes(*options.stakes);
  return importer.write();
}

}  // namespace backscore
