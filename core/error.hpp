// Errors the user can cause (a bad file, a bad option, bad formula text). main() prints one line
// and exits with status 2; everything else is our bug and fails loudly with its context.
#pragma once

#include <stdexcept>
#include <string>

namespace backscore {

class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace backscore
