// Scores file reader (see scores_file.hpp; layout in docs/FORMAT.md).
#include "io/scores_file.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "io/hdf5.hpp"

namespace backscore {

struct ScoresFileReader::Impl {
  std::filesystem::path path;
  h5::Hid file;
  std::vector<std::string> models, eras, formulas;

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path.string() + ": " + what);
  }
};

ScoresFileReader::ScoresFileReader(const std::filesystem::path& path)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.path = path;
  h5::SilenceHdf5 silence;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) s.fail("no such file");
  if (!h5::is_hdf5(path.string())) s.fail("not an HDF5 file (expected a backscore scores file)");
  try {
    s.file = h5::open_file(path.string());
    const hid_t root = s.file.get();
    if (!h5::has_attribute(root, "format") ||
        h5::read_string_attribute(root, "format") != kScoresFormat) {
      s.fail(std::string("not a backscore scores file (format attribute is not '") + kScoresFormat +
             "'; a store is scored into one with `backscore run STORE --out SCORES.h5`)");
    }
    if (!h5::has_attribute(root, "version") ||
        h5::read_int_attribute(root, "version") != kScoresVersion) {
      s.fail("unsupported scores file version (this backscore reads version " +
             std::to_string(kScoresVersion) + "; re-run `backscore run`)");
    }
    for (const char* table : {"models", "eras", "formulas"}) {
      if (!h5::exists(root, table)) s.fail(std::string("missing dataset /") + table);
    }
    s.models = h5::read_strings(root, "models");
    s.eras = h5::read_strings(root, "eras");
    s.formulas = h5::read_strings(root, "formulas");
    for (const std::string& f : s.formulas) {
      if (!h5::exists(root, "scores/" + f)) s.fail("missing dataset /scores/" + f);
      h5::Hid ds = h5::open_dataset(root, "scores/" + f);
      const std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), "scores/" + f);
      if (dims.size() != 2 || dims[0] != s.models.size() || dims[1] != s.eras.size()) {
        s.fail("dataset /scores/" + f + " is not models x eras (" +
               std::to_string(s.models.size()) + " x " + std::to_string(s.eras.size()) + ")");
      }
    }
  } catch (const h5::Hdf5Error& e) {
    s.fail(e.what());
  }
}

ScoresFileReader::~ScoresFileReader() = default;
ScoresFileReader::ScoresFileReader(ScoresFileReader&&) noexcept = default;
ScoresFileReader& ScoresFileReader::operator=(ScoresFileReader&&) noexcept = default;

const std::filesystem::path& ScoresFileReader::path() const { return impl_->path; }
const std::vector<std::string>& ScoresFileReader::models() const { return impl_->models; }
const std::vector<std::string>& ScoresFileReader::eras() const { return impl_->eras; }
const std::vector<std::string>& ScoresFileReader::formulas() const { return impl_->formulas; }

bool ScoresFileReader::has_formula(const std::string& name) const {
  return std::find(impl_->formulas.begin(), impl_->formulas.end(), name) != impl_->formulas.end();
}

std::string ScoresFileReader::attribute(const std::string& name) const {
  h5::SilenceHdf5 silence;
  try {
    if (!h5::has_attribute(impl_->file.get(), name)) return "";
    return h5::read_string_attribute(impl_->file.get(), name);
  } catch (const h5::Hdf5Error& e) {
    impl_->fail(e.what());
  }
}

std::string ScoresFileReader::definition(const std::string& formula) const {
  if (!has_formula(formula)) return "";
  h5::SilenceHdf5 silence;
  try {
    h5::Hid ds = h5::open_dataset(impl_->file.get(), "scores/" + formula);
    if (!h5::has_attribute(ds.get(), "definition")) return "";
    return h5::read_string_attribute(ds.get(), "definition");
  } catch (const h5::Hdf5Error& e) {
    impl_->fail(e.what());
  }
}

std::vector<double> ScoresFileReader::read_matrix(const std::string& formula) const {
  if (!has_formula(formula)) {
    std::string have;
    for (const std::string& f : impl_->formulas) have += (have.empty() ? "" : ", ") + f;
    impl_->fail("no formula '" + formula + "' (the file has: " + have + ")");
  }
  std::vector<double> out(impl_->models.size() * impl_->eras.size());
  h5::SilenceHdf5 silence;
  try {
    h5::Hid ds = h5::open_dataset(impl_->file.get(), "scores/" + formula);
    if (!out.empty()) h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, out.data(), "scores/" + formula);
  } catch (const h5::Hdf5Error& e) {
    impl_->fail(e.what());
  }
  return out;
}

}  // namespace backscore
