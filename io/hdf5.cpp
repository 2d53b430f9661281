// Checked HDF5 C calls: a negative return becomes an Hdf5Error naming the call and the object.
#include "io/hdf5.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>

namespace backscore::h5 {
namespace {

[[noreturn]] void fail(const char* call, const std::string& what) {
  throw Hdf5Error(std::string(call) + " failed for '" + what + "'");
}

hid_t check_id(hid_t id, const char* call, const std::string& what) {
  if (id < 0) fail(call, what);
  return id;
}

void check(herr_t status, const char* call, const std::string& what) {
  if (status < 0) fail(call, what);
}

Hid string_type(std::size_t size) {
  Hid t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", "string type"));
  check(H5Tset_size(t.get(), std::max<std::size_t>(size, 1)), "H5Tset_size", "string type");
  check(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "H5Tset_strpad", "string type");
  check(H5Tset_cset(t.get(), H5T_CSET_UTF8), "H5Tset_cset", "string type");
  return t;
}

// A string to be stored must not hold a NUL byte (it would read back cut there).
void refuse_nul(std::string_view value, const std::string& name, std::size_t element) {
  if (value.find('\0') != std::string_view::npos) {
    throw Hdf5Error("'" + name + "' element " + std::to_string(element) +
                    " has a NUL byte (stored strings cannot hold one)");
  }
}

// A stored fixed-length string of `width` bytes: its text up to the NUL padding. A NUL followed by
// another byte is a string with a NUL inside, which would be cut there: refused.
std::string stored_string(const char* s, std::size_t width, const std::string& name,
                          std::size_t element) {
  const std::size_t length = strnlen(s, width);
  for (std::size_t k = length; k < width; ++k) {
    if (s[k] != '\0') {
      throw Hdf5Error("'" + name + "' element " + std::to_string(element) +
                      " has a NUL byte inside its text");
    }
  }
  return std::string(s, length);
}

Hid scalar_space() { return Hid(check_id(H5Screate(H5S_SCALAR), "H5Screate", "scalar")); }

}  // namespace

Hid dataset_creation_properties(const std::string& name) {
  // No modification times in object headers: the same content gives the same bytes.
  Hid dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", name));
  check(H5Pset_obj_track_times(dcpl.get(), false), "H5Pset_obj_track_times", name);
  return dcpl;
}

void silence_errors() {
  thread_local bool silenced = false;
  if (silenced) return;
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  silenced = true;
}

Hid create_file(const std::string& path) {
  Hid fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path));
  // The newest format versions: compact groups, faster attribute and chunk indexing.
  check(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_LATEST),
        "H5Pset_libver_bounds", path);
  Hid fcpl(check_id(H5Pcreate(H5P_FILE_CREATE), "H5Pcreate", path));
  check(H5Pset_obj_track_times(fcpl.get(), false), "H5Pset_obj_track_times", path);  // root group
  return Hid(
      check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get()), "H5Fcreate", path));
}

// A small, fixed metadata cache: a store has ~14 metadata entries per era, and HDF5's adaptive
// cache (up to 32 MiB of on-disk size, ~18x that in memory) would otherwise keep growing as a
// long history is read (measured: +38 KB of heap per era). Only the current era's entries are
// ever hot, so 256 KiB caps the cache at a few MB of heap, whatever the number of eras.
Hid small_cache_fapl(const std::string& path) {
  Hid fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate", path));
  H5AC_cache_config_t config{};
  config.version = H5AC__CURR_CACHE_CONFIG_VERSION;
  check(H5Pget_mdc_config(fapl.get(), &config), "H5Pget_mdc_config", path);
  config.set_initial_size = true;
  config.initial_size = 1 << 18;
  config.min_size = 1 << 18;
  config.max_size = 1 << 18;
  config.incr_mode = H5C_incr__off;
  config.flash_incr_mode = H5C_flash_incr__off;
  config.decr_mode = H5C_decr__off;
  check(H5Pset_mdc_config(fapl.get(), &config), "H5Pset_mdc_config", path);
  return fapl;
}

Hid open_file(const std::string& path, bool writable) {
  Hid fapl = small_cache_fapl(path);
  return Hid(check_id(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()),
                      "H5Fopen", path));
}

bool is_hdf5(const std::string& path) {
#if H5_VERSION_GE(1, 12, 0)
  return H5Fis_accessible(path.c_str(), H5P_DEFAULT) > 0;
#else
  return H5Fis_hdf5(path.c_str()) > 0;
#endif
}

Hid create_group(hid_t loc, const std::string& name) {
  // No modification times in object headers: the same content gives the same bytes.
  Hid gcpl(check_id(H5Pcreate(H5P_GROUP_CREATE), "H5Pcreate", name));
  check(H5Pset_obj_track_times(gcpl.get(), false), "H5Pset_obj_track_times", name);
  return Hid(check_id(H5Gcreate2(loc, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT),
                      "H5Gcreate2", name));
}

