// The spill file of `backscore import`: prediction cells read in file order, bucketed by era
// into an unlinked temporary file beside the output, and taken back one era at a time, so memory
// is bounded by one era's cells plus a fixed buffer however many predictions there are.
// Internal to io/.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
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
  // A spill file `beside`.spill-<pid> for `eras` eras that writes its buffered cells out
  // whenever `max_buffered` (>= 1) are buffered.
  EraSpill(const std::filesystem::path& beside, std::size_t eras, std::size_t max_buffered);
  ~EraSpill();
  EraSpill(const EraSpill&) = delete;
  EraSpill& operator=(const EraSpill&) = delete;

  void add(std::size_t era, const Cell& cell);
  // Every cell of the era, in the order added.
  std::vector<Cell> take(std::size_t era);

 private:
  void flush();
  [[noreturn]] void fail() const;

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::vector<std::vector<Cell>> buffers_;
  std::vector<std::vector<std::pair<off_t, std::size_t>>> chunks_;
  std::size_t buffered_ = 0;
  std::size_t max_buffered_;
  off_t end_ = 0;
};

}  // namespace backscore
