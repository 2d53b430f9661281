// The command line's error contract (see errors.hpp).
#include "host/cli/errors.hpp"

#include <new>
#include <stdexcept>

#include "core/error.hpp"
#include "io/hdf5.hpp"

namespace backscore::cli {

CapturedError capture_error(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const InputError& e) {
    return {ErrorKind::input, e.what()};
  } catch (const ResourceLimitError& e) {
    return {ErrorKind::resource_limit, e.what()};
  } catch (const h5::Hdf5Error& e) {
    return {ErrorKind::hdf5, e.what()};
  } catch (const std::bad_alloc&) {
    return {ErrorKind::out_of_memory, ""};
  } catch (const std::exception& e) {
    return {ErrorKind::internal, e.what()};
  } catch (...) {
    return {ErrorKind::internal, "unknown exception"};
  }
}

void rethrow_error(const CapturedError& error) {
  switch (error.kind) {
    case ErrorKind::input:
      throw InputError(error.what);
    case ErrorKind::resource_limit:
      throw ResourceLimitError(error.what);
    case ErrorKind::hdf5:
      throw h5::Hdf5Error(error.what);
    case ErrorKind::out_of_memory:
      throw std::bad_alloc();
    case ErrorKind::internal:
      break;
  }
  throw std::runtime_error(error.what);
}

int exit_status(ErrorKind kind) { return kind == ErrorKind::internal ? 1 : 2; }

std::string error_line(const CapturedError& error) {
  switch (error.kind) {
    case ErrorKind::out_of_memory:
      return "backscore: error: out of memory";
    case ErrorKind::internal:
      return "backscore: internal error: " + error.what;
    default:
      return "backscore: error: " + error.what;
  }
}

}  // namespace backscore::cli
