// backscore-mpi run (see sharded_run.hpp). The protocol, all of it on each rank's main thread:
//   1. every rank prepares the job (cli::prepare_run; rank 0 also checks the output paths) and
//      the ranks agree on it (all_gather): if any failed, rank 0 prints the lowest failing
//      rank's line and every rank exits with its status;
//   2. rank 0 opens the journal, splits the eras left to score among the ranks (split_eras) and
//      broadcasts the split (or its own failure);
//   3. each rank scores its range on a scoring thread (run_eras) that hands every finished era
//      to the main thread; the main thread sends it to rank 0 (kRecord), then kDone with the
//      rank's stats, or kFailed with its error. Rank 0 journals the records as they come; on
//      the first kFailed (or a failure of its own) it sends kStop to every rank, whose scoring
//      thread stops after its current era;
//   4. once every rank has ended, rank 0 writes the outputs (or handles the failure as one
//      process does) and sends every rank the job's exit status (kVerdict).
#include "host/mpi/sharded_run.hpp"

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <sstream>
#include <system_error>
#include <thread>

#include "host/cli/errors.hpp"
#include "host/run/backend.hpp"
#include "host/run/era_shards.hpp"
#include "host/run/journal.hpp"

namespace backscore::mpi {
namespace {

using Bytes = std::vector<unsigned char>;
using Clock = std::chrono::steady_clock;

enum Tag : int {
  kRecord = 1,  // an era's scores (the journal's record bytes), to rank 0
  kDone,        // a rank's scoring ended; its RunStats, to rank 0
  kFailed,      // a rank's scoring failed; its error, to rank 0
  kStop,        // from rank 0: stop after the current era
  kVerdict,     // from rank 0: the job's exit status; the rank may end
  kSetupError,  // a rank's one line when preparing the job failed, to rank 0
};

// From the scoring thread to the main thread: a bounded queue, so a rank's memory holds a few
// eras' scores at most, whatever the history's length.
class Outbox {
 public:
  struct Item {
    int tag;
    Bytes bytes;
  };
  void push(Item item) {
    std::unique_lock lock(mu_);
    space_.wait(lock, [&] { return items_.size() < kCapacity; });
    items_.push_back(std::move(item));
    ready_.notify_one();
  }
  std::optional<Item> pop_for(std::chrono::milliseconds wait) {
    std::unique_lock lock(mu_);
    if (!ready_.wait_for(lock, wait, [&] { return !items_.empty(); })) return std::nullopt;
    Item item = std::move(items_.front());
    items_.pop_front();
    space_.notify_one();
    return item;
  }

 private:
  static constexpr std::size_t kCapacity = 4;
  std::mutex mu_;
  std::condition_variable space_, ready_;
  std::deque<Item> items_;
};

Bytes encode_error(const cli::CapturedError& e) {
  Bytes b(1 + e.what.size());
  b[0] = static_cast<unsigned char>(e.kind);
  if (!e.what.empty()) std::memcpy(b.data() + 1, e.what.data(), e.what.size());
  return b;
}

cli::CapturedError decode_error(const Bytes& b) {
  if (b.empty()) return {cli::ErrorKind::internal, "an empty error message from a rank"};
  return {static_cast<cli::ErrorKind>(b[0]), std::string(b.begin() + 1, b.end())};
}

Bytes encode_u64s(const std::vector<std::uint64_t>& v) {
  Bytes b(v.size() * 8);
  if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<std::uint64_t> decode_u64s(const Bytes& b) {
  std::vector<std::uint64_t> v(b.size() / 8);
  if (!v.empty()) std::memcpy(v.data(), b.data(), v.size() * 8);
  return v;
}

// --threads 0 under MPI: the cores this rank may run on, shared with the node's other ranks
// when the launcher did not bind it (its affinity is the whole machine).
int default_threads(int local_size) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int cpus = 0;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  const int machine = static_cast<int>(std::thread::hardware_concurrency());
  if (cpus <= 0) cpus = std::max(machine, 1);
  if (cpus >= machine) return std::max(1, cpus / std::max(local_size, 1));
  return cpus;
}

// What rank 0 decides and broadcasts: the job's status so far (0, or the exit status of its
// failure), the eras left to score (store indices, in order) and each rank's range of them.
struct JobSplit {
  std::uint64_t status = 0;
  std::vector<std::uint64_t> todo;
  std::vector<std::uint64_t> bounds;  // ranks + 1

