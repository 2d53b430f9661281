// The import's spill files (see era_spill.hpp).
#include "io/era_spill.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace backscore {

EraSpill::EraSpill(const std::filesystem::path& beside, std::string_view kind,
                   std::size_t max_buffered)
    : max_buffered_(std::max<std::size_t>(1, max_buffered)) {
  path_ = beside;
  path_ += "." + std::string(kind) + "-" + std::to_string(::getpid());
  file_ = std::fopen(path_.c_str(), "w+b");
  if (!file_) throw InputError("cannot create " + path_.string() + ": " + std::strerror(errno));
  ::unlink(path_.c_str());  // the space is freed when the file is closed, even on a crash
}

EraSpill::~EraSpill() { std::fclose(file_); }

void EraSpill::add(std::size_t era, const void* data, std::size_t bytes) {
  if (era >= buffers_.size()) {
    buffers_.resize(era + 1);
    chunks_.resize(era + 1);
    sizes_.resize(era + 1);
  }
  const auto* p = static_cast<const unsigned char*>(data);
  buffers_[era].insert(buffers_[era].end(), p, p + bytes);
  sizes_[era] += bytes;
  buffered_ += bytes;
  if (buffered_ >= max_buffered_) flush();
}

void EraSpill::leave(std::size_t era, std::size_t min_chunk) {
  if (era >= buffers_.size() || buffers_[era].empty() || buffers_[era].size() < min_chunk) return;
  if (::fseeko(file_, end_, SEEK_SET) != 0) fail();
  write_out(era);
  if (std::fflush(file_) != 0) fail();
}

std::size_t EraSpill::size(std::size_t era) const { return era < sizes_.size() ? sizes_[era] : 0; }

void EraSpill::take(std::size_t era, void* out) {
  if (era >= buffers_.size()) return;
  auto* at = static_cast<unsigned char*>(out);
  for (const auto& [offset, count] : chunks_[era]) {
    if (::fseeko(file_, offset, SEEK_SET) != 0 || std::fread(at, 1, count, file_) != count) {
      throw InputError("cannot read back " + path_.string() + ": " + std::strerror(errno));
    }
    at += count;
  }
  std::copy(buffers_[era].begin(), buffers_[era].end(), at);
  buffered_ -= buffers_[era].size();
  std::vector<unsigned char>().swap(buffers_[era]);
  std::vector<std::pair<off_t, std::size_t>>().swap(chunks_[era]);
  sizes_[era] = 0;
}

// Appends era `era`'s buffer at end_ (the file position must be there).
void EraSpill::write_out(std::size_t era) {
  std::vector<unsigned char>& b = buffers_[era];
  if (std::fwrite(b.data(), 1, b.size(), file_) != b.size()) fail();
  chunks_[era].emplace_back(end_, b.size());
  end_ += static_cast<off_t>(b.size());
  buffered_ -= b.size();
  std::vector<unsigned char>().swap(b);
}

void EraSpill::flush() {
  if (::fseeko(file_, end_, SEEK_SET) != 0) fail();
  for (std::size_t e = 0; e < buffers_.size(); ++e) {
    if (!buffers_[e].empty()) write_out(e);
  }
  if (std::fflush(file_) != 0) fail();
}

void EraSpill::fail() const {
  throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
}

}  // namespace backscore
