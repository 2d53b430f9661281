// Recursive-descent parser and tree evaluator for payout rules (see payout_rule.hpp).
#include "host/report/payout_rule.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

#include "io/input_error.hpp"

namespace backscore {

// expr   := term (('+' | '-') term)*
// term   := unary (('*' | '/') unary)*
// unary  := '-' unary | primary
// primary:= NUMBER | NAME | NAME '(' args ')' | '(' expr ')'
class PayoutRuleParser {
 public:
  explicit PayoutRuleParser(PayoutRule& rule) : r_(rule), s_(rule.text_) {}

  void run() {
    skip_space();
    if (pos_ >= s_.size()) fail("empty payout rule");
    r_.root_ = expr();
    skip_space();
    if (pos_ < s_.size()) fail(std::string("unexpected '") + s_[pos_] + "'");
  }

 private:
  using Node = PayoutRule::Node;

  [[noreturn]] void fail(const std::string& what) const { fail_at(what, pos_); }
  [[noreturn]] void fail_at(const std::string& what, std::size_t col) const {
    // One line: the rule quoted, what is wrong and the 1-based column.
    throw InputError("payout rule '" + s_ + "': " + what + " at column " +
                     std::to_string(col + 1));
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool accept(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c, const char* context) {
    skip_space();
    if (pos_ >= s_.size()) fail(std::string("expected '") + c + "' " + context + ", got the end");
    if (s_[pos_] != c) fail(std::string("expected '") + c + "' " + context);
    ++pos_;
  }

  int add(Node n) {
    r_.nodes_.push_back(n);
    return static_cast<int>(r_.nodes_.size() - 1);
  }

  int expr() {
    int left = term();
    for (;;) {
      if (accept('+')) {
        left = add(Node{Node::kAdd, 0, -1, left, term()});
      } else if (accept('-')) {
        left = add(Node{Node::kSub, 0, -1, left, term()});
      } else {
        return left;
      }
    }
  }
  int term() {
    int left = unary();
    for (;;) {
      if (accept('*')) {
        left = add(Node{Node::kMul, 0, -1, left, unary()});
      } else if (accept('/')) {
        left = add(Node{Node::kDiv, 0, -1, left, unary()});
      } else {
        return left;
      }
    }
  }
  int unary() {
    if (accept('-')) return add(Node{Node::kNeg, 0, -1, unary()});
    if (accept('+')) return unary();
    return primary();
  }
  int primary() {
    skip_space();
    if (pos_ >= s_.size()) fail("expected a number, a formula name or '(', got the end");
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      const int inner = expr();
      expect(')', "to close '('");
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const char* begin = s_.c_str() + pos_;
      char* end = nullptr;
      const double v = std::strtod(begin, &end);
      if (end == begin) fail("bad number");
      pos_ += static_cast<std::size_t>(end - begin);
      return add(Node{Node::kNumber, v});
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      const std::size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) {
        ++pos_;
      }
      const std::string name = s_.substr(start, pos_ - start);
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == '(') return call(name, start);
      auto it = std::find(r_.names_.begin(), r_.names_.end(), name);
      if (it == r_.names_.end()) it = r_.names_.insert(r_.names_.end(), name);
      Node n{Node::kName};
      n.name = static_cast<int>(it - r_.names_.begin());
      return add(n);
    }
    fail(std::string("unexpected '") + c + "'");
  }
  int call(const std::string& name, std::size_t start) {
    Node::Kind kind;
    std::size_t arity;
    if (name == "clip") {
      kind = Node::kClip, arity = 3;
    } else if (name == "min") {
      kind = Node::kMin, arity = 2;
    } else if (name == "max") {
      kind = Node::kMax, arity = 2;
    } else {
      fail_at("unknown function '" + name + "' (clip, min and max are known)", start);
    }
    ++pos_;  // '('
    int args[3] = {-1, -1, -1};
    for (std::size_t k = 0; k < arity; ++k) {
      if (k > 0) {
        expect(',', ("between the arguments of " + name + "()").c_str());
      }
      args[k] = expr();
    }
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ',') {
      fail(name + "() takes " + std::to_string(arity) + " arguments");
    }
    expect(')', ("to close " + name + "(").c_str());
    return add(Node{kind, 0, -1, args[0], args[1], args[2]});
  }

  PayoutRule& r_;
  const std::string& s_;
  std::size_t pos_ = 0;
};

std::string PayoutRule::preset(const std::string& name) {
  if (name == "numerai2024") return "clip(0.5*corr + 2*mmc, -0.05, 0.05)";
  if (name == "numerai2020") return "clip(corr + mmc, -0.25, 0.25)";
  return "";
}

PayoutRule PayoutRule::parse(const std::string& text) {
  PayoutRule rule;
  const std::string p = preset(text);
  rule.text_ = p.empty() ? text : p;
  PayoutRuleParser(rule).run();
  return rule;
}

double PayoutRule::eval_node(int node, std::span<const double> v) const {
  const Node& n = nodes_[static_cast<std::size_t>(node)];
  auto arg = [&](int i) { return eval_node(i, v); };
  switch (n.kind) {
    case Node::kNumber:
      return n.number;
    case Node::kName:
      return v[static_cast<std::size_t>(n.name)];
    case Node::kNeg:
      return -arg(n.a);
    case Node::kAdd:
      return arg(n.a) + arg(n.b);
    case Node::kSub:
      return arg(n.a) - arg(n.b);
    case Node::kMul:
      return arg(n.a) * arg(n.b);
    case Node::kDiv:
      return arg(n.a) / arg(n.b);
    case Node::kClip: {
      const double x = arg(n.a), lo = arg(n.b), hi = arg(n.c);
      if (std::isnan(x) || std::isnan(lo) || std::isnan(hi)) return std::nan("");
      return std::min(std::max(x, lo), hi);
    }
    case Node::kMin:
    case Node::kMax: {
      const double x = arg(n.a), y = arg(n.b);
      if (std::isnan(x) || std::isnan(y)) return std::nan("");
      return n.kind == Node::kMin ? std::min(x, y) : std::max(x, y);
    }
  }
  return std::nan("");
}

double PayoutRule::eval(std::span<const double> values) const {
  if (values.size() != names_.size()) {
    throw std::invalid_argument("PayoutRule::eval: one value per name expected");
  }
  return eval_node(root_, values);
}

double PayoutRule::eval(const std::function<double(std::string_view)>& lookup) const {
  std::vector<double> values;
  values.reserve(names_.size());
  for (const std::string& name : names_) values.push_back(lookup(name));
  return eval(values);
}

}  // namespace backscore
