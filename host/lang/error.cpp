// The formula language's errors (see error.hpp).
#include "host/lang/error.hpp"

namespace backscore::lang {
namespace {

std::string one_line(const std::string& where, const std::string& definition, std::size_t column,
                     const std::string& message) {
  std::string s;
  if (!where.empty()) s = where + ": ";
  s += "formula '" + definition + "': column " + std::to_string(column) + ": " + message;
  return s;
}

}  // namespace

FormulaError::FormulaError(std::string definition, std::size_t column, std::string message,
                           std::string where)
    : InputError(one_line(where, definition, column, message)),
      definition_(std::move(definition)),
      message_(std::move(message)),
      where_(std::move(where)),
      column_(column) {}

std::string FormulaError::caret() const {
  std::string s = what();
  s += "\n  " + definition_ + "\n  " + std::string(column_ > 0 ? column_ - 1 : 0, ' ') + "^";
  return s;
}

OptionError unknown_formula(const std::string& name) {
  return OptionError({"", "formulas",
                      ": unknown formula '" + name +
                          "' (backscore formulas lists the built-ins; define new ones with ",
                      "definitions", " 'name = expression')"});
}

}  // namespace backscore::lang