Hid open_group(hid_t loc, const std::string& name) {
  return Hid(check_id(H5Gopen2(loc, name.c_str(), H5P_DEFAULT), "H5Gopen2", name));
}

bool exists(hid_t loc, const std::string& name) {
  // H5Lexists fails rather than answering when an intermediate group is missing: walk the path.
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = name.find('/', pos + 1);
    if (H5Lexists(loc, name.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

Hid create_dataset(hid_t loc, const std::string& name, hid_t file_type,
                   std::span<const hsize_t> dims, std::span<const hsize_t> chunk) {
  Hid space(check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                     "H5Screate_simple", name));
  Hid dcpl = dataset_creation_properties(name);
  if (!chunk.empty()) {
    check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "H5Pset_chunk",
          name);
  }
  return Hid(check_id(
      H5Dcreate2(loc, name.c_str(), file_type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
      "H5Dcreate2", name));
}

Hid open_dataset(hid_t loc, const std::string& name) {
  return Hid(check_id(H5Dopen2(loc, name.c_str(), H5P_DEFAULT), "H5Dopen2", name));
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what) {
  Hid space(check_id(H5Dget_space(dataset), "H5Dget_space", what));
  int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) fail("H5Sget_simple_extent_ndims", what);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  if (rank > 0)
    check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "H5Sget_simple_extent_dims",
          what);
  return dims;
}

H5T_class_t dataset_type_class(hid_t dataset, const std::string& what) {
  Hid type(check_id(H5Dget_type(dataset), "H5Dget_type", what));
  H5T_class_t c = H5Tget_class(type.get());
  if (c < 0) fail("H5Tget_class", what);
  return c;
}

std::size_t dataset_type_size(hid_t dataset, const std::string& what) {
  Hid type(check_id(H5Dget_type(dataset), "H5Dget_type", what));
  std::size_t size = H5Tget_size(type.get());
  if (size == 0) fail("H5Tget_size", what);
  return size;
}

std::size_t stored_elements(hid_t dataset, const std::string& what) {
  std::size_t count = 1;
  for (const hsize_t d : dataset_dims(dataset, what)) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) {
      throw Hdf5Error("'" + what + "' has more elements than the file can hold");
    }
    count *= static_cast<std::size_t>(d);
  }
  if (count == 0) return 0;
  const std::size_t element = dataset_type_size(dataset, what);
  const hsize_t stored = H5Dget_storage_size(dataset);
  if (count > std::numeric_limits<std::size_t>::max() / element || count * element > stored) {
    throw Hdf5Error("'" + what + "' has more elements than the file holds data for");
  }
  return count;
}

void write_all(hid_t dataset, hid_t mem_type, const void* data, const std::string& what) {
  check(H5Dwrite(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dwrite", what);
}

void read_all(hid_t dataset, hid_t mem_type, void* data, const std::string& what) {
  check(H5Dread(dataset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "H5Dread", what);
}

void read_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, void* data,
               const std::string& what) {
  std::vector<hsize_t> dims = dataset_dims(dataset, what);
  if (dims.size() != 2 || first + count > dims[0]) {
    throw Hdf5Error("rows out of range in '" + what + "'");
  }
  if (count == 0) return;
  Hid file_space(check_id(H5Dget_space(dataset), "H5Dget_space", what));
  const hsize_t start[2] = {first, 0};
  const hsize_t extent[2] = {count, dims[1]};
  check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr),
        "H5Sselect_hyperslab", what);
  Hid mem_space(check_id(H5Screate_simple(2, extent, nullptr), "H5Screate_simple", what));
  check(H5Dread(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), "H5Dread",
        what);
}

void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values) {
  std::size_t width = 1;
  for (std::size_t i = 0; i < values.size(); ++i) {
    refuse_nul(values[i], name, i);
    width = std::max(width, values[i].size());
  }
  std::vector<char> flat(values.size() * width, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::memcpy(flat.data() + i * width, values[i].data(), values[i].size());
  }
  Hid type = string_type(width);
  const hsize_t dims[1] = {values.size()};
  Hid ds = create_dataset(loc, name, type.get(), dims);
  if (!values.empty()) write_all(ds.get(), type.get(), flat.data(), name);
}

