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
  std::vector<h5::Hid> datasets;  // one per formula
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
    const std::string& name = header.formulas[f];
    h5::Hid dcpl = h5::dataset_creation_properties(name);
    const double nan = std::nan("");
    if (H5Pset_chunk(dcpl.get(), 2, chunk) < 0 ||
        H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan) < 0 ||
        H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC) < 0) {
      throw h5::Hdf5Error("dataset creation properties failed for 'scores/" + name + "'");
    }
    h5::Hid space(H5Screate_simple(2, dims, nullptr));
    // A chunk cache that holds one column of chunks (twice, for slack): eras are written one
    // column at a time, and a chunk is complete once its 16 eras are; a larger cache would
    // keep every chunk of the history in memory until the file closes.
    const hsize_t column_chunks = (n_models + chunk[0] - 1) / chunk[0];
    const std::size_t cache_bytes =
        static_cast<std::size_t>(2 * column_chunks * chunk[0] * chunk[1] * sizeof(double));
    h5::Hid dapl(H5Pcreate(H5P_DATASET_ACCESS));
    H5Pset_chunk_cache(dapl.get(), 521, cache_bytes, 1.0);
    hid_t ds = H5Dcreate2(scores.get(), name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                          dcpl.get(), dapl.get());
    if (ds < 0) throw h5::Hdf5Error("H5Dcreate2 failed for 'scores/" + name + "'");
    impl_->datasets.emplace_back(ds);
    h5::write_attribute(ds, "definition", header.definitions[f]);
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
  const hsize_t mem_dims[1] = {m};
  h5::Hid mem(H5Screate_simple(1, mem_dims, nullptr));
  for (std::size_t f = 0; f < n_formulas; ++f) {
    for (std::size_t j = 0; j < m; ++j) values[j] = scores[j * n_formulas + f];
    h5::Hid space(H5Dget_space(impl_->datasets[f].get()));
    if (H5Sselect_elements(space.get(), H5S_SELECT_SET, m, coords.data()) < 0 ||
        H5Dwrite(impl_->datasets[f].get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT,
                 values.data()) < 0) {
      throw h5::Hdf5Error("H5Dwrite failed for a scores column");
    }
  }
}

void ScoresFileWriter::close() {
  impl_->datasets.clear();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) throw h5::Hdf5Error("H5Fflush failed");
  impl_->file.reset();
}

}  // namespace backscore
