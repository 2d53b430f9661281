// The operations of the formula language, one row each, in one table: what the plan calls a node
// (op_name), how `explain` prints it, whether it folds on constants, and how the language spells
// it (a function such as rank(), an operator such as + or not) with its arity, keywords and the
// function that compiles it. The compiler (compiler.hpp), the plan's text (plan.cpp) and the
// reserved names all read this table: adding a function is one row here (plus, for a new Op, its
// evaluation in eval.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <span>
#include <string>

#include "host/lang/plan.hpp"

namespace backscore::lang {

class CallSite;  // compiler.hpp: one call or operator being compiled
struct Compiled;

// How the language spells an operation.
enum class Syntax : std::uint8_t {
  none,      // internal (sort, qr), a leaf, or built by another row's function (rank_first)
  variable,  // a per-stock variable: pred, target, ...
  function,  // name(args, key=value)
  infix,     // a SYMBOL b
  prefix,    // SYMBOL a
};

// How a plan prints a node (Plan::describe).
enum class Print : std::uint8_t {
  call,    // name(#args[, extra][, value][, over=era])
  infix,   // #a SYMBOL #b
  prefix,  // -#a, not #a
  custom,  // OpInfo::text
};

inline constexpr std::size_t kManyArgs = std::numeric_limits<std::size_t>::max();

// One row of the table. Members left out of a row take the defaults below.
struct OpInfo {
  Op op = Op::constant;
  const char* name = nullptr;  // op_name(): the plan's name, and the function of Print::call text
  // The node's kind; `elementwise`: a vector when one of its data arguments is, else a scalar.
  Kind kind = Kind::scalar;
  bool elementwise = false;
  // A scalar node whose arguments are all constants becomes a constant at compile time
  // (apply_scalar).
  bool folds = false;

  // ---- the language ----
  Syntax syntax = Syntax::none;
  const char* word = nullptr;  // the variable, function or operator as written ("rank", "+")
  // Function calls: the positional arguments allowed, and the text of the arity error
  // "WORD() takes TAKES, got N arguments".
  std::size_t min_args = 0, max_args = 0;
  const char* takes = nullptr;
  std::array<const char*, 2> keywords{};   // the keywords a function takes (nullptr: unused)
  bool keywords_first = false;             // check the keywords before the arity (min and max do)
  Compiled (*build)(CallSite&) = nullptr;  // compiles a call or an operator

  // ---- the plan's text ----
  Print print = Print::call;
  const char* extra = nullptr;      // Print::call: a word after the arguments ("intercept")
  const char* value_key = nullptr;  // Print::call: Node::value next: nullptr no, "" bare, KEY=V
  std::string (*text)(const Plan& plan, const Node& n) = nullptr;  // Print::custom
};

// Every operation, in the order of Op (operations()[i].op == Op(i)).
std::span<const OpInfo> operations();
const OpInfo& op_info(Op op);

// The row of a function (syntax function) or operator (infix or prefix) as written; nullptr when
// the language has none.
const OpInfo* find_function(const std::string& word);
const OpInfo* find_operator(const std::string& symbol, Syntax syntax);

// A per-stock variable of the language (pred, target, meta_model, benchmark, features).
bool is_variable(const std::string& name);
// A function of the language, or an operator written as a word (and, or, not).
bool is_function_word(const std::string& name);

// The plan's text of a number: whole numbers without a point, others in the shortest form that
// reads back to the same double.
std::string format_number(double v);
// The plan's text of node `id` (Plan::describe).
std::string node_text(const Plan& plan, std::uint32_t id);

}  // namespace backscore::lang
