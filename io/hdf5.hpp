// Small checked wrappers over the HDF5 C API, in the manner of HighFive: objects own their hid_t
// and never throw from destructors; every call that fails throws Hdf5Error naming the call and
// the object. HDF5 is used from one thread at a time.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace backscore::h5 {

class Hdf5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one HDF5 identifier of any kind; closes it with H5Idec_ref.
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  ~Hid() { reset(); }
  Hid(Hid&& o) noexcept : id_(o.id_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() noexcept {
    if (id_ >= 0) H5Idec_ref(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

// Turns HDF5's automatic error-stack printing off on the calling thread, for good. backscore
// reports every HDF5 failure as its own one-line error (Hdf5Error, or an InputError naming the
// file), so HDF5's printout is never wanted: it would follow that line on stderr. Restoring it
// afterwards is what made a damaged store print HDF5's chatter at exit too: HDF5's library-close
// handler (atexit) prints "HDF5: infinite loop closing library" and a long "FL,FL,..." line when
// objects of a damaged file could not be closed, unless printing is off on the exiting thread.
// The setting is per thread (Debian's HDF5 is built thread-safe), so main() calls this first
// and every entry point of io/ that may run on another thread (the batch reader's) calls it too;
// after the first call on a thread it costs one thread-local test.
void silence_errors();

// Silences HDF5's error printing on this thread (silence_errors()); kept as a marker at the top
// of code that calls HDF5. It does not turn printing back on when it goes (see silence_errors).
class SilenceHdf5 {
 public:
  SilenceHdf5() { silence_errors(); }
  SilenceHdf5(const SilenceHdf5&) = delete;
  SilenceHdf5& operator=(const SilenceHdf5&) = delete;
};

// Files and groups.
Hid create_file(const std::string& path);  // truncates
Hid open_file(const std::string& path, bool writable = false);
bool is_hdf5(const std::string& path);
Hid create_group(hid_t loc, const std::string& name);
Hid open_group(hid_t loc, const std::string& name);
bool exists(hid_t loc, const std::string& name);  // name may be a relative path a/b/c

// Datasets. dims are row-major (last index fastest). Every dataset and group is created without
// modification times, so writing the same content twice gives identical files.
Hid dataset_creation_properties(const std::string& name);
Hid create_dataset(hid_t loc, const std::string& name, hid_t file_type,
                   std::span<const hsize_t> dims, std::span<const hsize_t> chunk = {});
Hid open_dataset(hid_t loc, const std::string& name);
std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& what);
H5T_class_t dataset_type_class(hid_t dataset, const std::string& what);
std::size_t dataset_type_size(hid_t dataset, const std::string& what);

// The number of elements of a dataset, checked against the bytes the file holds for it
// (H5Dget_storage_size): dims that ask for more than that are an Hdf5Error. Every dataset
// backscore writes is fully allocated, so only a damaged file (or one from elsewhere relying on
// fill values) fails, and a damaged size is refused before it becomes a huge allocation.
std::size_t stored_elements(hid_t dataset, const std::string& what);

// Whole-dataset I/O in the given memory type (HDF5 converts between number types).
void write_all(hid_t dataset, hid_t mem_type, const void* data, const std::string& what);
void read_all(hid_t dataset, hid_t mem_type, void* data, const std::string& what);
// Rows [first, first + count) of a 2-D dataset, one hyperslab.
void read_rows(hid_t dataset, hid_t mem_type, hsize_t first, hsize_t count, void* data,
               const std::string& what);

// A float64 dataset of `dims` (1 or 2 of them, the era axis last), chunked as `chunk`, every
// element NaN until written (allocated at creation, so a reader's file is always complete). Its
// chunk cache holds one column of chunks twice: the scores and simulation files are written one
// era column at a time, and a larger cache would keep every chunk of the history in memory
// until the file closes.
Hid create_nan_dataset(hid_t loc, const std::string& name, std::span<const hsize_t> dims,
                       std::span<const hsize_t> chunk);
// Writes `values` to the elements `coords` (the dataset's rank numbers each) of `ds`; `what`
// names the dataset in the error.
void write_elements(hid_t ds, std::span<const hsize_t> coords, std::span<const double> values,
                    const std::string& what);

// Convenience: a new dataset holding `values` with the given dims.
template <typename T>
void write_dataset(hid_t loc, const std::string& name, hid_t mem_type, hid_t file_type,
                   std::span<const T> values, std::span<const hsize_t> dims,
                   std::span<const hsize_t> chunk = {}) {
  Hid ds = create_dataset(loc, name, file_type, dims, chunk);
  if (!values.empty()) write_all(ds.get(), mem_type, values.data(), name);
}

// Fixed-length, null-padded UTF-8 string lists (one flat buffer, never vectors of buffers). A
// NUL byte cannot be stored in such a string (the padding is NULs): write_strings refuses a
// string with one, read_strings a stored string with a NUL before a non-NUL byte (rather than
// cutting it there), both with an Hdf5Error naming the dataset and element.
void write_strings(hid_t loc, const std::string& name, const std::vector<std::string>& values);
std::vector<std::string> read_strings(hid_t loc, const std::string& name);

// Scalar attributes. String attributes follow the string lists' NUL rule.
void write_attribute(hid_t loc, const std::string& name, const std::string& value);
void write_attribute(hid_t loc, const std::string& name, std::int64_t value);
std::string read_string_attribute(hid_t loc, const std::string& name);
std::int64_t read_int_attribute(hid_t loc, const std::string& name);
bool has_attribute(hid_t loc, const std::string& name);

}  // namespace backscore::h5

namespace backscore {
using h5::Hdf5Error;
}
