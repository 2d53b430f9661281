// `simulate` as steps, shared by `backscore simulate` (cmd_simulate.cpp: the options, the
// summary it prints) and the Python module (python/bind_sim.cpp: the tables as DataFrames): the
// arguments, the rules, the journaled simulation with its failure policy and the outputs written
// from the journal, so the same arguments mean the same job, journal and output bytes.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "host/run/run.hpp"
#include "host/run/simulation.hpp"
#include "io/sim_file.hpp"

namespace backscore::cli {

struct SimulateArgs {
  std::string store, out_h5, csv_dir, target = "target", benchmark, start, flows = "none";
  std::vector<std::string> rules, payout_params;
  std::vector<std::string> definitions, formula_files;  // --formula, --formula-file
  std::string observed_payout;  // --observed-payout: the rule the store's stakes were paid by
  double payout_threshold = 0;  // 0: each rule's own
  std::size_t resolve_lag = 4;
  int threads = 0;
  // --backend (cpu, cuda, auto), --device, --gpu-memory (MiB, 0 = 90% of the free memory),
  // --gpu-streams: as run's; cuda scores the eras' complete columns on the device.
  std::string backend = "auto";
  int device = 0;
  std::size_t gpu_memory_mib = 0;
  int gpu_streams = 2;
  bool resume = false, quiet = false, timings = false;
};

// simulate's option bounds as CLI11 validators: the CLI checks them while it parses, the Python
// module with check_value (threads 0 and payout_threshold 0 are the defaults there, unchecked).
CLI::Validator resolve_lag_bounds();       // 1..520
CLI::Validator simulate_threads_bounds();  // 1..max_threads()
CLI::Validator flows_choices();            // none, observed

// InputError with the line the CLI prints for a value its validator refuses, e.g.
// "--resolve-lag: 0 is too small: at least 1".
void check_value(const std::string& flag, const CLI::Validator& check, const std::string& value);

// Where the journal goes: beside the first output (--out, else the --csv directory) as
// OUT.partial; without outputs (only the Python module), in the temporary directory under the
// process id, where no resume can find it.
std::filesystem::path simulate_journal_path(const SimulateArgs& a);

// Per rule, what the summary table shows (from the journal, in era order).
struct SimRuleSummary {
  double mm_corr = 0, mm_corr_late = 0, effective = 0, xcorr = 0, paid = 0, final_stake = 0;
  std::size_t eras = 0, late_eras = 0, xcorr_eras = 0;
};

struct SimulateResult {
  SimulationHeader header;
  std::string backend;  // the backend chosen and why (the first line's)
  std::vector<SimRuleSummary> summary;
  SimStats stats;
};

// A hook may throw this to stop the simulation after the era it was called for (Ctrl-C in
// Python): the journal is kept for a resume when it sits beside an output, as a killed
// `backscore simulate` leaves it, and removed otherwise.
class SimulationInterrupted : public std::runtime_error {
 public:
  SimulationInterrupted() : std::runtime_error("simulate: interrupted") {}
};

struct SimulateHooks {
  // After each era is journaled: eras simulated so far (resumed ones included) of all.
  std::function<void(std::size_t done, std::size_t total)> journaled;
  // Every era of the simulation, in order, as the outputs are written from the journal (the
  // resumed ones too): `column` its index among the simulated eras.
  std::function<void(std::size_t column, const SimEra& era)> output_era;
};

// Checks the paths and the arguments against the store (each refusal one line, InputError),
// opens the journal (a new one, or with resume the one to continue), simulates the eras not yet
// journaled, writes the outputs (none when there are no --out and no --csv) from the journal and
// removes it. On failure the journal is kept for --resume when that can help (the journal's or
// the outputs' own I/O, memory, SimulationInterrupted) and it sits beside an output, and removed
// otherwise. Prints the first line on stderr unless quiet; nothing on stdout.
SimulateResult simulate_journaled(const SimulateArgs& a, const RunSeams& seams,
                                  const SimulateHooks& hooks = {});

// The summary table on stdout, the counts line, and --timings on stderr.
void print_simulate_report(const SimulateArgs& a, const SimulateResult& result);

}  // namespace backscore::cli
