// The spill files of `backscore import`: records read in file order (prediction cells, universe
// rows), bucketed by era into an unlinked temporary file beside the output, and taken back one
// era at a time, so memory is bounded by one era's records plus a fixed buffer however long the
// history is. A file already sorted by era is written out one era at a time as it is read.
// Internal to io/.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string_view>
#include <utility>
#include <vector>

namespace backscore {

// One prediction cell of the import.
struct Cell {
  std::uint32_t model, row;
  float value;  // NaN: an empty cell
  std::uint32_t source, line;
};

class EraSpill {
 public:
  // A spill file `beside`.<kind>-<pid> (unlinked at once) that writes its buffered records out
  // whenever `max_buffered` (>= 1) bytes are buffered. Eras are numbered from 0 and may be added
  // as they are met.
  EraSpill(const std::filesystem::path& beside, std::string_view kind, std::size_t max_buffered);
  ~EraSpill();
  EraSpill(const EraSpill&) = delete;
  EraSpill& operator=(const EraSpill&) = delete;

  // Appends `bytes` bytes to era `era`'s records.
  void add(std::size_t era, const void* data, std::size_t bytes);
  // The reader has left era `era` (it may come back): its buffer is written out now when it holds
  // at least `min_chunk` bytes, so that a file sorted by era keeps about one era in memory.
  void leave(std::size_t era, std::size_t min_chunk);
  // Writes every buffered record out (e.g. when the reading is over, so that taking eras back
  // holds one era at a time).
  void flush();
  // Bytes held for era `era` (on disk and buffered).
  std::size_t size(std::size_t era) const;
  // Every byte of era `era`, in the order added, into out (size(era) bytes); frees the buffer.
  void take(std::size_t era, void* out);

 private:
  void write_out(std::size_t era);
  [[noreturn]] void fail() const;

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<std::vector<unsigned char>> buffers_;
  std::vector<std::vector<std::pair<off_t, std::size_t>>> chunks_;
  std::vector<std::size_t> sizes_;
  std::size_t buffered_ = 0;
  std::size_t max_buffered_;
  off_t end_ = 0;
};

}  // namespace backscore
