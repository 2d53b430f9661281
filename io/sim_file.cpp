// The simulation file's writer and reader (see sim_file.hpp; layout in docs/FORMAT.md, "The
// simulation file"). Same idioms as the scores file: root attributes, string tables, and
// NaN-filled chunked matrices written one era column at a time.
#include "io/sim_file.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "version.hpp"

namespace backscore {

namespace {

std::string quantity_path(std::string_view name) { return "quantities/" + std::string(name); }
std::string rule_path(const char* group, std::size_t rule) {
  return std::string(group) + "/" + std::to_string(rule);
}

}  // namespace

struct SimulationFileWriter::Impl {
  std::size_t n_rules = 0, n_eras = 0;
  h5::Hid file;
  std::vector<h5::Hid> quantities;       // kSimQuantityCount, R x E each
  h5::Hid store_mm_corr;                 // E
  std::vector<h5::Hid> stakes, payouts;  // R, M x E each
};

SimulationFileWriter::SimulationFileWriter(const std::filesystem::path& path,
                                           const SimulationHeader& header)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  if (header.rule_texts.size() != header.rules.size()) {
    throw std::invalid_argument("SimulationFileWriter: one rule text per rule");
  }
  s.n_rules = header.rules.size();
  s.n_eras = header.eras.size();
  const hsize_t n_models = header.models.size(), n_rules = s.n_rules, n_eras = s.n_eras;
  s.file = h5::create_file(path.string());
  const hid_t root = s.file.get();
  h5::write_attribute(root, "format", std::string(kSimulationFormat));
  h5::write_attribute(root, "version", std::int64_t{kSimulationVersion});
  h5::write_attribute(root, "program", std::string("backscore ") + kVersion);
  h5::write_attribute(root, "store", header.store);
  h5::write_attribute(root, "target", header.target);
  h5::write_attribute(root, "flows", header.flows);
  h5::write_attribute(root, "resolve_lag", header.resolve_lag);
  h5::write_strings(root, "models", header.models);
  h5::write_strings(root, "eras", header.eras);
  h5::write_strings(root, "rules", header.rules);
  h5::write_strings(root, "rule_texts", header.rule_texts);

  const hsize_t era_chunk = std::clamp<hsize_t>(n_eras, 1, 256);
  h5::Hid quantities = h5::create_group(root, "quantities");
  const hsize_t q_dims[2] = {n_rules, n_eras};
  const hsize_t q_chunk[2] = {std::clamp<hsize_t>(n_rules, 1, 4096), era_chunk};
  for (std::string_view name : kSimEraQuantities) {
    s.quantities.push_back(
        h5::create_nan_dataset(quantities.get(), std::string(name), q_dims, q_chunk));
  }
  const hsize_t e_dims[1] = {n_eras};
  const hsize_t e_chunk[1] = {era_chunk};
  s.store_mm_corr = h5::create_nan_dataset(root, "store_mm_corr", e_dims, e_chunk);

  // Stakes and payouts: chunked like the scores file's matrices.
  const hsize_t m_dims[2] = {n_models, n_eras};
  const hsize_t m_chunk[2] = {std::clamp<hsize_t>(n_models, 1, 4096),
                              std::clamp<hsize_t>(n_eras, 1, 16)};
  h5::Hid stakes = h5::create_group(root, "stakes");
  h5::Hid payouts = h5::create_group(root, "payouts");
  for (std::size_t r = 0; r < s.n_rules; ++r) {
    s.stakes.push_back(h5::create_nan_dataset(stakes.get(), std::to_string(r), m_dims, m_chunk));
    s.payouts.push_back(h5::create_nan_dataset(payouts.get(), std::to_string(r), m_dims, m_chunk));
  }
}

SimulationFileWriter::~SimulationFileWriter() = default;

