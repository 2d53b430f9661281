// Binary journal of finished eras (see journal.hpp; layout in docs/FORMAT.md). Header: magic
// "BSJ2", u64 fingerprint length, the fingerprint, u64 checksum of those bytes. Then one record
// per era: u64 era, u64 m, i32 models[m], f64 scores[m * F], u64 checksum of the record's bytes
// before it. Native byte order: a journal is read back by the same build on the same machine.
#include "host/run/journal.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "core/error.hpp"

namespace backscore {
namespace {

constexpr char kMagic[4] = {'B', 'S', 'J', '2'};
constexpr std::size_t kChecksumBytes = sizeof(std::uint64_t);
constexpr std::size_t kRecordHead = 2 * sizeof(std::uint64_t);  // a record's era and m

// A record's models and scores (what follows its head) into out.
void unpack_body(const unsigned char* p, std::size_t models, std::size_t n_formulas,
                 EraScores& out) {
  out.models.resize(models);
  out.scores.resize(models * n_formulas);
  if (models > 0) {
    std::memcpy(out.models.data(), p, models * sizeof(std::int32_t));
    std::memcpy(out.scores.data(), p + models * sizeof(std::int32_t),
                out.scores.size() * sizeof(double));
  }
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

void put(std::vector<unsigned char>& buf, const void* data, std::size_t bytes) {
  if (bytes == 0) return;  // data may be null (an era with no models)
  const auto* p = static_cast<const unsigned char*>(data);
  buf.insert(buf.end(), p, p + bytes);
}

template <typename T>
void put_value(std::vector<unsigned char>& buf, const T& v) {
  put(buf, &v, sizeof v);
}

// Appends the checksum of everything in buf.
void seal(std::vector<unsigned char>& buf) {
  const std::uint64_t sum = journal_checksum(buf);
  put_value(buf, sum);
}

std::vector<unsigned char> header_bytes(const std::string& fingerprint) {
  std::vector<unsigned char> h;
  put(h, kMagic, sizeof kMagic);
  put_value(h, static_cast<std::uint64_t>(fingerprint.size()));
  put(h, fingerprint.data(), fingerprint.size());
  seal(h);
  return h;
}

// Reads a journal front to back, checking every checksum.
class JournalReader {
 public:
  enum class Header { ok, not_journal, damaged, other_job };
  enum class Record { ok, end, incomplete, damaged };

  explicit JournalReader(const std::filesystem::path& path)
      : file_(std::fopen(path.c_str(), "rb")) {
    struct stat st {};
    if (file_ && ::fstat(::fileno(file_.get()), &st) == 0) {
      size_ = static_cast<std::uint64_t>(st.st_size);
    }
  }
  bool opened() const { return file_ != nullptr; }
  std::uint64_t offset() const { return pos_; }  // just after the last header or good record
  std::uint64_t size() const { return size_; }

  Header header(const std::string& fingerprint) {
    buf_.clear();
    std::uint64_t len = 0;
    if (!take(sizeof kMagic) || std::memcmp(buf_.data(), kMagic, sizeof kMagic) != 0) {
      return Header::not_journal;
    }
    if (!take(sizeof len)) return Header::damaged;
    std::memcpy(&len, buf_.data() + sizeof kMagic, sizeof len);
    if (len > remaining() || !take(static_cast<std::size_t>(len))) return Header::damaged;
    if (!checksum_matches()) return Header::damaged;
    const char* stored = reinterpret_cast<const char*>(buf_.data()) + sizeof kMagic + sizeof len;
    if (std::string_view(stored, len) != fingerprint) return Header::other_job;
    pos_ = consumed_;
    return Header::ok;
  }

  // Reads from `offset` on (the start of a record found by an earlier pass).
  void seek(std::uint64_t offset) {
    if (offset > size_ || std::fseek(file_.get(), static_cast<long>(offset), SEEK_SET) != 0) {
      throw std::logic_error("journal: seek past the end");
    }
    consumed_ = pos_ = offset;
  }

  Record next(std::size_t n_formulas, EraScores& out) {
    if (consumed_ == size_) return Record::end;
    buf_.clear();
    std::uint64_t m = 0;
    if (!take(kRecordHead)) return Record::incomplete;
    std::memcpy(&out.era, buf_.data(), sizeof out.era);
    std::memcpy(&m, buf_.data() + sizeof out.era, sizeof m);
    const std::uint64_t per_model = sizeof(std::int32_t) + n_formulas * sizeof(double);
    if (m > remaining() / per_model || m * per_model + kChecksumBytes > remaining()) {
      return Record::incomplete;  // the record runs past the end of the file
    }
    const std::size_t models = static_cast<std::size_t>(m);
    if (!take(models * per_model)) return Record::incomplete;
    if (!checksum_matches()) return Record::damaged;
    unpack_body(buf_.data() + kRecordHead, models, n_formulas, out);
    pos_ = consumed_;
    return Record::ok;
  }

 private:
  std::uint64_t remaining() const { return size_ - consumed_; }

  // Appends the next `bytes` of the file to buf_; false at the end of the file.
  bool take(std::size_t bytes) {
    if (bytes > remaining()) return false;
    const std::size_t at = buf_.size();
    buf_.resize(at + bytes);
    if (bytes > 0 && std::fread(buf_.data() + at, 1, bytes, file_.get()) != bytes) return false;
    consumed_ += bytes;
    return true;
  }

  // Reads the checksum that follows buf_ and compares it with buf_'s.
  bool checksum_matches() {
    std::uint64_t stored = 0;
    if (remaining() < kChecksumBytes ||
        std::fread(&stored, 1, kChecksumBytes, file_.get()) != kChecksumBytes) {
      return false;
    }
    consumed_ += kChecksumBytes;
    return stored == journal_checksum(buf_);
  }

  File file_;
  std::uint64_t size_ = 0, consumed_ = 0, pos_ = 0;
  std::vector<unsigned char> buf_;
};

// A record's bytes, checksum included.
void encode_record(const EraScores& era, std::vector<unsigned char>& record) {
  record.clear();
  put_value(record, era.era);
  put_value(record, static_cast<std::uint64_t>(era.models.size()));
  put(record, era.models.data(), era.models.size() * sizeof(std::int32_t));
  put(record, era.scores.data(), era.scores.size() * sizeof(double));
  seal(record);
}

}  // namespace

std::vector<unsigned char> encode_era_scores(const EraScores& era, std::size_t n_formulas) {
  if (era.scores.size() != era.models.size() * n_formulas) {
    throw std::logic_error("encode_era_scores: scores size mismatch");
  }
  std::vector<unsigned char> record;
  encode_record(era, record);
  return record;
}

EraScores decode_era_scores(std::span<const unsigned char> bytes, std::size_t n_formulas) {
  auto bad = [](const char* why) {
    throw std::invalid_argument(std::string("decode_era_scores: ") + why);
  };
  if (bytes.size() < kRecordHead + kChecksumBytes) bad("too short");
  EraScores out;
  std::uint64_t m = 0, stored = 0;
  std::memcpy(&out.era, bytes.data(), sizeof out.era);
  std::memcpy(&m, bytes.data() + sizeof out.era, sizeof m);
  const std::uint64_t per_model = sizeof(std::int32_t) + n_formulas * sizeof(double);
  if (m > bytes.size() / per_model ||
      kRecordHead + m * per_model + kChecksumBytes != bytes.size()) {
    bad("wrong length");
  }
  const std::size_t body = bytes.size() - kChecksumBytes;
  std::memcpy(&stored, bytes.data() + body, kChecksumBytes);
  if (stored != journal_checksum(bytes.first(body))) bad("checksum mismatch");
  unpack_body(bytes.data() + kRecordHead, static_cast<std::size_t>(m), n_formulas, out);
  return out;
}

std::uint64_t journal_checksum(std::span<const unsigned char> bytes) {
  constexpr std::uint64_t kPrime = 0x100000001b3ULL;  // FNV-1a's
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto step = [&h](std::uint64_t w) {  // each a bijection of h for a given w
    h ^= w;
    h *= kPrime;
    h ^= h >> 32;
  };
  std::size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, bytes.data() + i, 8);
    step(w);
  }
  for (; i < bytes.size(); ++i) step(bytes[i]);
  h ^= bytes.size();  // murmur3's finalizer
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

JournalWriter::JournalWriter(std::filesystem::path path, std::string fingerprint,
                             std::size_t n_formulas, bool resume)
    : path_(std::move(path)), n_formulas_(n_formulas) {
  if (resume) {
    JournalReader in(path_);
    if (!in.opened()) {
      throw InputError(path_.string() + ": nothing to resume (no journal of a killed run)");
    }
    switch (in.header(fingerprint)) {
      case JournalReader::Header::ok:
        break;
      case JournalReader::Header::not_journal:
        throw InputError(path_.string() +
                         ": not a backscore run journal (or one of an older version); run "
                         "without --resume to start over");
      case JournalReader::Header::damaged:
        throw InputError(path_.string() +
                         ": the journal's header is damaged; run without --resume to start over");
      case JournalReader::Header::other_job:
        throw InputError(path_.string() +
                         ": the journal belongs to another job (store, formulas or options "
                         "differ); run without --resume to start over");
    }
    EraScores rec;
    JournalReader::Record r;
    while ((r = in.next(n_formulas_, rec)) == JournalReader::Record::ok) {
      finished_.push_back(rec.era);
    }
    if (r != JournalReader::Record::end) {
      const std::string record = "journal record " + std::to_string(finished_.size() + 1);
      const std::string dropped = std::to_string(in.size() - in.offset()) + " bytes";
      damage_ = r == JournalReader::Record::damaged
                    ? record +
                          " is damaged (its checksum does not match): it and everything "
                          "after it (" +
                          dropped + ") are dropped and scored again"
                    : record + " is incomplete (" + dropped +
                          " to the end of the file: the killed run was writing it); dropped and "
                          "scored again";
    }
    // Drop what cannot be trusted: an incomplete or damaged record and everything after it.
    if (::truncate(path_.c_str(), static_cast<off_t>(in.offset())) != 0) {
      throw InputError(path_.string() + ": cannot truncate: " + std::strerror(errno));
    }
    file_ = std::fopen(path_.c_str(), "ab");
  } else {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  if (!file_) throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  if (!resume) {
    const std::vector<unsigned char> h = header_bytes(fingerprint);
    if (std::fwrite(h.data(), 1, h.size(), file_) != h.size() || std::fflush(file_) != 0) {
      throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
    }
  }
}

JournalWriter::~JournalWriter() {
  if (file_) std::fclose(file_);
}

void JournalWriter::append(const EraScores& era) {
  if (era.scores.size() != era.models.size() * n_formulas_) {
    throw std::logic_error("JournalWriter::append: scores size mismatch");
  }
  encode_record(era, record_);
  const bool ok = std::fwrite(record_.data(), 1, record_.size(), file_) == record_.size() &&
                  std::fflush(file_) == 0;
  if (!ok) throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  finished_.push_back(era.era);
}

void JournalWriter::close() {
  if (file_ && std::fclose(file_) != 0) {
    file_ = nullptr;
    throw InputError("cannot write " + path_.string() + ": " + std::strerror(errno));
  }
  file_ = nullptr;
}

void read_journal(const std::filesystem::path& path, const std::string& fingerprint,
                  std::size_t n_formulas, std::span<const std::size_t> eras,
                  const std::function<void(const EraScores&)>& visit) {
  JournalReader in(path);
  if (!in.opened()) {
    throw InputError("cannot read back the journal " + path.string() + ": " + std::strerror(errno));
  }
  if (in.header(fingerprint) != JournalReader::Header::ok) {
    throw InputError(path.string() + ": the journal's header changed while the run wrote it");
  }
  auto check = [&path](JournalReader::Record r, std::size_t index) {
    if (r != JournalReader::Record::ok) {
      throw InputError(path.string() + ": journal record " + std::to_string(index) + " is " +
                       (r == JournalReader::Record::damaged ? "damaged" : "incomplete") +
                       " on reading it back");
    }
  };
  // Pass 1: where each era's record starts (and every checksum checked).
  constexpr std::uint64_t kNone = std::numeric_limits<std::uint64_t>::max();
  std::size_t top = 0;
  for (const std::size_t e : eras) top = std::max(top, e + 1);
  std::vector<std::uint64_t> at(top, kNone), index_of(top, 0);
  std::vector<char> asked(top, 0);
  for (const std::size_t e : eras) asked[e] = 1;
  EraScores rec;
  for (std::size_t index = 1;; ++index) {
    const std::uint64_t start = in.offset();
    const JournalReader::Record r = in.next(n_formulas, rec);
    if (r == JournalReader::Record::end) break;
    check(r, index);
    if (rec.era >= top || !asked[rec.era] || at[rec.era] != kNone) {
      throw std::logic_error("journal record " + std::to_string(index) + ": era " +
                             std::to_string(rec.era) + " not in the run, or twice");
    }
    at[rec.era] = start;
    index_of[rec.era] = index;
  }
  // Pass 2: the records in the order asked.
  for (const std::size_t e : eras) {
    if (at[e] == kNone) throw std::logic_error("the journal misses era " + std::to_string(e));
    in.seek(at[e]);
    check(in.next(n_formulas, rec), static_cast<std::size_t>(index_of[e]));
    visit(rec);
  }
}

}  // namespace backscore
