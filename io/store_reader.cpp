// The store's streaming reader (layout in docs/FORMAT.md): the schema at open, then one era at
// a time, its predictions in batches of model rows.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <system_error>

#include "core/error.hpp"
#include "io/chunk_reader.hpp"
#include "io/hdf5.hpp"
#include "io/store.hpp"
#include "io/store_layout.hpp"

namespace backscore {

using namespace store_layout;
namespace fs = std::filesystem;

struct StoreReader::Impl {
  fs::path path;
  StoreSchema schema;
  std::vector<std::string> eras;
  int version = 0;
  h5::Hid file;
  h5::Hid eras_group;
  // The file opened for pread (-1: every read through HDF5).
  int fd = -1;
  // The per-era state of read_predictions: the era whose predictions were read last (batches of
  // one era reuse its open dataset), its shape, and its chunks' offsets when read directly.
  std::size_t open_era = std::numeric_limits<std::size_t>::max();
  h5::Hid open_predictions;
  std::vector<hsize_t> open_dims;
  ChunkRows direct;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  hid_t predictions_of(std::size_t era);
  // An HDF5 failure on era's predictions: forget the open dataset and throw the one-line error.
  [[noreturn]] void predictions_failed(std::size_t era, const h5::Hdf5Error& ex);

  // One line, whatever the names it quotes hold (printable()).
  [[noreturn]] void bad(const std::string& what) const {
    throw InputError(path.string() + ": " + printable(what));
  }

  h5::Hid era_group(std::size_t e) const {
    if (e >= eras.size()) bad("era index " + std::to_string(e) + " out of range");
    const std::string name = era_group_name(e);
    if (!h5::exists(eras_group.get(), name)) bad("missing group /eras/" + name);
    return h5::open_group(eras_group.get(), name);
  }

  // Reads a dataset of the expected shape into doubles (HDF5 converts int8/float32).
  std::vector<double> read_matrix(hid_t g, const std::string& era, const char* name,
                                  std::vector<hsize_t> expect) const {
    if (!h5::exists(g, name)) bad("era '" + era + "': missing dataset '" + name + "'");
    h5::Hid ds = h5::open_dataset(g, name);
    std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), name);
    if (dims != expect) bad("era '" + era + "': dataset '" + name + "' has the wrong shape");
    if (h5::dataset_type_class(ds.get(), name) == H5T_STRING) {
      bad("era '" + era + "': dataset '" + name + "' is not numeric");
    }
    std::vector<double> out(h5::stored_elements(ds.get(), name));
    if (!out.empty()) h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, out.data(), name);
    return out;
  }
};

StoreReader::StoreReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
  h5::silence_errors();
  impl_->path = path;
  std::error_code ec;
  if (!fs::exists(path, ec)) impl_->bad("cannot open: no such file");
  if (fs::is_directory(path, ec)) impl_->bad("cannot open: is a directory");
  if (!h5::is_hdf5(path.string())) impl_->bad("not an HDF5 file");
  try {
    impl_->file = h5::open_file(path.string());
    const hid_t root = impl_->file.get();
    if (!h5::has_attribute(root, "format") ||
        h5::read_string_attribute(root, "format") != kStoreFormat) {
      impl_->bad(std::string("not a backscore store (no format attribute '") + kStoreFormat + "')");
    }
    const std::int64_t version = h5::read_int_attribute(root, "version");
    if (version < kOldestStoreVersion || version > kStoreVersion) {
      impl_->bad("store format version " + std::to_string(version) +
                 " is not supported (this backscore reads versions " +
                 std::to_string(kOldestStoreVersion) + " to " + std::to_string(kStoreVersion) +
                 "; re-import the data)");
    }
    for (const char* name :
         {"models/names", "schema/targets", "schema/benchmarks", "schema/features", "eras/names"}) {
      if (!h5::exists(root, name)) {
        impl_->bad(std::string("missing dataset /") + name);
      }
    }
    StoreSchema& s = impl_->schema;
    s.models = h5::read_strings(root, "models/names");
    s.targets = h5::read_strings(root, "schema/targets");
    s.benchmarks = h5::read_strings(root, "schema/benchmarks");
    s.features = h5::read_strings(root, "schema/features");
    s.has_meta_model = h5::read_int_attribute(root, "has_meta_model") != 0;
    s.has_stakes = h5::read_int_attribute(root, "has_stakes") != 0;
    impl_->version = static_cast<int>(version);
    if (version >= 2) {  // version 1 has neither
      if (!h5::exists(root, "schema/neutralizers")) {
        impl_->bad("missing dataset /schema/neutralizers");
      }
      s.neutralizers = h5::read_strings(root, "schema/neutralizers");
      s.has_sample_weights = h5::read_int_attribute(root, "has_sample_weights") != 0;
    }
    if (s.targets.empty() || s.targets.front() != "target") {
      impl_->bad("/schema/targets must start with 'target'");
    }
    impl_->eras = h5::read_strings(root, "eras/names");
    impl_->eras_group = h5::open_group(root, "eras");
    impl_->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // -1: every read through HDF5
  } catch (const h5::Hdf5Error& e) {
    impl_->bad(std::string("malformed store: ") + e.what());
  }
}

