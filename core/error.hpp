// The program's error types, shared by every layer. main() (host/cli/app.cpp) maps them to exit
// statuses: the user's to fix -> one line, exit 2; anything else is our bug -> "internal error",
// exit 1, with its context.
#pragma once

#include <stdexcept>
#include <string>

namespace backscore {

// Bad input the user can fix: a file, a field, an option value, formula text. The message names
// the file, column or formula; the CLI adds the flag it came from.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A resource limit the user set or can change (a GPU memory cap too small for one era, say): not
// a bug, so exit 2, and the message says what to change.
class ResourceLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace backscore
