// Rows of a 2-D float32 HDF5 dataset read straight from the file's chunks with pread, skipping
// HDF5's per-read machinery, when the dataset is laid out as backscore writes the store's
// predictions (docs/FORMAT.md): chunked by whole rows, unfiltered, little-endian float32 (this
// machine's float), every chunk allocated, in a file without a user block (so HDF5's chunk
// addresses are file offsets). Any other layout is left to HDF5. Internal to io/.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace backscore {

class ChunkRows {
 public:
  // Plans direct reads of dataset `ds` (m x n) of `file`: the file offset of every chunk, asked
  // of HDF5 on the calling thread. Returns whether the layout qualifies; when it does not, the
  // plan is empty and the caller reads through HDF5.
  bool plan(hid_t file, hid_t ds, hsize_t m, hsize_t n);
  bool planned() const { return chunk_rows_ > 0; }
  void clear();

  // Rows [first, first + count) into out (count x n floats) from descriptor `fd` of the planned
  // file: one pread per chunk piece, by up to `threads` threads at once. Returns "" or what
  // failed (errno's text, or a truncated file).
  std::string read(int fd, std::size_t first, std::size_t count, float* out, int threads) const;

 private:
  hsize_t chunk_rows_ = 0, row_floats_ = 0;
  std::vector<std::uint64_t> chunk_offset_;
};

}  // namespace backscore
