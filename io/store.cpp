// The tournament store on disk (layout in docs/FORMAT.md): writer and streaming reader.
#include "io/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include "io/hdf5.hpp"
#include "core/error.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;

// Prediction rows (models) per chunk: a batch of model columns is whole chunks, one read each.
constexpr hsize_t kModelsPerChunk = 64;

std::string era_group_name(std::size_t e) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%06zu", e);
  return buf;
}

std::size_t first_duplicate_or_unsorted(const std::vector<std::string>& ids) {
  for (std::size_t i = 1; i < ids.size(); ++i) {
    if (!(ids[i - 1] < ids[i])) return i;
  }
  return ids.size();
}

template <typename T>
std::size_t first_non_finite(std::span<const T> v) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return v.size();
}

bool all_small_integers(std::span<const double> v) {
  return std::all_of(v.begin(), v.end(),
                     [](double x) { return x >= -128.0 && x <= 127.0 && x == std::nearbyint(x); });
}

}  // namespace

// ------------------------------------------------------------------------------------------------
// Writer

struct StoreWriter::Impl {
  fs::path final_path;
  fs::path temp_path;
  StoreSchema schema;
  h5::SilenceHdf5 silence;
  h5::Hid file;
  h5::Hid eras_group;
  std::vector<std::string> era_names;
  bool finished = false;

  [[noreturn]] void bad(const Era& era, const std::string& what) const {
    throw InputError(final_path.string() + ": era '" + era.name + "': " + what);
  }

  void validate(const Era& era, std::span<const float> predictions) const {
    const std::size_t n = era.n_stocks();
    if (era.name.empty()) throw InputError(final_path.string() + ": an era has an empty name");
    if (std::find(era_names.begin(), era_names.end(), era.name) != era_names.end()) {
      bad(era, "duplicate era name");
    }
    if (std::size_t i = first_duplicate_or_unsorted(era.ids); i < n) {
      bad(era, era.ids[i - 1] == era.ids[i] ? "duplicate id '" + era.ids[i] + "'"
                                            : "ids are not sorted at '" + era.ids[i] + "'");
    }
    for (const auto& id : era.ids) {
      if (id.empty()) bad(era, "empty stock id");
    }
    auto check_matrix = [&](std::span<const double> v, std::size_t rows,
                            const std::vector<std::string>& names, const char* field) {
      if (v.size() != rows * n) bad(era, std::string(field) + " has the wrong size");
      if (std::size_t i = first_non_finite(v); i < v.size()) {
        const std::string which = names.empty() ? std::string(field) : names[i / n];
        bad(era,
            std::string(field) + " '" + which + "' is not finite for id '" + era.ids[i % n] + "'");
      }
    };
    check_matrix(era.targets, schema.targets.size(), schema.targets, "target");
    check_matrix(era.meta_model, schema.has_meta_model ? 1 : 0, {}, "meta_model");
    check_matrix(era.benchmarks, schema.benchmarks.size(), schema.benchmarks, "benchmark");
    check_matrix(era.features, schema.features.size(), schema.features, "feature");
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
      for (std::size_t j = 0; j < m; ++j) {
        if (!std::isfinite(era.stakes[j]) || era.stakes[j] < 0) {
          bad(era,
              "stake of model '" + schema.models[era.models[j]] + "' is not a finite value >= 0");
        }
      }
    } else if (!era.stakes.empty()) {
      bad(era, "stakes given but the store has none");
    }
    if (predictions.size() != m * n) bad(era, "prediction matrix has the wrong size");
    for (std::size_t k = 0; k < predictions.size(); ++k) {
      if (std::isinf(predictions[k])) {
        bad(era, "prediction of model '" + schema.models[era.models[k / n]] + "' for id '" +
                     era.ids[k % n] + "' is infinite");
      }
    }
  }
};

StoreWriter::StoreWriter(fs::path path, StoreSchema schema) : impl_(std::make_unique<Impl>()) {
  impl_->final_path = std::move(path);
  impl_->temp_path = impl_->final_path;
  impl_->temp_path += ".tmp-" + std::to_string(::getpid());
  impl_->schema = std::move(schema);
  if (impl_->schema.targets.empty() || impl_->schema.targets.front() != "target") {
    throw InputError(impl_->final_path.string() + ": the default target 'target' is required");
  }
  try {
    impl_->file = h5::create_file(impl_->temp_path.string());
  } catch (const h5::Hdf5Error&) {
    throw InputError("cannot create " + impl_->temp_path.string());
  }
  const hid_t root = impl_->file.get();
  h5::write_attribute(root, "format", std::string(kStoreFormat));
  h5::write_attribute(root, "version", std::int64_t{kStoreVersion});
  h5::write_attribute(root, "has_meta_model", std::int64_t{impl_->schema.has_meta_model});
  h5::write_attribute(root, "has_stakes", std::int64_t{impl_->schema.has_stakes});
  h5::Hid models = h5::create_group(root, "models");
  h5::write_strings(models.get(), "names", impl_->schema.models);
  h5::Hid schema_group = h5::create_group(root, "schema");
  h5::write_strings(schema_group.get(), "targets", impl_->schema.targets);
  h5::write_strings(schema_group.get(), "benchmarks", impl_->schema.benchmarks);
  h5::write_strings(schema_group.get(), "features", impl_->schema.features);
  impl_->eras_group = h5::create_group(root, "eras");
}