void SimulationFileWriter::write_era(std::size_t column, std::span<const std::int32_t> models,
                                     std::span<const double> stakes,
                                     std::span<const double> payouts,
                                     std::span<const double> quantities, double store_mm_corr) {
  const Impl& s = *impl_;
  const std::size_t R = s.n_rules, m = models.size();
  if (column >= s.n_eras || stakes.size() != R * m || payouts.size() != R * m ||
      quantities.size() != R * kSimQuantityCount) {
    throw std::invalid_argument("SimulationFileWriter::write_era: column " +
                                std::to_string(column) + " or a span's size is off");
  }
  const hsize_t col = column;
  std::vector<hsize_t> coords(2 * std::max(m, R));
  for (std::size_t j = 0; j < m; ++j) {
    coords[2 * j] = static_cast<hsize_t>(models[j]);
    coords[2 * j + 1] = col;
  }
  for (std::size_t r = 0; r < R; ++r) {
    h5::write_elements(s.stakes[r].get(), coords, stakes.subspan(r * m, m), rule_path("stakes", r));
    h5::write_elements(s.payouts[r].get(), coords, payouts.subspan(r * m, m),
                       rule_path("payouts", r));
  }
  // Quantities: one column of R values per quantity.
  for (std::size_t r = 0; r < R; ++r) {
    coords[2 * r] = r;
    coords[2 * r + 1] = col;
  }
  std::vector<double> values(R);
  for (std::size_t q = 0; q < kSimQuantityCount; ++q) {
    for (std::size_t r = 0; r < R; ++r) values[r] = quantities[r * kSimQuantityCount + q];
    h5::write_elements(s.quantities[q].get(), coords, values, quantity_path(kSimEraQuantities[q]));
  }
  const hsize_t at[1] = {col};
  h5::write_elements(s.store_mm_corr.get(), at, std::span<const double>(&store_mm_corr, 1),
                     "store_mm_corr");
}

void SimulationFileWriter::close() {
  impl_->quantities.clear();
  impl_->stakes.clear();
  impl_->payouts.clear();
  impl_->store_mm_corr.reset();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) throw h5::Hdf5Error("H5Fflush failed");
  impl_->file.reset();
}

struct SimulationFileReader::Impl {
  std::filesystem::path path;
  h5::Hid file;
  SimulationHeader header;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path.string() + ": " + what);
  }
  // A float64 dataset `name` of exactly `dims`, else fail naming it and what it should be.
  void check_matrix(const std::string& name, const std::vector<hsize_t>& dims,
                    const char* shape) const {
    if (!h5::exists(file.get(), name)) fail("missing dataset /" + name);
    h5::Hid ds = h5::open_dataset(file.get(), name);
    if (h5::dataset_dims(ds.get(), name) != dims) {
      std::string want;
      for (hsize_t d : dims) want += (want.empty() ? "" : " x ") + std::to_string(d);
      fail("dataset /" + name + " is not " + shape + " (" + want + ")");
    }
  }
  std::vector<double> read(const std::string& name, std::size_t n) const {
    std::vector<double> out(n);
    h5::SilenceHdf5 silence;
    try {
      h5::Hid ds = h5::open_dataset(file.get(), name);
      if (n > 0) h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, out.data(), name);
    } catch (const h5::Hdf5Error& e) {
      fail(e.what());
    }
    return out;
  }
  std::size_t checked_rule(std::size_t rule) const {
    if (rule >= header.rules.size()) {
      throw std::out_of_range("SimulationFileReader: rule " + std::to_string(rule) + " of " +
                              std::to_string(header.rules.size()));
    }
    return rule;
  }
};