std::vector<std::string> read_strings(hid_t loc, const std::string& name) {
  Hid ds = open_dataset(loc, name);
  std::vector<hsize_t> dims = dataset_dims(ds.get(), name);
  if (dims.size() != 1 || dataset_type_class(ds.get(), name) != H5T_STRING) {
    throw Hdf5Error("'" + name + "' is not a list of strings");
  }
  Hid file_type(check_id(H5Dget_type(ds.get()), "H5Dget_type", name));
  if (H5Tis_variable_str(file_type.get()) > 0) {
    throw Hdf5Error("'" + name + "' holds variable-length strings; expected fixed-length");
  }
  const std::size_t width = dataset_type_size(ds.get(), name);
  std::vector<char> flat(stored_elements(ds.get(), name) * width);
  Hid type = string_type(width);
  if (dims[0] > 0) read_all(ds.get(), type.get(), flat.data(), name);
  std::vector<std::string> out(dims[0]);
  for (std::size_t i = 0; i < dims[0]; ++i) {
    out[i] = stored_string(flat.data() + i * width, width, name, i);
  }
  return out;
}

void write_attribute(hid_t loc, const std::string& name, const std::string& value) {
  refuse_nul(value, name, 0);
  Hid type = string_type(value.size());
  Hid space = scalar_space();
  Hid attr(
      check_id(H5Acreate2(loc, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
               "H5Acreate2", name));
  std::vector<char> buf(std::max<std::size_t>(value.size(), 1), '\0');
  std::memcpy(buf.data(), value.data(), value.size());
  check(H5Awrite(attr.get(), type.get(), buf.data()), "H5Awrite", name);
}

void write_attribute(hid_t loc, const std::string& name, std::int64_t value) {
  Hid space = scalar_space();
  Hid attr(
      check_id(H5Acreate2(loc, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
               "H5Acreate2", name));
  check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "H5Awrite", name);
}

bool has_attribute(hid_t loc, const std::string& name) { return H5Aexists(loc, name.c_str()) > 0; }

std::string read_string_attribute(hid_t loc, const std::string& name) {
  Hid attr(check_id(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
  Hid file_type(check_id(H5Aget_type(attr.get()), "H5Aget_type", name));
  if (H5Tget_class(file_type.get()) != H5T_STRING || H5Tis_variable_str(file_type.get()) > 0) {
    throw Hdf5Error("attribute '" + name + "' is not a fixed-length string");
  }
  const std::size_t width = H5Tget_size(file_type.get());
  std::vector<char> buf(width + 1, '\0');
  Hid type = string_type(width);
  check(H5Aread(attr.get(), type.get(), buf.data()), "H5Aread", name);
  return stored_string(buf.data(), width, name, 0);
}

std::int64_t read_int_attribute(hid_t loc, const std::string& name) {
  Hid attr(check_id(H5Aopen(loc, name.c_str(), H5P_DEFAULT), "H5Aopen", name));
  Hid file_type(check_id(H5Aget_type(attr.get()), "H5Aget_type", name));
  if (H5Tget_class(file_type.get()) != H5T_INTEGER) {
    throw Hdf5Error("attribute '" + name + "' is not an integer");
  }
  std::int64_t value = 0;
  check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), "H5Aread", name);
  return value;
}

Hid create_nan_dataset(hid_t loc, const std::string& name, std::span<const hsize_t> dims,
                       std::span<const hsize_t> chunk) {
  Hid dcpl = dataset_creation_properties(name);
  const double nan = std::nan("");
  const int rank = static_cast<int>(dims.size());
  if (H5Pset_chunk(dcpl.get(), rank, chunk.data()) < 0 ||
      H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan) < 0 ||
      H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC) < 0) {
    throw Hdf5Error("dataset creation properties failed for '" + name + "'");
  }
  Hid space(H5Screate_simple(rank, dims.data(), nullptr));
  const hsize_t rows = rank == 2 ? (dims[0] + chunk[0] - 1) / chunk[0] : 1;
  const hsize_t chunk_elements = rank == 2 ? chunk[0] * chunk[1] : chunk[0];
  const std::size_t cache_bytes = static_cast<std::size_t>(2 * rows * chunk_elements * 8);
  Hid dapl(H5Pcreate(H5P_DATASET_ACCESS));
  H5Pset_chunk_cache(dapl.get(), 521, cache_bytes, 1.0);
  const hid_t ds = H5Dcreate2(loc, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                              dcpl.get(), dapl.get());
  if (ds < 0) throw Hdf5Error("H5Dcreate2 failed for '" + name + "'");
  return Hid(ds);
}

void write_elements(hid_t ds, std::span<const hsize_t> coords, std::span<const double> values,
                    const std::string& what) {
  if (values.empty()) return;
  const hsize_t n[1] = {values.size()};
  Hid mem(H5Screate_simple(1, n, nullptr));
  Hid space(H5Dget_space(ds));
  if (H5Sselect_elements(space.get(), H5S_SELECT_SET, values.size(), coords.data()) < 0 ||
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, values.data()) < 0) {
    throw Hdf5Error("H5Dwrite failed for an era column of '" + what + "'");
  }
}

}  // namespace backscore::h5