StoreWriter::~StoreWriter() {
  if (!impl_->finished) {
    impl_->eras_group.reset();
    impl_->file.reset();
    std::error_code ec;
    fs::remove(impl_->temp_path, ec);
  }
}

const StoreSchema& StoreWriter::schema() const { return impl_->schema; }

void StoreWriter::append_era(const Era& era, std::span<const float> predictions) {
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
  h5::write_strings(impl_->eras_group.get(), "names", impl_->era_names);
  impl_->eras_group.reset();
  if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) {
    throw InputError("cannot write " + impl_->temp_path.string());
  }
  impl_->file.reset();
  std::error_code ec;
  fs::rename(impl_->temp_path, impl_->final_path, ec);
  if (ec) {
    throw InputError("cannot rename " + impl_->temp_path.string() + " to " +
                     impl_->final_path.string() + ": " + ec.message());
  }
  impl_->finished = true;
}

// ------------------------------------------------------------------------------------------------
// Reader

struct StoreReader::Impl {
  fs::path path;
  StoreSchema schema;
  std::vector<std::string> eras;
  h5::SilenceHdf5 silence;
  h5::Hid file;
  h5::Hid eras_group;
  // The era whose predictions were read last: batches of one era reuse the open dataset.
  std::size_t open_era = std::numeric_limits<std::size_t>::max();
  h5::Hid open_predictions;
  std::vector<hsize_t> open_dims;  // its shape
  // Direct reads of the open era's predictions: the file opened for pread (-1: none), and when
  // the dataset qualifies (chunk_rows > 0) the file offset of each chunk of chunk_rows rows.
  int fd = -1;
  hsize_t chunk_rows = 0, row_floats = 0;
  std::vector<std::uint64_t> chunk_offset;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (fd >= 0) ::close(fd);
  }

  hid_t predictions_of(std::size_t era);
  // An HDF5 failure on era's predictions: forget the open dataset and throw the one-line error.
  [[noreturn]] void predictions_failed(std::size_t era, const h5::Hdf5Error& ex);
  void plan_direct_reads(hid_t ds, hsize_t m, hsize_t n);
  void read_direct(std::size_t first, std::size_t count, float* out, int threads) const;

  [[noreturn]] void bad(const std::string& what) const {
    throw InputError(path.string() + ": " + what);
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
    std::size_t count = 1;
    for (hsize_t d : dims) count *= d;
    std::vector<double> out(count);
    if (count > 0) h5::read_all(ds.get(), H5T_NATIVE_DOUBLE, out.data(), name);
    return out;
  }
};

// Whether the era's predictions can be read from the file directly, and from where: a chunked,
// unfiltered dataset of little-endian float32 (this machine's float) whose chunks hold whole rows,
// every chunk allocated, in a file without a user block (so HDF5 addresses are file offsets).
// Anything else (a store written by other software) keeps chunk_rows = 0: read through HDF5.
void StoreReader::Impl::plan_direct_reads(hid_t ds, hsize_t m, hsize_t n) {
  chunk_rows = 0;
  row_floats = n;
  chunk_offset.clear();
  if (fd < 0 || m == 0 || n == 0) return;
  if (H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) <= 0) return;
  h5::Hid fcpl(H5Fget_create_plist(file.get()));
  hsize_t userblock = 1;
  if (!fcpl.valid() || H5Pget_userblock(fcpl.get(), &userblock) < 0 || userblock != 0) return;
  h5::Hid type(H5Dget_type(ds));
  if (!type.valid() || H5Tequal(type.get(), H5T_IEEE_F32LE) <= 0) return;
  h5::Hid dcpl(H5Dget_create_plist(ds));
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED ||
      H5Pget_nfilters(dcpl.get()) != 0) {
    return;
  }
  hsize_t chunk[2] = {0, 0};
  if (H5Pget_chunk(dcpl.get(), 2, chunk) != 2 || chunk[0] == 0 || chunk[1] != n) return;
  std::vector<std::uint64_t> offsets;
  for (hsize_t r = 0; r < m; r += chunk[0]) {
    const hsize_t at[2] = {r, 0};
    unsigned filter_mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t bytes = 0;
    if (H5Dget_chunk_info_by_coord(ds, at, &filter_mask, &addr, &bytes) < 0 ||
        addr == HADDR_UNDEF || filter_mask != 0 || bytes != chunk[0] * n * sizeof(float)) {
      static_cast<void>(H5Eclear2(H5E_DEFAULT));
      return;
    }
    offsets.push_back(addr);
  }
  chunk_rows = chunk[0];
  chunk_offset = std::move(offsets);
}

