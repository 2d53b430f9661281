// The error-to-exit-status contract of the command line (docs/ARCHITECTURE.md, "Failure
// behaviour") in one place: which exceptions are the user's bad input or a limit (one line,
// exit 2) and which are internal errors (exit 1). An error can also be captured as a kind and
// its message and raised again elsewhere: an era-sharded run's rank sends it to rank 0, which
// handles it as its own.
#pragma once

#include <cstdint>
#include <exception>
#include <string>

namespace backscore::cli {

enum class ErrorKind : std::uint8_t {
  input = 1,       // InputError (and lang::FormulaError): bad input or usage
  resource_limit,  // ResourceLimitError: the GPU memory cap
  hdf5,            // h5::Hdf5Error: a store or scores file HDF5 refused
  out_of_memory,   // std::bad_alloc
  internal,        // anything else: a bug
};

struct CapturedError {
  ErrorKind kind = ErrorKind::internal;
  std::string what;  // the exception's message (empty for out_of_memory)
};

// The kind and message of `error` (which must not be null).
CapturedError capture_error(std::exception_ptr error);
// Throws an exception of the captured kind with its message (std::bad_alloc for out_of_memory,
// std::runtime_error for internal).
[[noreturn]] void rethrow_error(const CapturedError& error);
// 2 for the user's errors and limits, 1 for internal ones.
int exit_status(ErrorKind kind);
// The one line the command prints for it (without the newline): "backscore: error: ..." or
// "backscore: internal error: ...".
std::string error_line(const CapturedError& error);

}  // namespace backscore::cli
