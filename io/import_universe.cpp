// The universe CSV of `backscore import` (see import_universe.hpp): one pass over the file into
// the spill, then each era read back on demand.
#include "io/import_universe.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
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
  std::optional<std::size_t> sample_weight;
  std::vector<std::size_t> neutralizers;  // CSV column of each schema neutralizer
  std::vector<std::size_t> features;      // CSV column of each schema feature
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
    } else if (h == "sample_weight") {
      layout.sample_weight = c;
    } else if (starts_with(h, "neutralizer_")) {
      schema.neutralizers.push_back(h.substr(12));
      layout.neutralizers.push_back(c);
    } else {
      csv.fail(c,
               "not a universe column (era, id, target, target_<name>, meta_model, "
               "benchmark_<name>, feature_<name>, sample_weight, neutralizer_<name>)");
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
  schema.has_sample_weights = layout.sample_weight.has_value();
  return layout;
}

// A row in the spill file: one flag byte (kInt8Features or not), the targets, meta-model,
// benchmarks, sample weight and neutralizers as doubles, then the features as int8 when every one of the row's features is an
// integer in -128..127 (Numerai's 0..4: one byte a value), else as doubles. Either way the store
// gets back exactly the double that was read.
constexpr unsigned char kInt8Features = 1;

// An era's buffer is written out when the reader leaves it holding at least this much: a file
// sorted by era then keeps about one era in memory, and an interleaved one still reads back in
// chunks of a useful size.
constexpr std::size_t kMinChunk = std::size_t{64} << 10;

bool fits_int8(double v) {
  if (!(v >= -128.0 && v <= 127.0)) return false;
  const double back = static_cast<std::int8_t>(v);  // in range: truncation is defined
  return std::memcmp(&back, &v, sizeof v) == 0;     // 1.5 and -0.0 are not int8
}

void append_double(std::vector<unsigned char>& out, double v) {
  unsigned char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out.insert(out.end(), b, b + sizeof v);
}

double read_double(const unsigned char*& p) {
  double v;
  std::memcpy(&v, p, sizeof v);
  p += sizeof v;
  return v;
}

}  // namespace

Universe::Universe(const fs::path& path, const fs::path& beside, std::size_t spill_bytes,
                   StoreSchema& schema) {
  CsvReader csv(path);
  const UniverseLayout layout = universe_layout(csv, schema);
  n_targets_ = schema.targets.size();
  has_meta_model_ = schema.has_meta_model;
  n_benchmarks_ = schema.benchmarks.size();
  n_features_ = schema.features.size();
  has_sample_weights_ = schema.has_sample_weights;
  n_neutralizers_ = schema.neutralizers.size();
  spill_ = std::make_unique<EraSpill>(beside, "universe-spill", spill_bytes);
  std::unordered_map<std::string, std::size_t> era_index;
  std::vector<std::vector<std::uint32_t>> lines;  // CSV line of each era's rows, file order
  std::vector<std::string_view> f;
  std::vector<std::size_t> columns = layout.targets;
  if (layout.meta_model) columns.push_back(*layout.meta_model);
  columns.insert(columns.end(), layout.benchmarks.begin(), layout.benchmarks.end());
  if (layout.sample_weight) columns.push_back(*layout.sample_weight);
  columns.insert(columns.end(), layout.neutralizers.begin(), layout.neutralizers.end());
  const std::size_t first_feature = columns.size();
  columns.insert(columns.end(), layout.features.begin(), layout.features.end());
  std::vector<unsigned char> row;
  std::vector<double> features(n_features_);
  std::size_t last = std::numeric_limits<std::size_t>::max();
  while (csv.next(f)) {
    const std::string_view era = csv.parse_name(f[layout.era], layout.era);
    if (last == std::numeric_limits<std::size_t>::max() || eras_[last].name != era) {
      auto [it, added] = era_index.try_emplace(std::string(era), eras_.size());
      if (added) {
        eras_.push_back(EraRows{std::string(era), {}, {}, {}});
        lines.emplace_back();
      }
      if (last != std::numeric_limits<std::size_t>::max()) spill_->leave(last, kMinChunk);
      last = it->second;
    }
    EraRows& e = eras_[last];
    e.id_text += csv.parse_name(f[layout.id], layout.id);
    if (e.id_text.size() > std::numeric_limits<std::uint32_t>::max()) {
      csv.fail("more than 4 GB of ids in era '" + e.name + "'");
    }
    e.id_end.push_back(static_cast<std::uint32_t>(e.id_text.size()));
    if (csv.line() > std::numeric_limits<std::uint32_t>::max()) {
      csv.fail("more than 2^32 lines in the universe; split it");
    }
    lines[last].push_back(static_cast<std::uint32_t>(csv.line()));
    row.assign(1, kInt8Features);
    for (std::size_t k = 0; k < first_feature; ++k) {
      append_double(row, csv.parse_finite(f[columns[k]], columns[k]));
    }
    bool int8 = true;
    for (std::size_t k = first_feature; k < columns.size(); ++k) {
      const std::size_t c = columns[k];
      // A single digit (Numerai's 0..4) is the common case: what parse_finite would give.
      const double v = f[c].size() == 1 && f[c][0] >= '0' && f[c][0] <= '9'
                           ? static_cast<double>(f[c][0] - '0')
                           : csv.parse_finite(f[c], c);
      // Features that are not small integers are stored as float32 (FORMAT.md).
      if (std::fabs(v) > std::numeric_limits<float>::max()) {
        csv.fail(c, std::string(f[c]) + " does not fit a 32-bit float");
      }
      features[k - first_feature] = v;
      int8 = int8 && fits_int8(v);
    }
    if (int8) {
      for (const double v : features)
        row.push_back(static_cast<unsigned char>(static_cast<std::int8_t>(v)));
    } else {
      row[0] = 0;
      for (const double v : features) append_double(row, v);
    }
    spill_->add(last, row.data(), row.size());
  }
  if (eras_.empty()) throw InputError(path.string() + ": no rows after the header");
  spill_->flush();  // from here on, one era at a time is in memory

  for (std::size_t x = 0; x < eras_.size(); ++x) {
    EraRows& u = eras_[x];
    const std::vector<std::uint32_t>& line = lines[x];
    const std::size_t n = u.size();
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), std::uint32_t{0});
    std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
      const std::string_view ia = u.id(a), ib = u.id(b);
      return ia != ib ? ia < ib : a < b;  // a duplicate after the row it repeats
    });
    EraRows sorted{std::move(u.name), {}, {}, std::vector<std::uint32_t>(n)};
    sorted.id_text.reserve(u.id_text.size());
    sorted.id_end.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t r = order[i];
      const std::string_view id = u.id(r);
      if (i > 0 && id == sorted.id(i - 1)) {
        throw InputError(one_line(path.string() + ":" + std::to_string(line[r]) +
                                  ": column 'id' (" + std::to_string(layout.id + 1) +
                                  "): duplicate id '" + std::string(id) + "' in era '" +
                                  sorted.name + "' (first on line " +
                                  std::to_string(line[order[i - 1]]) + ")"));
      }
      sorted.id_text += id;
      sorted.id_end.push_back(static_cast<std::uint32_t>(sorted.id_text.size()));
      sorted.position[r] = static_cast<std::uint32_t>(i);
    }
    u = std::move(sorted);
    std::vector<std::uint32_t>().swap(lines[x]);
  }
}

