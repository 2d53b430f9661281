// The audit's tuning options, shared by `audit` and `report` (whose page holds the same audit).
#pragma once

#include <CLI/CLI.hpp>

#include "host/report/audit.hpp"

namespace backscore::cli {

// Registers --corr-formula, --corr-tol, --xcorr-tol and --worst into `o`; tolerances must be
// positive and --worst at most 1,000,000 (CLI11 refuses anything else with exit 2).
void add_audit_options(CLI::App* cmd, AuditOptions& o);

}  // namespace backscore::cli
