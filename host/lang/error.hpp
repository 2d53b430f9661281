// The formula language's errors. Both are InputErrors (the user's to fix; one line, exit 2) and
// neither names a command-line option: the message names the formula, the file or the column,
// and the caller adds where the input came from (the CLI: host/cli/formula_options.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/error.hpp"

namespace backscore::lang {

// A compile error in one definition. what() is one line (the CLI prints errors as one line):
//   [WHERE: ]formula 'x = rank(foo)': column 10: unknown name 'foo'
// caret() is the multi-line form (the definition with a ^ under the column), for `explain`.
class FormulaError : public InputError {
 public:
  FormulaError(std::string definition, std::size_t column, std::string message,
               std::string where = "");
  const std::string& definition() const { return definition_; }
  std::size_t column() const { return column_; }  // 1-based, in definition()
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }
  std::string caret() const;

 private:
  std::string definition_, message_, where_;
  std::size_t column_;
};

// An error in what was asked for rather than in a definition's text: a formula name that is
// unknown or names no formula, a request that leaves nothing to run, a definitions file that
// cannot be read. what() names the formula or the file ("unknown formula 'x'", "cannot open
// f.txt"); about() says which input it concerns, so that the caller can say where that came from.
class RequestError : public InputError {
 public:
  enum class About : std::uint8_t {
    formula_names,    // the formula names asked for (one of them, or the whole list)
    unknown_formula,  // a formula name asked for that is neither built-in nor defined
    formula_file,     // a file of definitions
  };
  RequestError(About about, const std::string& message) : InputError(message), about_(about) {}
  About about() const { return about_; }

 private:
  About about_;
};

}  // namespace backscore::lang