Universe::~Universe() = default;

Era Universe::take(std::size_t index) {
  EraRows& u = eras_[index];
  const std::size_t n = u.size();
  std::vector<unsigned char> bytes(spill_->size(index));
  spill_->take(index, bytes.data());
  Era era;
  era.name = u.name;
  era.ids.reserve(n);
  for (std::size_t i = 0; i < n; ++i) era.ids.emplace_back(u.id(i));
  era.targets.resize(n_targets_ * n);
  if (has_meta_model_) era.meta_model.resize(n);
  era.benchmarks.resize(n_benchmarks_ * n);
  if (has_sample_weights_) era.sample_weights.resize(n);
  era.neutralizers.resize(n_neutralizers_ * n);
  era.features.resize(n_features_ * n);
  // Each row's targets, meta-model and benchmarks, and where its features start (in id order).
  std::vector<const unsigned char*> features(n);
  std::vector<unsigned char> int8(n);
  const unsigned char* p = bytes.data();
  const unsigned char* const end = p + bytes.size();
  bool whole = true;
  for (std::size_t r = 0; r < n; ++r) {
    const std::size_t i = u.position[r];
    int8[i] = p < end && *p == kInt8Features;
    const std::size_t row_bytes =
        1 + 8 * (n_targets_ + has_meta_model_ + n_benchmarks_ + has_sample_weights_ +
                 n_neutralizers_) +
        (int8[i] ? 1 : 8) * n_features_;
    if (static_cast<std::size_t>(end - p) < row_bytes) {
      whole = false;
      break;
    }
    ++p;
    for (std::size_t k = 0; k < n_targets_; ++k) era.targets[k * n + i] = read_double(p);
    if (has_meta_model_) era.meta_model[i] = read_double(p);
    for (std::size_t k = 0; k < n_benchmarks_; ++k) era.benchmarks[k * n + i] = read_double(p);
    if (has_sample_weights_) era.sample_weights[i] = read_double(p);
    for (std::size_t k = 0; k < n_neutralizers_; ++k) era.neutralizers[k * n + i] = read_double(p);
    features[i] = p;
    p += (int8[i] ? 1 : 8) * n_features_;
  }
  if (!whole || p != end) {
    throw InputError("the universe spill file of era '" + u.name + "' does not read back whole");
  }
  // The features, transposed a block of kBlock features at a time: the block of each row is a
  // cache line or two read once, and kBlock rows of the store's matrix are written in order.
  constexpr std::size_t kBlock = 64;
  for (std::size_t k0 = 0; k0 < n_features_; k0 += kBlock) {
    const std::size_t k1 = std::min(n_features_, k0 + kBlock);
    for (std::size_t i = 0; i < n; ++i) {
      double* out = era.features.data() + k0 * n + i;
      if (int8[i]) {
        const unsigned char* f = features[i] + k0;
        for (std::size_t k = k0; k < k1; ++k, out += n) *out = static_cast<std::int8_t>(*f++);
      } else {
        const unsigned char* f = features[i] + 8 * k0;
        for (std::size_t k = k0; k < k1; ++k, out += n) *out = read_double(f);
      }
    }
  }
  u = EraRows{std::move(u.name), {}, {}, {}};
  return era;
}

std::optional<std::uint32_t> Universe::find(std::size_t era, std::string_view id) const {
  const EraRows& u = eras_[era];
  std::size_t lo = 0, hi = u.size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (u.id(mid) < id) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == u.size() || u.id(lo) != id) return std::nullopt;
  return static_cast<std::uint32_t>(lo);
}

}  // namespace backscore
