// The formula language's errors. Both are InputErrors (the user's to fix; one line, exit 2) and
// neither names a command-line option: the message names the formula, the file or the column,
// and the caller adds where the input came from (the CLI: host/cli/formula_options.cpp).
#pragma once

#include <cstddef>
#include <string>

#include "core/error.hpp"

namespace backscore::lang {

inline constexpr std::size_t kQuoteWidth = 80;

// At most kQuoteWidth characters of `text` around the 1-based `column` (all of it when short),
// with "..." where it is cut; `column` is then the column's place in the excerpt.
struct Excerpt {
  std::string text;
  std::size_t column = 1;
};
Excerpt excerpt(const std::string& text, std::size_t column = 1);

// A compile error in one definition. what() is one line (the CLI prints errors as one line):
//   [WHERE: ]formula 'x = rank(foo)': column 10: unknown name 'foo'
// quoting at most kQuoteWidth characters of the definition around the column (excerpt()), so a
// generated megabyte-long definition gives a short line. caret() is the multi-line form (the
// same excerpt with a ^ under the column), for `explain`.
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

// Errors in what was asked for rather than in a definition's text are OptionErrors
// (core/error.hpp) on the field they concern: "formulas" (the names of FormulaRequest),
// "definitions" and "files" (of read_definitions); the CLI names the flags.

// "formulas: unknown formula 'x' (...)": a name asked for that is neither built-in nor defined.
OptionError unknown_formula(const std::string& name);

}  // namespace backscore::lang
