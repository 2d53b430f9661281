// Direct reads of a dataset's chunks (see chunk_reader.hpp).
#include "io/chunk_reader.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <mutex>
#include <system_error>
#include <thread>

#include "io/hdf5.hpp"

namespace backscore {

void ChunkRows::clear() {
  chunk_rows_ = 0;
  chunk_offset_.clear();
}

bool ChunkRows::plan(hid_t file, hid_t ds, hsize_t m, hsize_t n) {
  clear();
  row_floats_ = n;
  if (m == 0 || n == 0) return false;
  if (H5Tequal(H5T_NATIVE_FLOAT, H5T_IEEE_F32LE) <= 0) return false;
  h5::Hid fcpl(H5Fget_create_plist(file));
  hsize_t userblock = 1;
  if (!fcpl.valid() || H5Pget_userblock(fcpl.get(), &userblock) < 0 || userblock != 0) {
    return false;
  }
  h5::Hid type(H5Dget_type(ds));
  if (!type.valid() || H5Tequal(type.get(), H5T_IEEE_F32LE) <= 0) return false;
  h5::Hid dcpl(H5Dget_create_plist(ds));
  if (!dcpl.valid() || H5Pget_layout(dcpl.get()) != H5D_CHUNKED ||
      H5Pget_nfilters(dcpl.get()) != 0) {
    return false;
  }
  hsize_t chunk[2] = {0, 0};
  if (H5Pget_chunk(dcpl.get(), 2, chunk) != 2 || chunk[0] == 0 || chunk[1] != n) return false;
  std::vector<std::uint64_t> offsets;
  for (hsize_t r = 0; r < m; r += chunk[0]) {
    const hsize_t at[2] = {r, 0};
    unsigned filter_mask = 0;
    haddr_t addr = HADDR_UNDEF;
    hsize_t bytes = 0;
    if (H5Dget_chunk_info_by_coord(ds, at, &filter_mask, &addr, &bytes) < 0 ||
        addr == HADDR_UNDEF || filter_mask != 0 || bytes != chunk[0] * n * sizeof(float)) {
      static_cast<void>(H5Eclear2(H5E_DEFAULT));
      return false;
    }
    offsets.push_back(addr);
  }
  chunk_rows_ = chunk[0];
  chunk_offset_ = std::move(offsets);
  return true;
}

std::string ChunkRows::read(int fd, std::size_t first, std::size_t count, float* out,
                            int threads) const {
  struct Piece {
    std::uint64_t offset;
    char* dst;
    std::size_t bytes;
  };
  const std::size_t row_bytes = row_floats_ * sizeof(float);
  std::vector<Piece> pieces;
  for (std::size_t r = first; r < first + count;) {
    const std::size_t c = r / chunk_rows_, within = r - c * chunk_rows_;
    const std::size_t rows = std::min<std::size_t>(chunk_rows_ - within, first + count - r);
    pieces.push_back({chunk_offset_[c] + within * row_bytes,
                      reinterpret_cast<char*>(out + (r - first) * row_floats_), rows * row_bytes});
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
  return error;
}

}  // namespace backscore
