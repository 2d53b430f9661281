// The formula language's errors (see error.hpp).
#include "host/lang/error.hpp"

#include <algorithm>

namespace backscore::lang {
namespace {

std::string one_line(const std::string& where, const std::string& definition, std::size_t column,
                     const std::string& message) {
  std::string s;
  if (!where.empty()) s = where + ": ";
  s += "formula '" + excerpt(definition, column).text + "': column " + std::to_string(column) +
       ": " + message;
  return s;
}

}  // namespace

Excerpt excerpt(const std::string& text, std::size_t column) {
  if (text.size() <= kQuoteWidth) return {text, column};
  const std::size_t at = std::min(column > 0 ? column - 1 : 0, text.size());
  const std::size_t first =
      std::min(at > kQuoteWidth / 2 ? at - kQuoteWidth / 2 : 0, text.size() - kQuoteWidth);
  const std::string head = first > 0 ? "..." : "";
  const std::string tail = first + kQuoteWidth < text.size() ? "..." : "";
  return {head + text.substr(first, kQuoteWidth) + tail, at - first + head.size() + 1};
}

FormulaError::FormulaError(std::string definition, std::size_t column, std::string message,
                           std::string where)
    : InputError(one_line(where, definition, column, message)),
      definition_(std::move(definition)),
      message_(std::move(message)),
      where_(std::move(where)),
      column_(column) {}

std::string FormulaError::caret() const {
  const Excerpt e = excerpt(definition_, column_);
  std::string s = what();
  s += "\n  " + e.text + "\n  " + std::string(e.column > 0 ? e.column - 1 : 0, ' ') + "^";
  return s;
}

OptionError unknown_formula(const std::string& name) {
  return OptionError({"", "formulas",
                      ": unknown formula '" + name +
                          "' (backscore formulas lists the built-ins; define new ones with ",
                      "definitions", " 'name = expression')"});
}

}  // namespace backscore::lang
