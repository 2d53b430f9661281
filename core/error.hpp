// The program's error types, shared by every layer. main() (host/cli/app.cpp) maps them to exit
// statuses: the user's to fix -> one line, exit 2; anything else is our bug -> "internal error",
// exit 1, with its context.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace backscore {

// Bad input the user can fix: a file, a field, an option value, formula text. The message names
// the file, column or formula; the CLI adds the flag it came from.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// An InputError about the value of options of a library call. Library code does not know the
// command-line flag a value came from, so it names an option by its field in the call's options
// struct ("models", "prediction_dirs") and keeps the message in pieces around the places the
// options go. what() joins them with the field names; the CLI, which knows the flags, prints
// with_flags(...): "--models: scores.h5 has no model 'x'" where what() reads "models: ...".
class OptionError : public InputError {
 public:
  using Flags = std::initializer_list<std::pair<std::string_view, std::string_view>>;

  // `parts` alternate text and option fields, text first and last: {"", "models", ": ..."}.
  explicit OptionError(std::vector<std::string> parts)
      : InputError(join(parts, {})), parts_(std::move(parts)) {}
  // The common form "<option>: <what>".
  static OptionError about(std::string option, std::string what) {
    return OptionError({"", std::move(option), ": " + std::move(what)});
  }

  // The option named first.
  const std::string& option() const { return parts_.at(1); }
  // The message with each option replaced by the flag `flags` pairs with it (kept as the field
  // name when none does).
  std::string with_flags(Flags flags) const { return join(parts_, flags); }

 private:
  static std::string join(const std::vector<std::string>& parts, Flags flags) {
    std::string s;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      std::string_view piece = parts[k];
      if (k % 2 == 1) {
        for (const auto& [option, flag] : flags) {
          if (option == piece) piece = flag;
        }
      }
      s += piece;
    }
    return s;
  }

  std::vector<std::string> parts_;
};

// For the CLI: runs `call` and turns an OptionError from it into the InputError the user reads,
// each option named by its flag in `flags`.
template <typename Call>
decltype(auto) with_flags(OptionError::Flags flags, Call&& call) {
  try {
    return std::forward<Call>(call)();
  } catch (const OptionError& e) {
    throw InputError(e.with_flags(flags));
  }
}

// A resource limit the user set or can change (a GPU memory cap too small for one era, say): not
// a bug, so exit 2, and the message says what to change.
class ResourceLimitError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace backscore
