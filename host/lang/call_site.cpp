// CallSite (see compiler.hpp): one call or operator being compiled by its operation's build
// function, with the argument checks and messages every function shares.
#include <string>

#include "host/lang/compiler.hpp"

namespace backscore::lang {

void CallSite::fail(std::size_t column, const std::string& msg) const {
  throw FormulaError(d_.text, column, msg, d_.where);
}

void CallSite::check_arity() const {
  const std::size_t n = e_.args.size();
  if (n < info_.min_args || n > info_.max_args) {
    fail(e_.column, e_.text + "() takes " + info_.takes + ", got " + std::to_string(n) +
                        (n == 1 ? " argument" : " arguments"));
  }
}

void CallSite::check_keywords() const {
  for (const Kwarg& k : e_.kwargs) {
    bool ok = false;
    std::string list;
    for (const char* a : info_.keywords) {
      if (a == nullptr) continue;
      ok = ok || k.key == a;
      list += std::string(list.empty() ? "" : ", ") + a;
    }
    if (!ok) {
      fail(k.column,
           e_.text + "() has no keyword '" + k.key + "'" +
               (list.empty() ? std::string(" (it takes none)") : " (it takes " + list + ")"));
    }
  }
}

Compiled CallSite::arg(std::size_t i) {
  if (in_chain()) {
    if (i == 0 && link_ > 0) return left_;
    return c_.compile(e_.args[link_ + i], d_, self_);
  }
  return c_.compile(e_.args[i], d_, self_);
}

std::size_t CallSite::arg_column(std::size_t i) const {
  if (in_chain()) {
    // the chain so far is where its last operator is, as a nested `(a + b) - c` would be
    if (i == 0 && link_ > 0) return e_.ops[link_ - 1].column;
    return e_.args[link_ + i].column;
  }
  return e_.args[i].column;
}

std::string CallSite::arg_name(std::size_t i) const {
  return word() + "() argument " + std::to_string(i + 1);
}

Compiled CallSite::vec(std::size_t i) {
  const Compiled c = arg(i);
  need_vector(c, arg_column(i), arg_name(i));
  return c;
}

Compiled CallSite::scal(std::size_t i) {
  const Compiled c = arg(i);
  need_scalar(c, arg_column(i), arg_name(i));
  return c;
}

void CallSite::need_scalar(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::scalar) fail(column, what + " needs a scalar, got " + kind_name(c.kind));
}

void CallSite::need_vector(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::vector) fail(column, what + " needs a vector, got " + kind_name(c.kind));
}

void CallSite::need_data(const Compiled& c, std::size_t column, const std::string& what) const {
  if (c.kind != Kind::vector && c.kind != Kind::scalar) {
    fail(column, what + " needs a vector or a scalar, got " + kind_name(c.kind));
  }
}

const Kwarg* CallSite::kwarg(const char* key) const {
  for (const Kwarg& k : e_.kwargs) {
    if (k.key == key) return &k;
  }
  return nullptr;
}

Compiled CallSite::keyword(const Kwarg& k) { return c_.compile(k.value[0], d_, self_); }

std::string CallSite::choice(const char* key, std::initializer_list<const char*> words,
                             const char* dflt) {
  const Kwarg* k = kwarg(key);
  if (!k) return dflt;
  const Expr& v = k->value[0];
  std::string list;
  for (const char* w : words) {
    if (v.kind == Expr::Kind::name && v.text == w) return w;
    list += std::string(list.empty() ? "" : " or ") + w;
  }
  fail(v.column, e_.text + "(): " + key + " must be " + list);
}

double CallSite::number(const char* key, double dflt) {
  const Kwarg* k = kwarg(key);
  if (!k) return dflt;
  const Compiled c = keyword(*k);
  if (c.kind != Kind::scalar || node(c.node).op != Op::constant) {
    fail(k->value[0].column, e_.text + "(): " + key + " must be a constant number");
  }
  return node(c.node).value;
}

bool CallSite::over_era(const Compiled& x) {
  const bool wide = choice("over", {"ids", "era"}, "ids") == "era";
  if (wide && node(x.node).per_model) {
    fail(kwarg("over")->column, "over=era needs an argument that does not depend on pred");
  }
  return wide;
}

}  // namespace backscore::lang