StoreReader::~StoreReader() = default;
StoreReader::StoreReader(StoreReader&&) noexcept = default;
StoreReader& StoreReader::operator=(StoreReader&&) noexcept = default;

const fs::path& StoreReader::path() const { return impl_->path; }
const StoreSchema& StoreReader::schema() const { return impl_->schema; }
int StoreReader::version() const { return impl_->version; }
const std::vector<std::string>& StoreReader::eras() const { return impl_->eras; }

std::size_t StoreReader::n_stocks(std::size_t era) {
  h5::silence_errors();
  try {
    h5::Hid g = impl_->era_group(era);
    h5::Hid ds = h5::open_dataset(g.get(), "ids");
    std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), "ids");
    if (dims.size() != 1) impl_->bad("era '" + impl_->eras[era] + "': ids are not a list");
    return dims[0];
  } catch (const h5::Hdf5Error& e) {
    impl_->bad("era '" + impl_->eras[era] + "': " + e.what());
  }
}

std::size_t StoreReader::n_submitted(std::size_t era) {
  h5::silence_errors();
  try {
    h5::Hid g = impl_->era_group(era);
    if (!h5::exists(g.get(), "models")) {
      impl_->bad("era '" + impl_->eras[era] + "': missing dataset 'models'");
    }
    h5::Hid ds = h5::open_dataset(g.get(), "models");
    std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), "models");
    if (dims.size() != 1) {
      impl_->bad("era '" + impl_->eras[era] + "': dataset 'models' has the wrong shape");
    }
    return dims[0];
  } catch (const h5::Hdf5Error& e) {
    impl_->bad("era '" + impl_->eras[era] + "': " + e.what());
  }
}

Era StoreReader::read_era(std::size_t e) {
  h5::silence_errors();
  const StoreSchema& s = impl_->schema;
  Era era;
  try {
    h5::Hid g = impl_->era_group(e);
    const hid_t gid = g.get();
    era.name = impl_->eras[e];
    const std::string& name = era.name;
    if (!h5::exists(gid, "ids")) impl_->bad("era '" + name + "': missing dataset 'ids'");
    era.ids = h5::read_strings(gid, "ids");
    const hsize_t n = era.ids.size();
    if (std::size_t i = first_duplicate_or_unsorted(era.ids); i < n) {
      impl_->bad("era '" + name + "': " +
                 (era.ids[i - 1] == era.ids[i] ? "duplicate id '" + era.ids[i] + "'"
                                               : "ids not sorted at '" + era.ids[i] + "'"));
    }
    era.targets = impl_->read_matrix(gid, name, "targets", {s.targets.size(), n});
    const auto check_finite = [&](const std::vector<double>& v,
                                  const std::vector<std::string>& names, const char* field) {
      const std::string problem = non_finite_problem(v, names, field, era.ids);
      if (!problem.empty()) impl_->bad("era '" + name + "': " + problem);
    };
    check_finite(era.targets, s.targets, "target");
    if (s.has_meta_model) era.meta_model = impl_->read_matrix(gid, name, "meta_model", {n});
    if (std::size_t i = first_non_finite<double>(era.meta_model); i < era.meta_model.size()) {
      impl_->bad("era '" + name + "': meta_model is not finite for id '" + era.ids[i] + "'");
    }
    if (!s.benchmarks.empty()) {
      era.benchmarks = impl_->read_matrix(gid, name, "benchmarks", {s.benchmarks.size(), n});
      check_finite(era.benchmarks, s.benchmarks, "benchmark");
    }
    if (!s.features.empty()) {
      era.features = impl_->read_matrix(gid, name, "features", {s.features.size(), n});
      check_finite(era.features, s.features, "feature");
    }
    if (!s.neutralizers.empty()) {
      era.neutralizers =
          impl_->read_matrix(gid, name, "neutralizers", {s.neutralizers.size(), n});
      check_finite(era.neutralizers, s.neutralizers, "neutralizer");
    }
    if (s.has_sample_weights) {
      era.sample_weights = impl_->read_matrix(gid, name, "sample_weights", {n});
      if (std::size_t i = first_bad_stake(era.sample_weights); i < n) {
        impl_->bad("era '" + name + "': sample weight of id '" + era.ids[i] +
                   "' is not a finite value >= 0");
      }
    }
    if (!h5::exists(gid, "models")) impl_->bad("era '" + name + "': missing dataset 'models'");
    {
      h5::Hid ds = h5::open_dataset(gid, "models");
      std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), "models");
      if (dims.size() != 1) impl_->bad("era '" + name + "': dataset 'models' has the wrong shape");
      era.models.resize(h5::stored_elements(ds.get(), "models"));
      if (dims[0] > 0) h5::read_all(ds.get(), H5T_NATIVE_INT32, era.models.data(), "models");
    }
    for (std::size_t j = 0; j < era.models.size(); ++j) {
      if (era.models[j] < 0 || static_cast<std::size_t>(era.models[j]) >= s.models.size() ||
          (j > 0 && era.models[j] <= era.models[j - 1])) {
        impl_->bad("era '" + name + "': model indices out of range or not ascending");
      }
    }
    const hsize_t m = era.models.size();
    if (s.has_stakes) era.stakes = impl_->read_matrix(gid, name, "stakes", {m});
    if (std::size_t j = first_bad_stake(era.stakes); j < era.stakes.size()) {
      impl_->bad("era '" + name + "': stake of model '" + s.models[era.models[j]] +
                 "' is not a finite value >= 0");
    }
    if (!h5::exists(gid, "predictions")) {
      impl_->bad("era '" + name + "': missing dataset 'predictions'");
    }
    h5::Hid pred = h5::open_dataset(gid, "predictions");
    if (h5::dataset_dims(pred.get(), "predictions") != std::vector<hsize_t>{m, n}) {
      impl_->bad("era '" + name + "': dataset 'predictions' has the wrong shape");
    }
  } catch (const h5::Hdf5Error& ex) {
    impl_->bad("era '" + impl_->eras[e] + "': " + ex.what());
  }
  return era;
}

