// Scores file writer (see scores_file.hpp; layout in docs/FORMAT.md).
#include <algorithm>
#include <cmath>

#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "version.hpp"

namespace backscore {

struct ScoresFileWriter::Impl {
  hsize_t n_models = 0;
  h5::Hid file;
  std::vector<h5::Hid> datasets;   // one per formula
  std::vector<std::string> paths;  // theirs, "scores/<formula>", for errors
};

ScoresFileWriter::ScoresFileWriter(const std::filesystem::path& path,
                                   const ScoresFileHeader& header)
    : impl_(std::make_unique<Impl>()) {
  const hsize_t n_models = impl_->n_models = header.models.size();
  impl_->file = h5::create_file(path.string());
  const hid_t root = impl_->file.get();
  h5::write_attribute(root, "format", std::string(kScoresFormat));
  h5::write_attribute(root, "version", std::int64_t{kScoresVersion});
  h5::write_attribute(root, "program", std::string("backscore ") + kVersion);
  h5::write_attribute(root, "store", header.store);
  h5::write_attribute(root, "target", header.target);
  h5::write_attribute(root, "benchmark", header.benchmark);
  h5::write_strings(root, "models", header.models);
  h5::write_strings(root, "eras", header.eras);
  h5::write_strings(root, "formulas", header.formulas);
  h5::Hid scores = h5::create_group(root, "scores");
  const hsize_t dims[2] = {n_models, header.eras.size()};
  const hsize_t chunk[2] = {std::clamp<hsize_t>(n_models, 1, 4096),
                            std::clamp<hsize_t>(header.eras.size(), 1, 16)};
  for (std::size_t f = 0; f < header.formulas.size(); ++f) {
    h5::Hid ds = h5::create_nan_dataset(scores.get(), header.formulas[f], dims, chunk);
    h5::write_attribute(ds.get(), "definition", header.definitions[f]);
    impl_->datasets.push_back(std::move(ds));
    impl_->paths.push_back("scores/" + header.formulas[f]);
  }
}

ScoresFileWriter::~ScoresFileWriter() = default;

void ScoresFileWriter::write_era(std::size_t column, std::span<const std::int32_t> models,
                                 std::span<const double> scores) {
  if (models.empty()) return;
  const std::size_t m = models.size();
  const std::size_t n_formulas = impl_->datasets.size();
  std::vector<hsize_t> coords(2 * m);
  for (std::size_t j = 0; j < m; ++j) {
    coords[2 * j] = static_cast<hsize_t>(models[j]);
    coords[2 * j + 1] = column;
  }
  std::vector<double> values(m);
  for (std::size_t f = 0; f < n_formulas; ++f) {
    for (std::size_t j = 0; j < m; ++j) values[j] = scores[j * n_formulas + f];
    h5::write_elements(impl_->datasets[f].get(), coords, values, impl_->paths[f]);
  }
}

void ScoresFileWriter::close() {
  impl_->datasets.clear();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) throw h5::Hdf5Error("H5Fflush failed");
  impl_->file.reset();
}

}  // namespace backscore
