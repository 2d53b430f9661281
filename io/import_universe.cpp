// The universe CSV of `backscore import` (see import_universe.hpp).
#include "io/import_universe.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"
#include "io/csv.hpp"

namespace backscore {
namespace fs = std::filesystem;

namespace {

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

}  // namespace

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

}  // namespace backscore