  Bytes encode() const {
    std::vector<std::uint64_t> v{status, todo.size()};
    v.insert(v.end(), todo.begin(), todo.end());
    v.insert(v.end(), bounds.begin(), bounds.end());
    return encode_u64s(v);
  }
  static JobSplit decode(const Bytes& b, int ranks) {
    const std::vector<std::uint64_t> v = decode_u64s(b);
    JobSplit s;
    s.status = v.at(0);
    if (s.status != 0) return s;
    const std::size_t n = static_cast<std::size_t>(v.at(1));
    s.todo.assign(v.begin() + 2, v.begin() + 2 + static_cast<std::ptrdiff_t>(n));
    s.bounds.assign(v.begin() + 2 + static_cast<std::ptrdiff_t>(n), v.end());
    if (s.bounds.size() != static_cast<std::size_t>(ranks) + 1) {
      throw std::logic_error("job split: wrong number of ranges");
    }
    return s;
  }
};

// The eras left to score, and their split by cost (rank 0, from the store's dimensions, before
// its scoring thread reads the store); `predictions` gets each era's count, for the progress.
JobSplit split_job(cli::PreparedRun& run, const std::vector<std::uint64_t>& finished, int ranks,
                   std::vector<double>& predictions) {
  JobSplit s;
  std::vector<char> done(run.store.eras().size(), 0);
  for (const std::uint64_t e : finished) done[e] = 1;
  for (const std::size_t e : run.out.eras) {
    if (!done[e]) s.todo.push_back(e);
  }
  const ContextNeeds needs = ContextNeeds::of(run.options.formulas);
  const bool features = needs.features || (run.options.plan && run.options.plan->needs_features);
  EraCostModel model;
  model.features = features ? run.store.schema().features.size() : 0;
  std::vector<double> costs;
  costs.reserve(s.todo.size());
  predictions.assign(run.store.eras().size(), 0);
  for (const std::uint64_t e : s.todo) {
    const EraShape shape{run.store.n_stocks(e), run.store.n_submitted(e)};
    costs.push_back(model.cost(shape));
    predictions[e] = static_cast<double>(shape.stocks) * static_cast<double>(shape.submitted);
  }
  for (const std::size_t b : split_eras(costs, static_cast<std::size_t>(ranks))) {
    s.bounds.push_back(b);
  }
  return s;
}

// The progress line of the whole job, on rank 0: as one process shows it on a terminal; a line
// every 30 s and at the end otherwise (an MPI job's stderr is a pipe or a batch log).
class JobProgress {
 public:
  JobProgress(bool enabled, std::size_t eras)
      : enabled_(enabled), tty_(::isatty(STDERR_FILENO) != 0), total_(eras) {}
  void era_done(double predictions) {
    ++done_;
    predictions_ += predictions;
    if (!enabled_) return;
    const double s = std::chrono::duration<double>(Clock::now() - start_).count();
    if (!tty_ && s - last_ < 30 && done_ < total_) return;
    last_ = s;
    const double eta = s / static_cast<double>(done_) * static_cast<double>(total_ - done_);
    const double rate = s > 0 ? predictions_ / s : 0.0;
    if (tty_) {
      std::fprintf(stderr, "\r  era %zu/%zu  %.3g predictions/s  ETA %.0fs   ", done_, total_, rate,
                   eta);
    } else {
      std::fprintf(stderr, "backscore run: era %zu/%zu, %.3g predictions/s, ETA %.0f s\n", done_,
                   total_, rate, eta);
    }
    std::fflush(stderr);
    shown_ = true;
  }
  void end() const {
    if (enabled_ && tty_ && shown_) std::fprintf(stderr, "\n");
  }

