// The run journal: scores of finished eras appended as binary records beside the output, so a
// killed run resumes (--resume) without recomputing them, and the final outputs are assembled
// from it era by era in store order (memory bounded by one era), whatever the order the eras
// were finished in. A header fingerprint ties it to one job, and a
// checksum on the header and on every record means a damaged journal is never read as scores.
// Layout: docs/FORMAT.md, "The run journal".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace backscore {

struct EraScores {
  std::uint64_t era = 0;             // index in the store
  std::vector<std::int32_t> models;  // global model indices of the submitted models
  std::vector<double> scores;        // models.size() x n_formulas, model-major
};

class JournalWriter {
 public:
  // Creates a new journal, or with resume=true reopens an existing one whose fingerprint matches.
  // On resume, the first record that is incomplete (the killed run was writing it) or damaged
  // (its checksum does not match) is dropped with everything after it, and those eras are scored
  // again; damage() says what was dropped. InputError, leaving the file as it is, when there is
  // no journal, when it belongs to another job, or when its header is damaged.
  JournalWriter(std::filesystem::path path, std::string fingerprint, std::size_t n_formulas,
                bool resume);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  const std::vector<std::uint64_t>& finished_eras() const { return finished_; }
  // On resume: a one-line note when damaged records were dropped (empty otherwise).
  const std::string& damage() const { return damage_; }
  void append(const EraScores& era);  // one write, flushed to the OS before returning
  void close();

 private:
  std::filesystem::path path_;
  std::size_t n_formulas_;
  std::FILE* file_ = nullptr;
  std::vector<std::uint64_t> finished_;
  std::string damage_;
  std::vector<unsigned char> record_;  // the record being written
};

// Calls visit for the record of each era of `eras` (store indices), in that order, whatever the
// order the records were appended in (an era-sharded run journals eras as its ranks finish
// them): a first pass finds each record, a second reads them in order, so memory stays one
// record. Throws InputError naming the record when one is incomplete or damaged (a --resume
// scores it and what follows again), std::logic_error when an era of `eras` has no record or a
// record's era is not in `eras` or comes twice (a bug, not bad input).
void read_journal(const std::filesystem::path& path, const std::string& fingerprint,
                  std::size_t n_formulas, std::span<const std::size_t> eras,
                  const std::function<void(const EraScores&)>& visit);

// One era's record as the journal stores it (layout: docs/FORMAT.md), and back: how an
// era-sharded run's ranks send their eras' scores to the rank that journals them. Decoding
// checks the length and the checksum (std::invalid_argument when either is wrong).
std::vector<unsigned char> encode_era_scores(const EraScores& era, std::size_t n_formulas);
EraScores decode_era_scores(std::span<const unsigned char> bytes, std::size_t n_formulas);

// The journal's checksum: 64 bits over a byte string (8-byte words, then the tail), each step a
// bijection of the state, so any change confined to one word is always detected. Exposed for
// the tests.
std::uint64_t journal_checksum(std::span<const unsigned char> bytes);

}  // namespace backscore
