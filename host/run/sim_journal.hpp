// The journal of `backscore simulate`: each simulated era appended as a checksummed record, and
// after each a checkpoint of the simulation's state (the stakes and payouts in flight, which the
// next era needs), written atomically, with the journal's length at that point. A killed
// simulation resumes (--resume) from the checkpoint: the journal is cut back to the length it
// records and the eras after it are simulated again, so the outputs are the bytes of an
// uninterrupted simulation. Layout: docs/FORMAT.md, "The simulation journal".
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "host/run/simulation.hpp"

namespace backscore {

class SimJournal {
 public:
  // A new journal at `path` (its checkpoint beside it, `path` + "-state") starting from `start`,
  // or with resume=true the existing one, its state read into `start`. InputError, leaving the
  // files as they are, when there is nothing to resume, when it belongs to another job (another
  // fingerprint) or when it is damaged.
  SimJournal(std::filesystem::path path, std::string fingerprint, std::size_t rules, bool resume,
             SimState& start);
  ~SimJournal();
  SimJournal(const SimJournal&) = delete;
  SimJournal& operator=(const SimJournal&) = delete;

  // Appends the era (flushed to disk) then checkpoints `after`, the state after it.
  void append(const SimEra& era, const SimState& after);
  // Calls visit for every era journaled, in order. InputError when a record is damaged.
  void read(const std::function<void(const SimEra&)>& visit) const;
  std::size_t eras() const { return eras_; }
  // Closes and deletes the journal and its checkpoint (the outputs are written).
  void remove();

  static std::filesystem::path checkpoint_path(const std::filesystem::path& journal);

 private:
  std::filesystem::path path_, checkpoint_;
  std::string fingerprint_;
  std::size_t rules_;
  std::FILE* file_ = nullptr;
  std::uint64_t length_ = 0;
  std::size_t eras_ = 0;
  void checkpoint(const SimState& state) const;
};

}  // namespace backscore