SimulationFileReader::SimulationFileReader(const std::filesystem::path& path)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  h5::SilenceHdf5 silence;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) s.fail("no such file");
  if (!h5::is_hdf5(path.string())) {
    s.fail("not an HDF5 file (expected a backscore simulation file)");
  }
  try {
    s.file = h5::open_file(path.string());
    const hid_t root = s.file.get();
    if (!h5::has_attribute(root, "format") ||
        h5::read_string_attribute(root, "format") != kSimulationFormat) {
      s.fail(std::string("not a backscore simulation file (format attribute is not '") +
             kSimulationFormat +
             "'; one is written by `backscore simulate STORE --rule NAME=EXPR --out SIM.h5`)");
    }
    if (!h5::has_attribute(root, "version") ||
        h5::read_int_attribute(root, "version") != kSimulationVersion) {
      s.fail("unsupported simulation file version (this backscore reads version " +
             std::to_string(kSimulationVersion) + "; re-run `backscore simulate`)");
    }
    for (const char* attribute : {"store", "target", "flows", "resolve_lag"}) {
      if (!h5::has_attribute(root, attribute)) {
        s.fail(std::string("missing root attribute '") + attribute + "'");
      }
    }
    SimulationHeader& h = s.header;
    h.store = h5::read_string_attribute(root, "store");
    h.target = h5::read_string_attribute(root, "target");
    h.flows = h5::read_string_attribute(root, "flows");
    h.resolve_lag = h5::read_int_attribute(root, "resolve_lag");
    for (const char* table : {"models", "eras", "rules", "rule_texts"}) {
      if (!h5::exists(root, table)) s.fail(std::string("missing dataset /") + table);
    }
    h.models = h5::read_strings(root, "models");
    h.eras = h5::read_strings(root, "eras");
    h.rules = h5::read_strings(root, "rules");
    h.rule_texts = h5::read_strings(root, "rule_texts");
    if (h.rule_texts.size() != h.rules.size()) {
      s.fail("/rule_texts has " + std::to_string(h.rule_texts.size()) + " entries for " +
             std::to_string(h.rules.size()) + " rules");
    }
    const hsize_t M = h.models.size(), E = h.eras.size(), R = h.rules.size();
    for (std::string_view name : kSimEraQuantities) {
      s.check_matrix(quantity_path(name), {R, E}, "rules x eras");
    }
    s.check_matrix("store_mm_corr", {E}, "eras");
    for (std::size_t r = 0; r < R; ++r) {
      s.check_matrix(rule_path("stakes", r), {M, E}, "models x eras");
      s.check_matrix(rule_path("payouts", r), {M, E}, "models x eras");
    }
  } catch (const h5::Hdf5Error& e) {
    s.fail(e.what());
  }
}

SimulationFileReader::~SimulationFileReader() = default;
SimulationFileReader::SimulationFileReader(SimulationFileReader&&) noexcept = default;
SimulationFileReader& SimulationFileReader::operator=(SimulationFileReader&&) noexcept = default;

const std::filesystem::path& SimulationFileReader::path() const { return impl_->path; }
const SimulationHeader& SimulationFileReader::header() const { return impl_->header; }

std::vector<double> SimulationFileReader::era_quantity(std::size_t rule,
                                                       std::string_view name) const {
  const Impl& s = *impl_;
  s.checked_rule(rule);
  if (sim_quantity_index(name) == kSimQuantityCount) {
    std::string have;
    for (std::string_view q : kSimEraQuantities)
      have += (have.empty() ? "" : ", ") + std::string(q);
    s.fail("no quantity '" + std::string(name) + "' (the file has: " + have + ")");
  }
  const std::size_t E = s.header.eras.size();
  std::vector<double> out(E);
  if (E == 0) return out;
  h5::SilenceHdf5 silence;
  try {
    h5::Hid ds = h5::open_dataset(s.file.get(), quantity_path(name));
    h5::read_rows(ds.get(), H5T_NATIVE_DOUBLE, rule, 1, out.data(), quantity_path(name));
  } catch (const h5::Hdf5Error& e) {
    s.fail(e.what());
  }
  return out;
}

std::vector<double> SimulationFileReader::store_mm_corr() const {
  return impl_->read("store_mm_corr", impl_->header.eras.size());
}

std::vector<double> SimulationFileReader::stakes(std::size_t rule) const {
  const Impl& s = *impl_;
  return s.read(rule_path("stakes", s.checked_rule(rule)),
                s.header.models.size() * s.header.eras.size());
}

std::vector<double> SimulationFileReader::payouts(std::size_t rule) const {
  const Impl& s = *impl_;
  return s.read(rule_path("payouts", s.checked_rule(rule)),
                s.header.models.size() * s.header.eras.size());
}

}  // namespace backscore
