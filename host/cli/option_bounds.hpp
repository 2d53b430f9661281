// Bounds of the commands' numeric options, as CLI11 checks with one clean line each: a value
// outside them is refused while the command line is parsed (exit 2), before any file is touched,
// so no option value can crash the program or make it allocate without limit.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace backscore::cli {

// A whole number in [lo, hi]. CLI11 prints "--flag: <message>", e.g.
// "--threads: 1000000 is too large: at most 64 (the larger of 64 and 4 x this machine's cores)".
// `why_hi`, when given, says where the upper bound comes from.
CLI::Validator whole_number(std::int64_t lo, std::uint64_t hi, std::string why_hi = {});

// A finite number in [lo, hi] ("--burn-fraction: 2 is out of range: from 0 to 1").
CLI::Validator real_number(double lo, double hi);

// The most --threads a command accepts: OpenMP starts every thread it is asked for, and the
// C library's thread creation fails (inside libgomp, which then crashes) long before a million.
int max_threads();
std::string max_threads_why();

// --payout-threshold (NMR) of compare, report and simulate: 1e-9..1e15.
CLI::Validator payout_threshold_bounds();

// Upper bounds shared by several commands.
inline constexpr std::uint64_t kMaxBatch = 1'048'576;  // model columns per batch (--batch)

}  // namespace backscore::cli
