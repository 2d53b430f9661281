// `run` as steps, shared by `backscore run` (one process, cmd_run.cpp) and `backscore-mpi run`
// (era-sharded over MPI ranks, host/mpi/): the options, what is decided before scoring, the
// journaled scoring with its failure policy, and the report. Both drivers go through the same
// steps, so the same command line means the same job, journal and output bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/cli/formula_options.hpp"
#include "host/run/backend.hpp"
#include "host/run/journal.hpp"
#include "host/run/run.hpp"
#include "host/run/score_output.hpp"
#include "io/store.hpp"

namespace backscore::cli {

struct RunArgs {
  std::string store;
  FormulaArgs formulas;  // --formulas, --top-bottom, --formula, --formula-file
  std::string out_h5, out_csv, eras, models_file, target = "target", benchmark, backend = "auto";
  // Models selected by name (the Python API's models=[...]); with models_file, the union.
  std::vector<std::string> model_names;
  int threads = 0;
  std::size_t batch = 0;  // 0: 256 on the CPU, 1024 on cuda
  int device = 0;
  bool device_given = false;  // --device was on the command line
  std::size_t gpu_memory_mib = 0;
  int gpu_streams = 2;
  int prefetch_eras = -1;  // -1: the default (RunOptions)
  bool resume = false;
  bool quiet = false;
  bool timings = false;
};

// Registers run's arguments and options on `cmd`, and a parse callback that fills in what
// CLI11 leaves to it (formulas_given, device_given); the caller adds its own callback after.
void add_run_options(CLI::App* cmd, RunArgs& a);

// The store's target and benchmark that --target and --benchmark name (an empty benchmark: the
// store's first, when it has any), as run, simulate and explain take them; InputError
// "--target: the store has no target 'x'" (or --benchmark's) otherwise.
struct TargetChoice {
  std::size_t target = 0, benchmark = 0;
  std::string benchmark_name;  // empty when the store has no benchmarks
};
TargetChoice choose_target(const StoreSchema& schema, const std::string& target,
                           const std::string& benchmark);

// --backend, --device, --gpu-memory and --gpu-streams (run's and simulate's).
void add_backend_options(CLI::App* cmd, std::string& backend, int& device,
                         std::size_t& gpu_memory_mib, int& gpu_streams);

// The store file's size and modification time, as text: what the journal's fingerprint and the
// MPI ranks' agreement take to be "the same store".
std::string store_file_stamp(const std::filesystem::path& path);

struct BackendChoice {
  Backend backend = Backend::cpu;
  std::string note;  // why, for the run's first line
};

// --backend auto takes CUDA when a device is there; --backend cuda without one is refused with
// the reason (exit 2), as is a device index that does not exist.
// proven: whether auto may take CUDA for this command (kCudaBackendProven for run,
// kCudaSimulateProven for simulate).
BackendChoice choose_backend(const std::string& requested, int device,
                             bool proven = kCudaBackendProven);

// Everything a run decides before it scores: checked paths, the backend, the formulas compiled
// against the store, the options, the outputs and the journal's fingerprint.
struct PreparedRun {
  std::filesystem::path journal;
  bool beside_output = false;  // the journal sits beside an output (else in the temp directory)
  BackendChoice backend;
  StoreReader store;
  RunOptions options;
  ScoreOutputSpec out;
  std::string fingerprint;
};

// Throws (InputError and the like, exit 2) for anything wrong with the arguments or the store's
// tables, before a single era is scored. writes_outputs: this process writes the outputs and the
// journal (every one-process run; rank 0 of a sharded one), so their paths are checked here.
PreparedRun prepare_run(const RunArgs& a, const RunSeams& seams, bool writes_outputs);

// The journal as the scoring step sees it: the eras already finished (on --resume), and append.
class RunJournal {
 public:
  RunJournal(JournalWriter& writer, const RunSeams& seams) : writer_(writer), seams_(seams) {}
  const std::vector<std::uint64_t>& finished() const { return writer_.finished_eras(); }
  // Appends an era (RunSeams::after_journaled_era is called after it). A failure here is the
  // journal's I/O: the run stays resumable.
  void append(const EraScores& era);
  bool failed_writing() const { return failed_writing_; }

 private:
  JournalWriter& writer_;
  const RunSeams& seams_;
  std::size_t appended_ = 0;
  bool failed_writing_ = false;
};

struct JournaledRun {
  RunStats stats;
  std::vector<FormulaSummary> summary;
  double output_seconds = 0;  // writing the outputs from the journal (after the eras)
  int ranks = 1;              // MPI ranks whose stats were merged into `stats`
};

// Opens the journal (refusing another job's), prints `first_line` (none when empty: the Python
// module's runs) and the resume notes, runs
// `score` (which scores every era not yet finished and appends each to the journal), then writes
// the outputs from the journal and removes it. On failure the journal is kept for --resume when
// that can help (the journal's or the outputs' I/O, memory) and removed otherwise (bad input in
// an era, the GPU memory cap, an internal error), and the error's line says which.
JournaledRun score_journaled(PreparedRun& run, const RunArgs& a, const std::string& first_line,
                             const std::function<RunStats(RunJournal&)>& score);

// The run's first line on stderr: backend, threads, formulas, eras (and `extra`, the ranks).
std::string run_first_line(const PreparedRun& run, int threads, const std::string& extra = "");

// The summary table on stdout and the counts (and --timings) on stderr.
void print_run_report(const PreparedRun& run, const RunArgs& a, const JournaledRun& result);

}  // namespace backscore::cli
