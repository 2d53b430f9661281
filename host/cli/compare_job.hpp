// `compare` as steps, shared by `backscore compare` (cmd_compare.cpp, which prints and writes the
// tables) and the Python module (python/, which returns them as DataFrames): the arguments, the
// work up to the CompareResult, and the CSV tables, so both read the same inputs the same way and
// lay out the same tables.
#pragma once

#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "host/report/compare.hpp"
#include "host/report/compare_tables.hpp"
#include "host/report/diagnostics.hpp"
#include "host/report/payout_input.hpp"
#include "host/lang/payout_rule.hpp"
#include "io/scores_file.hpp"

namespace backscore::cli {

struct CompareArgs {
  std::string scores, baseline, candidate, store, payout = "classic-2024", out_dir;
  std::vector<std::string> payout_params;
  double payout_threshold = std::nan("");  // NaN: the rule's default
  double eras_per_year = kDefaultErasPerYear;
  std::size_t top = 10;
  bool payout_given = false;  // --payout was given (else payouts only with --store)
};

// Everything `compare` computed. Not movable: the payout inputs point into `base`.
struct CompareJob {
  ScoresFileReader file;
  ScoreMatrix base, cand;
  ModelExtras extras;
  std::optional<PayoutRule> rule;
  PayoutData payout;
  CompareResult result;
  std::vector<std::size_t> listed;  // the models of the per-model tables (listed_models)

  explicit CompareJob(const std::string& scores) : file(scores) {}
  CompareJob(const CompareJob&) = delete;
  CompareJob& operator=(const CompareJob&) = delete;
};

// Reads and checks every input (the payout rule first, so a typo costs no loading) and compares.
// Throws InputError (OptionError on "baseline", "candidate", "payout", "payout_params") for bad
// input. Touches no output.
std::unique_ptr<CompareJob> run_compare(const CompareArgs& a);

// A CSV table and the file name compare writes it under in --out-dir.
struct NamedTable {
  std::string name;
  Table table;
};
// The tables of --out-dir, in order: models.csv, eras.csv, leaderboard.csv and, with payouts,
// payouts.csv (17 significant digits, "" for NaN).
std::vector<NamedTable> compare_csv_tables(const CompareJob& job);

}  // namespace backscore::cli
