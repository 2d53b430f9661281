// `backscore import` (see import.hpp): the universe into its spill file (import_universe.*), then
// every predictions file and directory through theirs (era_spill.*), then the stakes, then the
// store one era at a time, each era's universe and predictions read back from the spill files.
#include "io/import.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "core/error.hpp"
#include "io/csv.hpp"
#include "io/era_spill.hpp"
#include "io/import_universe.hpp"
#include "io/store.hpp"

namespace backscore {
namespace fs = std::filesystem;

namespace {

class Importer {
 public:
  Importer(const ImportOptions& o, Universe& universe, StoreSchema& schema)
      : options_(o),
        universe_(universe),
        schema_(schema),
        spill_(o.out, "spill", o.spill_cells * sizeof(Cell)) {
    for (std::size_t e = 0; e < universe_.eras(); ++e) era_index_.emplace(universe_.name(e), e);
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
      throw OptionError({dir.string() + ": not a directory (", "prediction_dirs",
                         " expects DIR/<model>/<era>.csv)"});
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
          throw InputError(file.string() + ": era '" + one_line(era_name) +
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
      throw OptionError(
          {"no predictions: give ", "predictions", " FILE or ", "prediction_dirs", " DIR"});
    }
    schema_.models = model_names_;
    schema_.has_stakes = options_.stakes.has_value();
    StoreWriter writer(options_.out, schema_);
    summary_.eras = universe_.eras();
    summary_.models = model_names_.size();
    summary_.min_stocks = std::numeric_limits<std::size_t>::max();
    std::vector<float> matrix;
    for (std::size_t e = 0; e < universe_.eras(); ++e) {
      Era era = universe_.take(e);
      const std::size_t n = era.n_stocks();
      summary_.rows += n;
      summary_.min_stocks = std::min(summary_.min_stocks, n);
      summary_.max_stocks = std::max(summary_.max_stocks, n);
      std::vector<Cell> cells(spill_.size(e) / sizeof(Cell));
      spill_.take(e, cells.data());
      std::sort(cells.begin(), cells.end(), [](const Cell& a, const Cell& b) {
        if (a.model != b.model) return a.model < b.model;
        if (a.row != b.row) return a.row < b.row;
        return a.source != b.source ? a.source < b.source : a.line < b.line;
      });
      for (std::size_t k = 0; k < cells.size(); ++k) {
        if (k == 0 || cells[k].model != cells[k - 1].model) {
          era.models.push_back(static_cast<std::int32_t>(cells[k].model));
        } else if (cells[k].row == cells[k - 1].row) {
          throw InputError(one_line(where(cells[k]) + ": column 'id' (" +
                           std::to_string(id_columns_[cells[k].source] + 1) +
                           "): duplicate prediction for model '" + model_names_[cells[k].model] +
                           "', era '" + era.name + "', id '" + era.ids[cells[k].row] +
                           "' (first at " + where(cells[k - 1]) + ")"));
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
    if (last_era_ < universe_.eras() && universe_.name(last_era_) == name) return last_era_;
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
    const std::string_view id = csv.parse_name(id_field, id_column);
    const std::optional<std::uint32_t> row = universe_.find(era, id);
    if (!row) {
      csv.fail(id_column, "id '" + std::string(id) + "' is not in era '" + universe_.name(era) +
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
    const Cell cell{model, *row,
                    v ? static_cast<float>(*v) : std::numeric_limits<float>::quiet_NaN(),
                    static_cast<std::uint32_t>(source), static_cast<std::uint32_t>(csv.line())};
    spill_.add(era, &cell, sizeof cell);
  }

  const ImportOptions& options_;
  Universe& universe_;
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
    throw OptionError({options.out.string() + ": ", "out", " would overwrite an input file"});
  }
  StoreSchema schema;
  Universe universe(options.universe, options.out, options.universe_spill_bytes, schema);
  Importer importer(options, universe, schema);
  for (const fs::path& p : options.predictions) importer.read_long(p);
  for (const fs::path& d : options.prediction_dirs) importer.read_dir(d);
  if (options.stakes) importer.read_stakes(*options.stakes);
  return importer.write();
}

}  // namespace backscore
