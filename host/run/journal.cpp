// Binary journal of finished eras (see journal.hpp). Layout: magic "BSJ1", u64 fingerprint
// length, fingerprint bytes, then records {u64 era, u64 m, i32 models[m], f64 scores[m*F]}.
#include "host/run/journal.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "core/error.hpp"

namespace backscore {
namespace {

constexpr char kMagic[4] = {'B', 'S', 'J', '1'};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

bool read_exact(std::FILE* f, void* dst, std::size_t bytes) {
  return std::fread(dst, 1, bytes, f) == bytes;
}

// Reads the header; false when it is not a journal of this job.
bool read_header(std::FILE* f, const std::string& fingerprint) {
  char magic[4];
  std::uint64_t len = 0;
  if (!read_exact(f, magic, 4) || std::memcmp(magic, kMagic, 4) != 0) return false;
  if (!read_exact(f, &len, sizeof len) || len != fingerprint.size()) return false;
  std::string stored(len, '\0');
  return read_exact(f, stored.data(), len) && stored == fingerprint;
}

// Reads one record; false at the end or at an incomplete record.
bool read_record(std::FILE* f, std::size_t n_formulas, EraScores& out) {
  std::uint64_t m = 0;
  if (!read_exact(f, &out.era, sizeof out.era) || !read_exact(f, &m, sizeof m)) return false;
  if (m > (std::uint64_t{1} << 31)) return false;
  out.models.resize(m);
  out.scores.resize(m * n_formulas);
  return read_exact(f, out.models.data(), m * sizeof(std::int32_t)) &&
         read_exact(f, out.scores.data(), out.scores.size() * sizeof(double));
}

}  // namespace

JournalWriter::JournalWriter(std::filesystem::path path, std::string fingerprint,
                             std::size_t n_formulas, bool resume)
    : path_(std::move(path)), n_formulas_(n_formulas) {
  long keep = 0;
  if (resume) {
    File in(std::fopen(path_.c_str(), "rb"));
    if (!in) throw InputError(path_.string() + ": nothing to resume (no journal of a killed run)");
    if (!read_header(in.get(), fingerprint)) {
      throw InputError(path_.string() +
                       ": the journal belongs to another job (store, formulas or options differ); "
                       "run without --resume to start over");
    }
    keep = std::ftell(in.get());
    EraScores rec;
    while (read_record(in.get(), n_formulas_, rec)) {
      finished_.push_back(rec.era);
      keep = std::ftell(in.get());
    }
  }
  if (resume) {
    // Drop a record the killed run had not finished writing.
    if (::truncate(path_.c_str(), keep) != 0) {
      throw InputError(path_.string() + ": cannot truncate: " + std::strerror(errno));
    }
    file_ = std::fopen(path_.c_str(), "ab");
  } else {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  if (!file_) throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  if (!resume) {
    const std::uint64_t len = fingerprint.size();
    std::fwrite(kMagic, 1, 4, file_);
    std::fwrite(&len, sizeof len, 1, file_);
    std::fwrite(fingerprint.data(), 1, len, file_);
    if (std::fflush(file_) != 0) throw InputError("cannot write " + path_.string());
  }
}

JournalWriter::~JournalWriter() {
  if (file_) std::fclose(file_);
}

void JournalWriter::append(const EraScores& era) {
  if (era.scores.size() != era.models.size() * n_formulas_) {
    throw std::logic_error("JournalWriter::append: scores size mismatch");
  }
  const std::uint64_t m = era.models.size();
  bool ok = std::fwrite(&era.era, sizeof era.era, 1, file_) == 1 &&
            std::fwrite(&m, sizeof m, 1, file_) == 1 &&
            std::fwrite(era.models.data(), sizeof(std::int32_t), m, file_) == m &&
            std::fwrite(era.scores.data(), sizeof(double), era.scores.size(), file_) ==
                era.scores.size() &&
            std::fflush(file_) == 0;
  if (!ok) throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  finished_.push_back(era.era);
}

void JournalWriter::close() {
  if (file_ && std::fclose(file_) != 0) {
    file_ = nullptr;
    throw InputError("cannot write " + path_.string());
  }
  file_ = nullptr;
}

void read_journal(const std::filesystem::path& path, const std::string& fingerprint,
                  std::size_t n_formulas, const std::function<void(const EraScores&)>& visit) {
  File in(std::fopen(path.c_str(), "rb"));
  if (!in || !read_header(in.get(), fingerprint)) {
    throw std::runtime_error("cannot read back the journal " + path.string());
  }
  EraScores rec;
  while (read_record(in.get(), n_formulas, rec)) visit(rec);
}

}  // namespace backscore
