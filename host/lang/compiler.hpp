// Internal to host/lang: the compiler of definitions into a plan (plan.hpp's compile();
// compiler.cpp), and the view of one call or operator that an operation's build function
// (operations.cpp) compiles (call_site.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/lang/operations.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"

namespace backscore::lang {

// A compiled (sub)expression: its node and kind.
struct Compiled {
  std::uint32_t node = 0;
  Kind kind = Kind::scalar;
};

// "a scalar", "a vector", ... for error messages.
const char* kind_name(Kind k);

// Name resolution, kind checking, cycle detection, common-subexpression elimination, constant
// folding, and the era/model split of the stages.
class Compiler {
 public:
  Compiler(const std::vector<Definition>& defs, const Binding& binding);
  Plan run(const std::vector<std::string>& outputs);

  // For the operations' build functions (through CallSite). Recurses over the tree, whose depth
  // the parser bounds (kMaxExprDepth), never from one definition into another.
  Compiled compile(const Expr& e, const Definition& d, std::size_t self);
  // A node of operation `o` on compiled arguments; a scalar operation that folds (OpInfo::folds)
  // on constants becomes a constant. Equal nodes are one node.
  Compiled op(Op o, Kind kind, std::vector<std::uint32_t> args, double value = 0,
              bool era_wide = false);
  std::uint32_t constant(double v);
  const Node& node(std::uint32_t id) const { return plan_.nodes[id]; }

 private:
  // A definition's name in another definition's expression, at `column`.
  struct Reference {
    std::size_t definition = 0;
    std::size_t column = 0;
  };

  [[noreturn]] void fail(const Definition& d, std::size_t column, const std::string& msg) const;
  std::vector<Reference> references(const Expr& root) const;
  std::vector<std::size_t> dependency_order() const;
  std::string definition_text(std::size_t i) const;
  void compile_definition(std::size_t i);
  std::uint32_t add(Node n);
  Compiled leaf(Op op, Kind kind, std::string name = "", std::size_t index = 0, bool bound = true);
  Compiled name(const Expr& e, const Definition& d, std::size_t self);
  Compiled operation(const OpInfo* info, const Expr& e, const Definition& d, std::size_t self);
  Compiled chain(const Expr& e, const Definition& d, std::size_t self);
  Compiled call(const Expr& e, const Definition& d, std::size_t self);
  void finish();

  const std::vector<Definition>& defs_;
  const Binding& binding_;
  std::map<std::string, std::size_t> by_name_;
  std::vector<char> done_;
  std::vector<Compiled> compiled_;
  std::vector<std::vector<std::size_t>> deps_;  // the definitions each one names, sorted
  std::size_t depth_ = 0;                       // of compile()'s recursion
  std::unordered_map<std::string, std::uint32_t> cse_;
  // Indices into plan_.builtins and plan_.inputs by name (one name per built-in or input).
  std::unordered_map<std::string, std::size_t> builtin_index_, input_index_;
  Plan plan_;
};

// One call `f(args, key=value)` or operator `a + b` being compiled by its operation's build
// function: its arguments compiled on demand, with the checks and messages every function shares.
class CallSite {
 public:
  // A call or a prefix operator.
  CallSite(Compiler& c, const OpInfo& info, const Expr& e, const Definition& d, std::size_t self)
      : c_(c), info_(info), e_(e), d_(d), self_(self) {}
  // Operator `link` of a chain (Expr::Kind::binary): `left OP args[link + 1]`, where `left` is
  // args[0] for the first operator and otherwise the chain so far, already compiled.
  CallSite(Compiler& c, const OpInfo& info, const Expr& chain, std::size_t link, Compiled left,
           const Definition& d, std::size_t self)
      : c_(c), info_(info), e_(chain), d_(d), self_(self), link_(link), left_(left) {}

  const OpInfo& info() const { return info_; }
  // the function or operator as written
  const std::string& word() const { return in_chain() ? e_.ops[link_].text : e_.text; }
  std::size_t size() const { return in_chain() ? 2 : e_.args.size(); }  // positional arguments
  std::size_t column() const { return in_chain() ? e_.ops[link_].column : e_.column; }
  [[noreturn]] void fail(std::size_t column, const std::string& msg) const;

  // The checks of OpInfo: arity (min_args, max_args, takes) and keywords.
  void check_arity() const;
  void check_keywords() const;

  Compiled arg(std::size_t i);
  Compiled vec(std::size_t i);   // argument i, which must be a vector
  Compiled scal(std::size_t i);  // argument i, which must be a scalar
  std::size_t arg_column(std::size_t i) const;
  // "WORD() argument N", the name of argument i in messages.
  std::string arg_name(std::size_t i) const;
  // `c` (at `column`) must be a scalar / a vector / a vector or a scalar; `what` names it.
  void need_scalar(const Compiled& c, std::size_t column, const std::string& what) const;
  void need_vector(const Compiled& c, std::size_t column, const std::string& what) const;
  void need_data(const Compiled& c, std::size_t column, const std::string& what) const;

  const Kwarg* kwarg(const char* key) const;
  Compiled keyword(const Kwarg& k);  // the keyword's value, compiled
  // A keyword whose value is one of some words (ties=first), or `dflt` when absent.
  std::string choice(const char* key, std::initializer_list<const char*> words, const char* dflt);
  // A keyword whose value is a constant number (ddof=1, rcond=1e-6), or `dflt` when absent.
  double number(const char* key, double dflt);
  // over=ids|era; over=era only on an argument `x` that does not depend on pred.
  bool over_era(const Compiled& x);

  Compiled op(Op o, Kind kind, std::vector<std::uint32_t> args, double value = 0,
              bool era_wide = false) {
    return c_.op(o, kind, std::move(args), value, era_wide);
  }
  std::uint32_t constant(double v) { return c_.constant(v); }
  const Node& node(std::uint32_t id) const { return c_.node(id); }

 private:
  static constexpr std::size_t kNoLink = static_cast<std::size_t>(-1);
  bool in_chain() const { return link_ != kNoLink; }

  Compiler& c_;
  const OpInfo& info_;
  const Expr& e_;
  const Definition& d_;
  std::size_t self_;
  std::size_t link_ = kNoLink;
  Compiled left_;
};

}  // namespace backscore::lang
