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

// An infix operator of a chain: `+` at column 12.
struct Operator {
  std::string text;
  std::size_t column = 0;
};

// A keyword argument of a call: `ties=first`, `proportion=-1`.
struct Kwarg {
  std::string key;
  std::size_t column = 0;
  std::vector<Expr> value;  // exactly one element (a vector holds the incomplete type)
};

// Kind::binary is a flat, left-associative chain of operators of one precedence,
// `args[0] ops[0] args[1] ops[1] args[2] ...` = ((args[0] ops[0] args[1]) ops[1] args[2]) ...:
// a sum of 100,000 terms is one level of the tree, not 100,000. `^` and the comparisons make
// chains of two operands (`^` is right-associative: a^b^c is a ^ (b ^ c), nested).
struct Expr {
  enum class Kind { number, name, call, unary, binary };
  Kind kind = Kind::number;
  // name, function name, prefix operator ("-", "not"); binary: the last operator (ops.back())
  std::string text;
  double number = 0;       // Kind::number
  std::vector<Expr> args;  // call arguments, or the operands of an operator
  std::vector<Kwarg> kwargs;
  std::vector<Operator> ops;  // Kind::binary: ops[i] joins args[i] and args[i + 1]
  // 1-based column of the token that starts it (operators: the operator; binary: the last one,
  // the operator applied last)
  std::size_t column = 0;
  std::size_t depth = 1;  // levels of the tree from here down (at most kMaxExprDepth)
};

// The deepest nesting a definition may have, counted both as levels of the expression tree
// (calls, prefix operators, `^`, one level per chain of operators) and as levels of the parser's
// own recursion (parentheses as well). Parsing, compiling and destroying a tree recurse over it,
// so deeper nesting is an error, never a stack overflow.
inline constexpr std::size_t kMaxExprDepth = 256;
// The error message of deeper nesting.
std::string too_deep_message();
// The longest name or number, so that the messages that quote one stay short.
inline constexpr std::size_t kMaxTokenLength = 128;

struct Definition {
  std::string name;
  std::size_t name_column = 1;
  std::string text;   // the whole definition as written (trimmed); errors quote an excerpt
  std::string where;  // "" for a definition given as text, "FILE:LINE" for one from a file
  Expr expr;
};

// Parses `name = expression`. Throws FormulaError.
Definition parse_definition(std::string_view text, std::string where = "");
// One definition per non-blank line; `#` starts a comment. Throws OptionError ("files")
// when the file cannot be read, FormulaError (with where = "FILE:LINE") for a bad line.
std::vector<Definition> parse_formula_file(const std::filesystem::path& path);

// The expression as canonical text (parenthesized where needed), for printing a parsed tree.
std::string to_string(const Expr& e);

}  // namespace backscore::lang