// Opens era's predictions dataset (kept open for the era's next batches) and plans direct reads.
hid_t StoreReader::Impl::predictions_of(std::size_t era) {
  if (open_era != era) {
    open_predictions.reset();
    open_era = std::numeric_limits<std::size_t>::max();
    h5::Hid g = era_group(era);
    // Every chunk is read once, straight into the caller's buffer: no chunk cache.
    h5::Hid dapl(H5Pcreate(H5P_DATASET_ACCESS));
    if (!dapl.valid() || H5Pset_chunk_cache(dapl.get(), H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0,
                                            H5D_CHUNK_CACHE_W0_DEFAULT) < 0) {
      throw h5::Hdf5Error("H5Pset_chunk_cache failed for 'predictions'");
    }
    hid_t ds = H5Dopen2(g.get(), "predictions", dapl.get());
    if (ds < 0) throw h5::Hdf5Error("H5Dopen2 failed for 'predictions'");
    open_predictions = h5::Hid(ds);
    open_dims = h5::dataset_dims(ds, "predictions");
    direct.clear();
    if (open_dims.size() == 2 && fd >= 0) direct.plan(file.get(), ds, open_dims[0], open_dims[1]);
    open_era = era;
  }
  return open_predictions.get();
}

void StoreReader::Impl::predictions_failed(std::size_t era, const h5::Hdf5Error& ex) {
  open_era = std::numeric_limits<std::size_t>::max();
  open_predictions.reset();
  bad("era '" + eras[era] + "': " + ex.what());
}

void StoreReader::read_predictions(std::size_t era, std::size_t first, std::size_t count,
                                   std::span<float> out, int threads) {
  h5::silence_errors();  // the batch reader calls this on its own thread
  try {
    const hid_t ds = impl_->predictions_of(era);
    const std::vector<hsize_t>& dims = impl_->open_dims;
    if (dims.size() != 2 || first + count > dims[0] || out.size() != count * dims[1]) {
      throw std::logic_error("read_predictions: bad block request");
    }
    if (count == 0) return;
    if (impl_->direct.planned()) {
      const std::string error = impl_->direct.read(impl_->fd, first, count, out.data(), threads);
      if (!error.empty()) impl_->bad("reading predictions: " + error);
    } else {
      h5::read_rows(ds, H5T_NATIVE_FLOAT, first, count, out.data(), "predictions");
    }
    const std::size_t n = dims[1];
    if (std::size_t i = first_infinite(out); i < out.size()) {
      impl_->bad("era '" + impl_->eras[era] + "': dataset 'predictions' is infinite at row " +
                 std::to_string(first + i / n) + ", column " + std::to_string(i % n));
    }
  } catch (const h5::Hdf5Error& ex) {
    impl_->predictions_failed(era, ex);
  }
}

bool StoreReader::reads_predictions_directly(std::size_t era) {
  h5::silence_errors();
  try {
    impl_->predictions_of(era);
    return impl_->direct.planned();
  } catch (const h5::Hdf5Error& ex) {
    impl_->predictions_failed(era, ex);
  }
}

}  // namespace backscore
