// The store's writer (layout in docs/FORMAT.md): validates each era and appends it.

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <system_error>

#include "core/error.hpp"
#include "io/hdf5.hpp"
#include "io/pending_file.hpp"
#include "io/store.hpp"
#include "io/store_layout.hpp"

namespace backscore {

using namespace store_layout;
namespace fs = std::filesystem;

struct StoreWriter::Impl {
  std::unique_ptr<PendingFile> output;  // first: removes an unfinished file after it is closed
  StoreSchema schema;
  h5::Hid file;
  h5::Hid eras_group;
  std::vector<std::string> era_names;

  [[noreturn]] void bad(const Era& era, const std::string& what) const {
    throw InputError(output->final_path().string() + ": era '" + printable(era.name) +
                     "': " + printable(what));
  }

  // A name of the schema with a NUL byte: the store's strings are NUL-padded, so it would read
  // back cut at the NUL (docs/FORMAT.md).
  void check_names(const std::vector<std::string>& names, const char* field) const {
    for (const std::string& name : names) {
      if (has_nul(name)) {
        throw InputError(output->final_path().string() + ": " + field + " name '" +
                         printable(name) + "' has a NUL byte");
      }
    }
  }

  void validate(const Era& era, std::span<const float> predictions) const {
    const std::size_t n = era.n_stocks();
    if (era.name.empty())
      throw InputError(output->final_path().string() + ": an era has an empty name");
    if (has_nul(era.name)) {
      throw InputError(output->final_path().string() + ": era name '" + printable(era.name) +
                       "' has a NUL byte");
    }
    if (std::find(era_names.begin(), era_names.end(), era.name) != era_names.end()) {
      bad(era, "duplicate era name");
    }
    if (std::size_t i = first_duplicate_or_unsorted(era.ids); i < n) {
      bad(era, era.ids[i - 1] == era.ids[i] ? "duplicate id '" + era.ids[i] + "'"
                                            : "ids are not sorted at '" + era.ids[i] + "'");
    }
    for (const auto& id : era.ids) {
      if (id.empty()) bad(era, "empty stock id");
      if (has_nul(id)) bad(era, "stock id '" + id + "' has a NUL byte");
    }
    auto check_matrix = [&](std::span<const double> v, std::size_t rows,
                            const std::vector<std::string>& names, const char* field) {
      if (v.size() != rows * n) bad(era, std::string(field) + " has the wrong size");
      if (const std::string problem = non_finite_problem(v, names, field, era.ids);
          !problem.empty()) {
        bad(era, problem);
      }
    };
    check_matrix(era.targets, schema.targets.size(), schema.targets, "target");
    check_matrix(era.meta_model, schema.has_meta_model ? 1 : 0, {}, "meta_model");
    check_matrix(era.benchmarks, schema.benchmarks.size(), schema.benchmarks, "benchmark");
    check_matrix(era.features, schema.features.size(), schema.features, "feature");
    check_matrix(era.neutralizers, schema.neutralizers.size(), schema.neutralizers, "neutralizer");
    if (schema.has_sample_weights) {
      if (era.sample_weights.size() != n) bad(era, "sample_weights have the wrong size");
      if (std::size_t i = first_bad_stake(era.sample_weights); i < n) {
        bad(era, "sample weight of id '" + era.ids[i] + "' is not a finite value >= 0");
      }
    } else if (!era.sample_weights.empty()) {
      bad(era, "sample weights given but the store has none");
    }
    // Features that are not all small integers are stored as float32: they must fit one.
    if (!all_small_integers(era.features)) {
      for (std::size_t i = 0; i < era.features.size(); ++i) {
        if (std::fabs(era.features[i]) > std::numeric_limits<float>::max()) {
          bad(era, "feature '" + schema.features[i / n] + "' does not fit a 32-bit float for id '" +
                       era.ids[i % n] + "'");
        }
      }
    }
    const std::size_t m = era.n_submitted();
    for (std::size_t j = 0; j < m; ++j) {
      if (era.models[j] < 0 || static_cast<std::size_t>(era.models[j]) >= schema.models.size()) {
        bad(era, "model index " + std::to_string(era.models[j]) + " out of range");
      }
      if (j > 0 && era.models[j] <= era.models[j - 1]) bad(era, "model indices not ascending");
    }
    if (schema.has_stakes) {
      if (era.stakes.size() != m) bad(era, "stakes have the wrong size");
      if (std::size_t j = first_bad_stake(era.stakes); j < m) {
        bad(era,
            "stake of model '" + schema.models[era.models[j]] + "' is not a finite value >= 0");
      }
    } else if (!era.stakes.empty()) {
      bad(era, "stakes given but the store has none");
    }
    if (predictions.size() != m * n) bad(era, "prediction matrix has the wrong size");
    if (std::size_t k = first_infinite(predictions); k < predictions.size()) {
      bad(era, "prediction of model '" + schema.models[era.models[k / n]] + "' for id '" +
                   era.ids[k % n] + "' is infinite");
    }
  }
};

StoreWriter::StoreWriter(fs::path path, StoreSchema schema) : impl_(std::make_unique<Impl>()) {
  impl_->output = std::make_unique<PendingFile>(std::move(path));
  impl_->schema = std::move(schema);
  if (impl_->schema.targets.empty() || impl_->schema.targets.front() != "target") {
    throw InputError(impl_->output->final_path().string() +
                     ": the default target 'target' is required");
  }
  impl_->check_names(impl_->schema.models, "model");
  impl_->check_names(impl_->schema.targets, "target");
  impl_->check_names(impl_->schema.benchmarks, "benchmark");
  impl_->check_names(impl_->schema.features, "feature");
  impl_->check_names(impl_->schema.neutralizers, "neutralizer");
  h5::silence_errors();
  try {
    impl_->file = h5::create_file(impl_->output->path().string());
  } catch (const h5::Hdf5Error&) {
    throw InputError("cannot create " + impl_->output->path().string());
  }
  const hid_t root = impl_->file.get();
  h5::write_attribute(root, "format", std::string(kStoreFormat));
  h5::write_attribute(root, "version", std::int64_t{kStoreVersion});
  h5::write_attribute(root, "has_meta_model", std::int64_t{impl_->schema.has_meta_model});
  h5::write_attribute(root, "has_stakes", std::int64_t{impl_->schema.has_stakes});
  h5::write_attribute(root, "has_sample_weights",
                      std::int64_t{impl_->schema.has_sample_weights});
  h5::Hid models = h5::create_group(root, "models");
  h5::write_strings(models.get(), "names", impl_->schema.models);
  h5::Hid schema_group = h5::create_group(root, "schema");
  h5::write_strings(schema_group.get(), "targets", impl_->schema.targets);
  h5::write_strings(schema_group.get(), "benchmarks", impl_->schema.benchmarks);
  h5::write_strings(schema_group.get(), "features", impl_->schema.features);
  h5::write_strings(schema_group.get(), "neutralizers", impl_->schema.neutralizers);
  impl_->eras_group = h5::create_group(root, "eras");
}

StoreWriter::~StoreWriter() {
  // Close the file before the PendingFile removes it (unless finish() committed it).
  impl_->eras_group.reset();
  impl_->file.reset();
}

const StoreSchema& StoreWriter::schema() const { return impl_->schema; }

void StoreWriter::append_era(const Era& era, std::span<const float> predictions) {
  h5::silence_errors();
  impl_->validate(era, predictions);
  const hsize_t n = era.n_stocks();
  const hsize_t m = era.n_submitted();
  h5::Hid g = h5::create_group(impl_->eras_group.get(), era_group_name(impl_->era_names.size()));
  const hid_t gid = g.get();
  h5::write_attribute(gid, "name", era.name);
  h5::write_strings(gid, "ids", era.ids);
  const hsize_t target_dims[2] = {impl_->schema.targets.size(), n};
  h5::write_dataset<double>(gid, "targets", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, era.targets,
                            target_dims);
  if (impl_->schema.has_meta_model) {
    const hsize_t dims[1] = {n};
    h5::write_dataset<double>(gid, "meta_model", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, era.meta_model,
                              dims);
  }
  if (!impl_->schema.benchmarks.empty()) {
    const hsize_t dims[2] = {impl_->schema.benchmarks.size(), n};
    h5::write_dataset<double>(gid, "benchmarks", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, era.benchmarks,
                              dims);
  }
  if (!impl_->schema.features.empty()) {
    // Numerai's features are small integers: int8 stores them exactly in a quarter of float32.
    const hsize_t dims[2] = {impl_->schema.features.size(), n};
    const hid_t file_type = all_small_integers(era.features) ? H5T_STD_I8LE : H5T_IEEE_F32LE;
    h5::write_dataset<double>(gid, "features", H5T_NATIVE_DOUBLE, file_type, era.features, dims);
  }
  if (!impl_->schema.neutralizers.empty()) {
    const hsize_t dims[2] = {impl_->schema.neutralizers.size(), n};
    h5::write_dataset<double>(gid, "neutralizers", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              era.neutralizers, dims);
  }
  if (impl_->schema.has_sample_weights) {
    const hsize_t dims[1] = {n};
    h5::write_dataset<double>(gid, "sample_weights", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE,
                              era.sample_weights, dims);
  }
  const hsize_t model_dims[1] = {m};
  h5::write_dataset<std::int32_t>(gid, "models", H5T_NATIVE_INT32, H5T_STD_I32LE, era.models,
                                  model_dims);
  if (impl_->schema.has_stakes) {
    h5::write_dataset<double>(gid, "stakes", H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, era.stakes,
                              model_dims);
  }
  const hsize_t pred_dims[2] = {m, n};
  if (m > 0 && n > 0) {
    const hsize_t chunk[2] = {std::min(m, kModelsPerChunk), n};
    h5::write_dataset<float>(gid, "predictions", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, predictions,
                             pred_dims, chunk);
  } else {
    h5::write_dataset<float>(gid, "predictions", H5T_NATIVE_FLOAT, H5T_IEEE_F32LE, predictions,
                             pred_dims);
  }
  impl_->era_names.push_back(era.name);
}

void StoreWriter::finish() {
  h5::silence_errors();
  h5::write_strings(impl_->eras_group.get(), "names", impl_->era_names);
  impl_->eras_group.reset();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) {
    throw InputError("cannot write " + impl_->output->path().string());
  }
  impl_->file.reset();
  impl_->output->commit();
}

}  // namespace backscore