 private:
  bool enabled_, tty_;
  std::size_t total_, done_ = 0;
  double predictions_ = 0, last_ = 0;
  bool shown_ = false;
  Clock::time_point start_ = Clock::now();
};

// What every rank must see alike of the store (a stale copy on a node's own disk would give
// another job): its size and modification time, and its tables' sizes, as one number.
std::int64_t store_identity(const cli::PreparedRun& run) {
  std::ostringstream id;
  id << cli::store_file_stamp(run.store.path()) << ' ' << run.store.eras().size() << ' '
     << run.store.schema().models.size();
  const std::string text = id.str();
  return static_cast<std::int64_t>(journal_checksum(
      std::span(reinterpret_cast<const unsigned char*>(text.data()), text.size())));
}

struct Stopped {};  // thrown from the scoring thread's era callback after kStop

// The scoring thread of every rank: its range of the eras, each finished era into the outbox.
std::thread start_scoring(cli::PreparedRun& run, const JobSplit& split, int rank, Outbox& outbox,
                          std::atomic<bool>& stop, std::atomic<bool>& ended) {
  RunOptions o = run.options;
  o.progress = false;
  std::vector<std::uint64_t> skip;
  const std::size_t first = static_cast<std::size_t>(split.bounds[rank]);
  const std::size_t last = static_cast<std::size_t>(split.bounds[rank + 1]);
  if (first == last) {
    o.first_era = o.end_era = 0;
  } else {
    // Eras between the range's ends that are not in it were finished before (--resume).
    o.first_era = static_cast<std::size_t>(split.todo[first]);
    o.end_era = static_cast<std::size_t>(split.todo[last - 1]) + 1;
    std::size_t at = first;
    for (std::size_t e = o.first_era; e < o.end_era; ++e) {
      if (at < last && split.todo[at] == e) {
        ++at;
      } else {
        skip.push_back(e);
      }
    }
  }
  const std::size_t n_formulas = o.formulas.size();
  return std::thread(
      [&run, &outbox, &stop, &ended, o = std::move(o), skip = std::move(skip), n_formulas] {
        try {
          const RunStats stats = run_eras(run.store, o, skip, [&](const EraScores& era) {
            if (stop.load()) throw Stopped{};
            outbox.push({kRecord, encode_era_scores(era, n_formulas)});
          });
          outbox.push({kDone, encode_run_stats(stats)});
        } catch (const Stopped&) {
          outbox.push({kDone, encode_run_stats(RunStats{})});
        } catch (...) {
          outbox.push({kFailed, encode_error(cli::capture_error(std::current_exception()))});
        }
        ended = true;
      });
}

// Rank 0 while the ranks score: journal what arrives, stop everyone at the first failure, and
// return the job's stats once every rank has ended (or throw the first failure).
// The store is not touched here: the scoring thread is reading it.
RunStats coordinate(const World& world, const cli::PreparedRun& run, const JobSplit& split,
                    const std::vector<double>& predictions, cli::RunJournal& journal,
                    Outbox& outbox, std::atomic<bool>& stop, bool progress,
                    bool& every_rank_ended) {
  const auto start = Clock::now();
  JobProgress shown(progress, split.todo.size());
  RunStats total;
  std::optional<cli::CapturedError> failure;
  bool journal_writable = true;
  int ended = 0;
  auto fail = [&](cli::CapturedError e) {
    if (failure) return;
    failure = std::move(e);
    stop = true;
    for (int r = 1; r < world.size(); ++r) world.send(r, kStop, {});
  };
  auto handle = [&](int tag, const Bytes& bytes) {
    if (tag == kRecord) {
      if (!journal_writable) return;
      try {
        const EraScores era = decode_era_scores(bytes, run.options.formulas.size());
        journal.append(era);
        shown.era_done(predictions.at(era.era));
      } catch (...) {
        journal_writable = !journal.failed_writing();
        fail(cli::capture_error(std::current_exception()));
      }
    } else if (tag == kDone) {
      merge_run_stats(total, decode_run_stats(bytes));
      ++ended;
    } else if (tag == kFailed) {
      fail(decode_error(bytes));
      ++ended;
    }
  };
  while (ended < world.size()) {
    bool busy = false;
    while (auto m = world.poll()) {
      handle(m->tag, m->bytes);
      busy = true;
    }
    if (auto item = outbox.pop_for(std::chrono::milliseconds(busy ? 0 : 1))) {
      handle(item->tag, item->bytes);
    }
  }
  every_rank_ended = true;
  shown.end();
  if (failure) cli::rethrow_error(*failure);
  total.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total;
}

// Ranks 1..: send what the scoring thread finishes to rank 0, stop when told, and wait for the
// job's verdict.
int follow(const World& world, Outbox& outbox, std::atomic<bool>& stop) {
  bool ended = false;
  for (;;) {
    if (!ended) {
      if (auto item = outbox.pop_for(std::chrono::milliseconds(1))) {
        world.send(0, item->tag, item->bytes);
        ended = item->tag != kRecord;
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    while (auto m = world.poll()) {
      if (m->tag == kStop) stop = true;
      if (m->tag == kVerdict) return m->bytes.empty() ? 1 : m->bytes[0];
    }
  }
}

}  // namespace

int run_sharded(const World& world, cli::RunArgs args, const RunSeams& seams) {
  const bool root = world.rank() == 0;
  if (args.threads == 0) args.threads = default_threads(world.local_size());
  if (!args.device_given && args.backend != "cpu") {
    const CudaDevices devices = query_cuda_devices();
    if (devices.count > 0) args.device = world.local_rank() % devices.count;
  }

  // 1. Every rank prepares the job; they agree, or all stop with the first failure's line.
  std::optional<cli::PreparedRun> run;
  cli::CapturedError setup_error;
  std::int64_t status = 0;
  try {
    run.emplace(cli::prepare_run(args, seams, /*writes_outputs=*/root));
  } catch (...) {
    setup_error = cli::capture_error(std::current_exception());
    status = cli::exit_status(setup_error.kind);
  }
  const std::vector<std::int64_t> statuses = world.all_gather(status);
  const std::vector<std::int64_t> backends =
      world.all_gather(run ? static_cast<std::int64_t>(run->backend.backend) : -1);
  const std::vector<std::int64_t> stores = world.all_gather(run ? store_identity(*run) : 0);
  int failed = -1;
  for (int r = 0; r < world.size() && failed < 0; ++r) {
    if (statuses[static_cast<std::size_t>(r)] != 0) failed = r;
  }
  if (failed >= 0) {
    if (world.rank() == failed && !root) {
      const std::string line = cli::error_line(setup_error);
      world.send(0, kSetupError, Bytes(line.begin(), line.end()));
    }
    if (root) {
      std::string line = cli::error_line(setup_error);
      if (failed != 0) {
        const Bytes b = world.receive(failed, kSetupError).bytes;
        line.assign(b.begin(), b.end());
      }
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    return static_cast<int>(statuses[static_cast<std::size_t>(failed)]);
  }
  for (int r = 1; r < world.size(); ++r) {
    if (backends[static_cast<std::size_t>(r)] != backends[0]) {
      if (root) {
        std::fprintf(
            stderr,
            "backscore: error: the ranks chose different backends (rank 0 %s, rank %d "
            "%s): give --backend cpu, or run one rank per GPU on GPU nodes only\n",
            backends[0] == static_cast<std::int64_t>(Backend::cuda) ? "cuda" : "cpu", r,
            backends[static_cast<std::size_t>(r)] == static_cast<std::int64_t>(Backend::cuda)
                ? "cuda"
                : "cpu");
      }
      return 2;
    }
  }

  for (int r = 1; r < world.size(); ++r) {
    if (stores[static_cast<std::size_t>(r)] != stores[0]) {
      if (root) {
        std::fprintf(stderr,
                     "backscore: error: rank %d sees another file at %s than rank 0 (its size, "
                     "modification time or tables differ): every rank must read the same store\n",
                     r, run->store.path().c_str());
      }
      return 2;
    }
  }

  Outbox outbox;
  std::atomic<bool> stop{false};
  if (!root) {
    // 2. The split, or rank 0's failure (it printed the line).
    const JobSplit split = JobSplit::decode(world.broadcast({}, 0), world.size());
    if (split.status != 0) return static_cast<int>(split.status);
    // 3. Score this rank's range; 4. the verdict.
    std::atomic<bool> scoring_ended{false};
    std::thread scoring = start_scoring(*run, split, world.rank(), outbox, stop, scoring_ended);
    const int verdict = follow(world, outbox, stop);
    scoring.join();
    return verdict;
  }

  bool split_sent = false, coordinated = false;
  int exit = 0;
  try {
    const std::string first_line = cli::run_first_line(
        *run, args.threads,
        std::to_string(world.size()) + (world.size() == 1 ? " rank" : " ranks") + " (MPI), ");
    cli::JournaledRun result =
        cli::score_journaled(*run, args, first_line, [&](cli::RunJournal& journal) {
          const std::vector<std::uint64_t> finished = journal.finished();
          std::vector<double> predictions;
          const JobSplit split = split_job(*run, finished, world.size(), predictions);
          world.broadcast(split.encode(), 0);
          split_sent = true;
          std::atomic<bool> scoring_ended{false};
          std::thread scoring = start_scoring(*run, split, 0, outbox, stop, scoring_ended);
          // Leaving early (a bug below): stop the scoring thread and drain what it pushes.
          struct Joiner {
            std::thread& thread;
            Outbox& outbox;
            std::atomic<bool>& stop;
            std::atomic<bool>& ended;
            ~Joiner() {
              stop = true;
              while (!ended) outbox.pop_for(std::chrono::milliseconds(1));
              thread.join();
            }
          } joiner{scoring, outbox, stop, scoring_ended};
          return coordinate(world, *run, split, predictions, journal, outbox, stop, !args.quiet,
                            coordinated);
        });
    result.ranks = world.size();
    cli::print_run_report(*run, args, result);
  } catch (...) {
    const cli::CapturedError error = cli::capture_error(std::current_exception());
    std::fprintf(stderr, "%s\n", cli::error_line(error).c_str());
    std::fflush(stderr);
    exit = cli::exit_status(error.kind);
  }
  if (!split_sent) {
    JobSplit failed_split;
    failed_split.status = static_cast<std::uint64_t>(exit);
    world.broadcast(failed_split.encode(), 0);
  } else if (!coordinated) {
    // The agreed shutdown needs every rank's end; rank 0 failed before it had them all (a bug:
    // the ranks' own errors are waited out), so only aborting the job can end it.
    world.abort(exit);
  }
  const Bytes verdict{static_cast<unsigned char>(exit)};
  for (int r = 1; r < world.size(); ++r) world.send(r, kVerdict, verdict);
  return exit;
}

}  // namespace backscore::mpi
