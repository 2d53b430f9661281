// `audit` as steps, shared by `backscore audit` (cmd_audit.cpp, which prints and writes the
// tables) and the Python module (python/, which returns them as DataFrames).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "host/cli/compare_job.hpp"  // NamedTable
#include "host/report/audit.hpp"
#include "io/scores_file.hpp"

namespace backscore::cli {

struct AuditArgs {
  std::string scores, store, formulas, out_dir;
  AuditOptions o;
};

struct AuditJob {
  ScoresFileReader file;
  AuditQuantities q;
  std::vector<AuditResult> results;  // one per formula of --formula, in order
  explicit AuditJob(const std::string& scores) : file(scores) {}
};

// Reads and checks the inputs (every formula name before the pass over the store) and audits
// each formula. Throws InputError (OptionError on "formulas", "corr_formula") for bad input.
// Touches no output.
std::unique_ptr<AuditJob> run_audit(const AuditArgs& a);

// The tables of --out-dir: audit_summary.csv (one row per formula) and audit_violations.csv
// (every formula's worst violations of both properties; 17 significant digits, "" for NaN).
std::vector<NamedTable> audit_csv_tables(const AuditJob& job);

}  // namespace backscore::cli
