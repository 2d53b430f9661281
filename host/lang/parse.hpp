// The formula language's syntax: one definition `name = expression` per line of text, parsed into
// an expression tree that remembers the column of every token, so that compile errors can quote
// the definition and point at the offending spot. Grammar and semantics: docs/FORMULAS.md, "The
// formula language". Compilation into a plan: host/lang/plan.hpp.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "host/lang/error.hpp"

namespace backscore::lang {

struct Expr;

// A keyword argument of a call: `ties=first`, `proportion=-1`.
struct Kwarg {
  std::string key;
  std::size_t column = 0;
  std::vector<Expr> value;  // exactly one element (a vector holds the incomplete type)
};

struct Expr {
  enum class Kind { number, name, call, unary, binary };
  Kind kind = Kind::number;
  std::string text;        // name, function name, or operator ("+", "<=", "and", "-" unary...)
  double number = 0;       // Kind::number
  std::vector<Expr> args;  // call arguments, or the operands of an operator
  std::vector<Kwarg> kwargs;
  std::size_t column = 0;  // 1-based column of the token that starts it (operators: the operator)
  std::size_t depth = 1;   // levels of the tree from here down (at most kMaxExprDepth)
};

// The deepest expression tree a definition may have: compiling, printing and destroying a tree
// recurse over it, so a generated 20,000-term sum must be an error, not a stack overflow.
inline constexpr std::size_t kMaxExprDepth = 256;

struct Definition {
  std::string name;
  std::size_t name_column = 1;
  std::string text;   // the whole definition as written (trimmed), quoted in errors
  std::string where;  // "" for a definition given as text, "FILE:LINE" for one from a file
  Expr expr;
};

// Parses `name = expression`. Throws FormulaError.
Definition parse_definition(std::string_view text, std::string where = "");
// One definition per non-blank line; `#` starts a comment. Throws OptionError ("files")
// when the file cannot be read, FormulaError (with where = "FILE:LINE") for a bad line.
std::vector<Definition> parse_formula_file(const std::filesystem::path& path);

// The expression as canonical text (fully parenthesized where needed), for `explain`.
std::string to_string(const Expr& e);

}  // namespace backscore::lang