// Rows [first, first + count) into out: one pread per chunk piece, up to `threads` at once.
void StoreReader::Impl::read_direct(std::size_t first, std::size_t count, float* out,
                                    int threads) const {
  struct Piece {
    std::uint64_t offset;
    char* dst;
    std::size_t bytes;
  };
  const std::size_t row_bytes = row_floats * sizeof(float);
  std::vector<Piece> pieces;
  for (std::size_t r = first; r < first + count;) {
    const std::size_t c = r / chunk_rows, within = r - c * chunk_rows;
    const std::size_t rows = std::min<std::size_t>(chunk_rows - within, first + count - r);
    pieces.push_back({chunk_offset[c] + within * row_bytes,
                      reinterpret_cast<char*>(out + (r - first) * row_floats), rows * row_bytes});
    r += rows;
  }
  std::atomic<std::size_t> next{0};
  std::mutex error_mu;
  std::string error;
  auto work = [&] {
    for (std::size_t i = next++; i < pieces.size(); i = next++) {
      const Piece& p = pieces[i];
      std::size_t done = 0;
      while (done < p.bytes) {
        const ssize_t got =
            ::pread(fd, p.dst + done, p.bytes - done, static_cast<off_t>(p.offset + done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          std::lock_guard lock(error_mu);
          if (error.empty()) {
            error = got < 0
                        ? std::generic_category().message(errno)  // thread-safe, unlike strerror
                        : "the file ends inside a chunk (truncated?)";
          }
          return;
        }
        done += static_cast<std::size_t>(got);
      }
    }
  };
  const std::size_t helpers =
      std::min<std::size_t>(pieces.size(), static_cast<std::size_t>(std::max(threads, 1))) - 1;
  std::vector<std::thread> pool;
  pool.reserve(helpers);
  for (std::size_t t = 0; t < helpers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (!error.empty()) bad("reading predictions: " + error);
}

StoreReader::StoreReader(const fs::path& path) : impl_(std::make_unique<Impl>()) {
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
    if (version != kStoreVersion) {
      impl_->bad("store format version " + std::to_string(version) + " is not supported (this is " +
                 "backscore " + std::to_string(kStoreVersion) + "; re-import the data)");
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
const std::vector<std::string>& StoreReader::eras() const { return impl_->eras; }

std::size_t StoreReader::n_stocks(std::size_t era) const {
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

Era StoreReader::read_era(std::size_t e) const {
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
    if (std::size_t i = first_non_finite<double>(era.targets); i < era.targets.size()) {
      impl_->bad("era '" + name + "': target '" + s.targets[i / n] + "' is not finite for id '" +
                 era.ids[i % n] + "'");
    }
    if (s.has_meta_model) era.meta_model = impl_->read_matrix(gid, name, "meta_model", {n});
    if (std::size_t i = first_non_finite<double>(era.meta_model); i < era.meta_model.size()) {
      impl_->bad("era '" + name + "': meta_model is not finite for id '" + era.ids[i] + "'");
    }
    if (!s.benchmarks.empty()) {
      era.benchmarks = impl_->read_matrix(gid, name, "benchmarks", {s.benchmarks.size(), n});
      if (std::size_t i = first_non_finite<double>(era.benchmarks); i < era.benchmarks.size()) {
        impl_->bad("era '" + name + "': benchmark '" + s.benchmarks[i / n] +
                   "' is not finite for id '" + era.ids[i % n] + "'");
      }
    }
    if (!s.features.empty()) {
      era.features = impl_->read_matrix(gid, name, "features", {s.features.size(), n});
      if (std::size_t i = first_non_finite<double>(era.features); i < era.features.size()) {
        impl_->bad("era '" + name + "': feature '" + s.features[i / n] +
                   "' is not finite for id '" + era.ids[i % n] + "'");
      }
    }
    if (!h5::exists(gid, "models")) impl_->bad("era '" + name + "': missing dataset 'models'");
    {
      h5::Hid ds = h5::open_dataset(gid, "models");
      std::vector<hsize_t> dims = h5::dataset_dims(ds.get(), "models");
      if (dims.size() != 1) impl_->bad("era '" + name + "': dataset 'models' has the wrong shape");
      era.models.resize(dims[0]);
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
    if (open_dims.size() == 2) {
      plan_direct_reads(ds, open_dims[0], open_dims[1]);
    } else {
      chunk_rows = 0;
    }
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
                                   std::span<float> out, int threads) const {
  try {
    const hid_t ds = impl_->predictions_of(era);
    const std::vector<hsize_t>& dims = impl_->open_dims;
    if (dims.size() != 2 || first + count > dims[0] || out.size() != count * dims[1]) {
      throw std::logic_error("read_predictions: bad block request");
    }
    if (count == 0) return;
    if (impl_->chunk_rows > 0) {
      impl_->read_direct(first, count, out.data(), threads);
    } else {
      h5::read_rows(ds, H5T_NATIVE_FLOAT, first, count, out.data(), "predictions");
    }
  } catch (const h5::Hdf5Error& ex) {
    impl_->predictions_failed(era, ex);
  }
}

bool StoreReader::reads_predictions_directly(std::size_t era) const {
  try {
    impl_->predictions_of(era);
    return impl_->chunk_rows > 0;
  } catch (const h5::Hdf5Error& ex) {
    impl_->predictions_failed(era, ex);
  }
}

}  // namespace backscore
