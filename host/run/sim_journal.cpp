// The simulation's journal and checkpoint (see sim_journal.hpp).
#include "host/run/sim_journal.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "host/run/journal.hpp"
#include "io/pending_file.hpp"

namespace backscore {
namespace fs = std::filesystem;
namespace {

constexpr std::uint64_t kCheckpointMagic = 0x31504b43534d4953ull;  // "SIMSCKP1"

void put_u64(std::string& s, std::uint64_t v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}
std::uint64_t get_u64(std::span<const unsigned char> b, std::size_t at) {
  std::uint64_t v = 0;
  if (at + sizeof v <= b.size()) std::memcpy(&v, b.data() + at, sizeof v);
  return v;
}
std::uint64_t checksum(const std::string& s) {
  return journal_checksum({reinterpret_cast<const unsigned char*>(s.data()), s.size()});
}

std::vector<unsigned char> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

fs::path SimJournal::checkpoint_path(const fs::path& journal) {
  return fs::path(journal).concat("-state");
}

SimJournal::SimJournal(fs::path path, std::string fingerprint, std::size_t rules, bool resume,
                       SimState& start)
    : path_(std::move(path)),
      checkpoint_(checkpoint_path(path_)),
      fingerprint_(std::move(fingerprint)),
      rules_(rules) {
  const std::string what = "the simulation journal " + path_.string();
  if (resume) {
    const std::vector<unsigned char> c = read_bytes(checkpoint_);
    if (c.empty() || !fs::exists(path_)) {
      throw InputError("--resume: no simulation to resume (" + checkpoint_.string() +
                       " is missing); run without --resume");
    }
    // magic, fingerprint (length, bytes), journal length, eras, state (length, bytes), checksum
    const std::size_t fp_len = get_u64(c, 8);
    const std::size_t state_at = 16 + fp_len + 24;
    if (c.size() < state_at || get_u64(c, 0) != kCheckpointMagic ||
        get_u64(c, state_at - 8) + state_at + 8 != c.size() ||
        journal_checksum({c.data(), c.size() - 8}) != get_u64(c, c.size() - 8)) {
      throw InputError("--resume: " + checkpoint_.string() + " is damaged; run without --resume");
    }
    const std::string stored(reinterpret_cast<const char*>(c.data()) + 16, fp_len);
    if (stored != fingerprint_) {
      throw InputError("--resume: " + what +
                       " is of another simulation (store, rules or options differ); run without "
                       "--resume to start over");
    }
    length_ = get_u64(c, 16 + fp_len);
    eras_ = get_u64(c, 24 + fp_len);
    std::error_code ec;
    const auto size = fs::file_size(path_, ec);
    if (ec || size < length_) {
      throw InputError("--resume: " + what +
                       " is shorter than its checkpoint says; run without "
                       "--resume");
    }
    try {
      start = SimState::deserialize({c.data() + state_at, c.size() - state_at - 8});
    } catch (const std::invalid_argument&) {
      throw InputError("--resume: " + checkpoint_.string() + " is damaged; run without --resume");
    }
    fs::resize_file(path_, length_, ec);  // what came after the checkpoint is simulated again
    if (ec) throw InputError("cannot truncate " + what + ": " + ec.message());
    file_ = std::fopen(path_.c_str(), "ab");
  } else {
    file_ = std::fopen(path_.c_str(), "wb");
  }
  if (file_ == nullptr) throw InputError("cannot write " + what + ": " + std::strerror(errno));
  if (!resume) checkpoint(start);
}

SimJournal::~SimJournal() {
  if (file_ != nullptr) std::fclose(file_);
}

void SimJournal::checkpoint(const SimState& state) const {
  std::string c;
  put_u64(c, kCheckpointMagic);
  put_u64(c, fingerprint_.size());
  c += fingerprint_;
  put_u64(c, length_);
  put_u64(c, eras_);
  const std::vector<unsigned char> s = state.serialize();
  put_u64(c, s.size());
  c.append(reinterpret_cast<const char*>(s.data()), s.size());
  put_u64(c, checksum(c));
  write_file_atomically(checkpoint_, c);
}

void SimJournal::append(const SimEra& era, const SimState& after) {
  const std::vector<unsigned char> body = encode_sim_era(era, rules_);
  std::string record;
  put_u64(record, body.size());
  record.append(reinterpret_cast<const char*>(body.data()), body.size());
  put_u64(record, journal_checksum(body));
  if (std::fwrite(record.data(), 1, record.size(), file_) != record.size() ||
      std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    throw InputError("cannot write the simulation journal " + path_.string() + ": " +
                     std::strerror(errno));
  }
  length_ += record.size();
  ++eras_;
  checkpoint(after);
}

void SimJournal::read(const std::function<void(const SimEra&)>& visit) const {
  std::ifstream in(path_, std::ios::binary);
  std::vector<unsigned char> body;
  for (std::size_t k = 0; k < eras_; ++k) {
    std::uint64_t len = 0, sum = 0;
    in.read(reinterpret_cast<char*>(&len), sizeof len);
    if (!in || len > (std::uint64_t{1} << 40)) {
      throw InputError("the simulation journal " + path_.string() + " is damaged at record " +
                       std::to_string(k));
    }
    body.resize(len);
    in.read(reinterpret_cast<char*>(body.data()), static_cast<std::streamsize>(len));
    in.read(reinterpret_cast<char*>(&sum), sizeof sum);
    if (!in || sum != journal_checksum(body)) {
      throw InputError("the simulation journal " + path_.string() + " is damaged at record " +
                       std::to_string(k));
    }
    visit(decode_sim_era(body, rules_));
  }
}

void SimJournal::remove() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  std::error_code ec;
  fs::remove(path_, ec);
  fs::remove(checkpoint_, ec);
}

}  // namespace backscore
