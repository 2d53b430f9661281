// The import's spill file (see era_spill.hpp).
#include "io/era_spill.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace backscore {

EraSpill::EraSpill(const std::filesystem::path& beside, std::size_t eras, std::size_t max_buffered)
    : buffers_(eras), chunks_(eras), max_buffered_(std::max<std::size_t>(1, max_buffered)) {
  path_ = beside;
  path_ += ".spill-" + std::to_string(::getpid());
  file_ = std::fopen(path_.c_str(), "w+b");
  if (!file_) throw InputError("cannot create " + path_.string() + ": " + std::strerror(errno));
  ::unlink(path_.c_str());  // the space is freed when the file is closed, even on a crash
}

EraSpill::~EraSpill() { std::fclose(file_); }

void EraSpill::add(std::size_t era, const Cell& cell) {
  buffers_[era].push_back(cell);
  if (++buffered_ >= max_buffered_) flush();
}

std::vector<Cell> EraSpill::take(std::size_t era) {
  std::vector<Cell> cells;
  std::size_t total = buffers_[era].size();
  for (const auto& [offset, count] : chunks_[era]) total += count;
  cells.reserve(total);
  for (const auto& [offset, count] : chunks_[era]) {
    const std::size_t at = cells.size();
    cells.resize(at + count);
    if (::fseeko(file_, offset, SEEK_SET) != 0 ||
        std::fread(cells.data() + at, sizeof(Cell), count, file_) != count) {
      throw InputError("cannot read back " + path_.string() + ": " + std::strerror(errno));
    }
  }
  cells.insert(cells.end(), buffers_[era].begin(), buffers_[era].end());
  std::vector<Cell>().swap(buffers_[era]);
  return cells;
}

void EraSpill::flush() {
  if (::fseeko(file_, end_, SEEK_SET) != 0) fail();
  for (std::size_t e = 0; e < buffers_.size(); ++e) {
    std::vector<Cell>& b = buffers_[e];
    if (b.empty()) continue;
    if (std::fwrite(b.data(), sizeof(Cell), b.size(), file_) != b.size()) fail();
    chunks_[e].emplace_back(end_, b.size());
    end_ += static_cast<off_t>(b.size() * sizeof(Cell));
    std::vector<Cell>().swap(b);
  }
  if (std::fflush(file_) != 0) fail();
  buffered_ = 0;
}

void EraSpill::fail() const {
  throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
}

}  // namespace backscore
