// Lexer and recursive-descent parser of the formula language (see parse.hpp).
#include "host/lang/parse.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace backscore::lang {
namespace {

std::string trim(std::string_view s) {
  std::size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

struct Token {
  enum class Kind { number, name, op, end };
  Kind kind = Kind::end;
  std::string text;
  double number = 0;
  std::size_t column = 0;  // 1-based
};

class Parser {
 public:
  Parser(std::string text, std::string where) : text_(std::move(text)), where_(std::move(where)) {
    lex();
  }

  Definition definition() {
    Definition d;
    d.text = text_;
    d.where = where_;
    const Token& name = peek();
    if (name.kind != Token::Kind::name) fail(name.column, "expected `name = expression`");
    d.name = name.text;
    d.name_column = name.column;
    ++pos_;
    if (!accept("=")) fail(peek().column, "expected '=' after the formula's name");
    if (peek().kind == Token::Kind::end) fail(peek().column, "missing expression after '='");
    d.expr = expression();
    if (peek().kind != Token::Kind::end) {
      fail(peek().column, "unexpected '" + peek().text + "' after the expression");
    }
    return d;
  }

 private:
  [[noreturn]] void fail(std::size_t column, const std::string& message) const {
    throw FormulaError(text_, column, message, where_);
  }

  void lex() {
    std::size_t i = 0;
    const std::size_t n = text_.size();
    while (i < n) {
      const char c = text_[i];
      const std::size_t col = i + 1;
      if (c == '\n' || c == '\r') {
        // Errors are one line: quote the definition with its line breaks as blanks.
        std::replace(text_.begin(), text_.end(), '\n', ' ');
        std::replace(text_.begin(), text_.end(), '\r', ' ');
        fail(col, "line break inside a definition (one definition per line)");
      }
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
      } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                 (c == '.' && i + 1 < n &&
                  std::isdigit(static_cast<unsigned char>(text_[i + 1])))) {
        std::size_t j = i;
        while (j < n && (std::isdigit(static_cast<unsigned char>(text_[j])) || text_[j] == '.'))
          ++j;
        if (j < n && (text_[j] == 'e' || text_[j] == 'E')) {
          std::size_t k = j + 1;
          if (k < n && (text_[k] == '+' || text_[k] == '-')) ++k;
          if (k < n && std::isdigit(static_cast<unsigned char>(text_[k]))) {
            j = k;
            while (j < n && std::isdigit(static_cast<unsigned char>(text_[j]))) ++j;
          }
        }
        Token t{Token::Kind::number, text_.substr(i, j - i), 0, col};
        const auto r = std::from_chars(text_.data() + i, text_.data() + j, t.number);
        if (r.ec != std::errc() || r.ptr != text_.data() + j)
          fail(col, "malformed number '" + t.text + "'");
        tokens_.push_back(std::move(t));
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        std::size_t j = i;
        while (j < n && (std::isalnum(static_cast<unsigned char>(text_[j])) || text_[j] == '_'))
          ++j;
        tokens_.push_back({Token::Kind::name, text_.substr(i, j - i), 0, col});
        i = j;
      } else {
        static const char* const kTwo[] = {"<=", ">=", "==", "!="};
        std::string op;
        for (const char* t : kTwo) {
          if (text_.compare(i, 2, t) == 0) op = t;
        }
        if (op.empty() && std::string_view("+-*/^(),=<>").find(c) != std::string_view::npos) {
          op = std::string(1, c);
        }
        if (op.empty()) fail(col, std::string("unexpected character '") + c + "'");
        tokens_.push_back({Token::Kind::op, op, 0, col});
        i += op.size();
      }
    }
    tokens_.push_back({Token::Kind::end, "end of the definition", 0, n + 1});
  }

  const Token& peek() const { return tokens_[pos_]; }
  bool is_op(const char* op) const { return peek().kind == Token::Kind::op && peek().text == op; }
  bool is_word(const char* w) const { return peek().kind == Token::Kind::name && peek().text == w; }
  bool accept(const char* op) {
    if (!is_op(op)) return false;
    ++pos_;
    return true;
  }
  void expect(const char* op, const char* what) {
    if (!accept(op)) {
      fail(peek().column,
           std::string("expected '") + op + "' " + what + ", got '" + peek().text + "'");
    }
  }

  // Sets e.depth from its operands; a tree deeper than kMaxExprDepth is an error.
  Expr deepen(Expr e) const {
    std::size_t d = 0;
    for (const Expr& a : e.args) d = std::max(d, a.depth);
    for (const Kwarg& k : e.kwargs) {
      for (const Expr& v : k.value) d = std::max(d, v.depth);
    }
    e.depth = d + 1;
    if (e.depth > kMaxExprDepth) too_deep(e.column);
    return e;
  }
  [[noreturn]] void too_deep(std::size_t column) const {
    fail(column, "expression nested too deeply (more than " + std::to_string(kMaxExprDepth) +
                     " levels of operators, calls and parentheses); split it into several "
                     "definitions");
  }
  // Bounds the parser's own recursion (parentheses, call arguments, prefix operators).
  struct Nesting {
    Nesting(const Parser& p, std::size_t& depth) : depth_(depth) {
      if (++depth_ > kMaxExprDepth) p.too_deep(p.peek().column);
    }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    std::size_t& depth_;
  };

  Expr binary(std::string op, std::size_t column, Expr a, Expr b) const {
    Expr e;
    e.kind = Expr::Kind::binary;
    e.text = std::move(op);
    e.column = column;
    e.args.push_back(std::move(a));
    e.args.push_back(std::move(b));
    return deepen(std::move(e));
  }

  Expr expression() {
    const Nesting guard(*this, nesting_);
    return or_expr();
  }
  Expr or_expr() {
    Expr e = and_expr();
    while (is_word("or")) {
      const std::size_t col = peek().column;
      ++pos_;
      e = binary("or", col, std::move(e), and_expr());
    }
    return e;
  }
  Expr and_expr() {
    Expr e = not_expr();
    while (is_word("and")) {
      const std::size_t col = peek().column;
      ++pos_;
      e = binary("and", col, std::move(e), not_expr());
    }
    return e;
  }
  Expr not_expr() {
    if (is_word("not")) {
      const Nesting guard(*this, nesting_);
      Expr e;
      e.kind = Expr::Kind::unary;
      e.text = "not";
      e.column = peek().column;
      ++pos_;
      e.args.push_back(not_expr());
      return deepen(std::move(e));
    }
    return comparison();
  }
  Expr comparison() {
    Expr e = additive();
    for (const char* op : {"<", "<=", ">", ">=", "==", "!="}) {
      if (is_op(op)) {
        const std::size_t col = peek().column;
        ++pos_;
        e = binary(op, col, std::move(e), additive());
        for (const char* op2 : {"<", "<=", ">", ">=", "==", "!="}) {
          if (is_op(op2)) fail(peek().column, "comparisons do not chain: use 'and'");
        }
        break;
      }
    }
    return e;
  }
  Expr additive() {
    Expr e = multiplicative();
    while (is_op("+") || is_op("-")) {
      const Token t = peek();
      ++pos_;
      e = binary(t.text, t.column, std::move(e), multiplicative());
    }
    return e;
  }
  Expr multiplicative() {
    Expr e = unary();
    while (is_op("*") || is_op("/")) {
      const Token t = peek();
      ++pos_;
      e = binary(t.text, t.column, std::move(e), unary());
    }
    return e;
  }
  Expr unary() {
    if (is_op("-") || is_op("+")) {
      const Nesting guard(*this, nesting_);
      const Token t = peek();
      ++pos_;
      Expr operand = unary();
      if (t.text == "+") return operand;
      if (operand.kind == Expr::Kind::number) {  // a negative literal
        operand.number = -operand.number;
        operand.text = "-" + operand.text;
        operand.column = t.column;
        return operand;
      }
      Expr e;
      e.kind = Expr::Kind::unary;
      e.text = "-";
      e.column = t.column;
      e.args.push_back(std::move(operand));
      return deepen(std::move(e));
    }
    return power();
  }
  // `^` binds tighter than unary minus and is right-associative: -a^b^c = -(a^(b^c)).
  Expr power() {
    Expr e = primary();
    if (is_op("^")) {
      const std::size_t col = peek().column;
      ++pos_;
      e = binary("^", col, std::move(e), unary());
    }
    return e;
  }
  Expr primary() {
    const Token t = peek();
    if (t.kind == Token::Kind::number) {
      ++pos_;
      Expr e;
      e.kind = Expr::Kind::number;
      e.number = t.number;
      e.text = t.text;
      e.column = t.column;
      return e;
    }
    if (t.kind == Token::Kind::name) {
      if (t.text == "and" || t.text == "or" || t.text == "not") {
        fail(t.column, "unexpected '" + t.text + "'");
      }
      ++pos_;
      Expr e;
      e.text = t.text;
      e.column = t.column;
      if (!accept("(")) {
        e.kind = Expr::Kind::name;
        return e;
      }
      e.kind = Expr::Kind::call;
      if (accept(")")) return e;
      for (;;) {
        const Token& a = peek();
        if (a.kind == Token::Kind::name && tokens_[pos_ + 1].kind == Token::Kind::op &&
            tokens_[pos_ + 1].text == "=") {
          Kwarg k;
          k.key = a.text;
          k.column = a.column;
          pos_ += 2;
          k.value.push_back(expression());
          for (const Kwarg& other : e.kwargs) {
            if (other.key == k.key) fail(k.column, "keyword '" + k.key + "' given twice");
          }
          e.kwargs.push_back(std::move(k));
        } else {
          if (!e.kwargs.empty()) {
            fail(a.column, "positional argument after a keyword argument");
          }
          e.args.push_back(expression());
        }
        if (accept(")")) break;
        expect(",", "between arguments or ')' to close the call");
      }
      return deepen(std::move(e));
    }
    if (t.kind == Token::Kind::op && t.text == "(") {
      ++pos_;
      Expr e = expression();
      expect(")", "to close '('");
      return e;
    }
    if (t.kind == Token::Kind::end) fail(t.column, "the expression ends too early");
    fail(t.column, "unexpected '" + t.text + "'");
  }

  std::string text_, where_;
  std::vector<Token> tokens_;
  std::size_t pos_ = 0;
  std::size_t nesting_ = 0;
};

int precedence(const Expr& e) {
  if (e.kind == Expr::Kind::binary) {
    const std::string& op = e.text;
    if (op == "or") return 1;
    if (op == "and") return 2;
    if (op == "+" || op == "-") return 5;
    if (op == "*" || op == "/") return 6;
    if (op == "^") return 8;
    return 4;  // comparisons
  }
  if (e.kind == Expr::Kind::unary) return e.text == "not" ? 3 : 7;
  return 9;
}

}  // namespace

Definition parse_definition(std::string_view text, std::string where) {
  return Parser(trim(text), std::move(where)).definition();
}

std::vector<Definition> parse_formula_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw OptionError::about("files", "cannot open " + path.string());
  std::vector<Definition> defs;
  std::string line;
  std::size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (trim(line).empty()) continue;
    defs.push_back(parse_definition(line, path.string() + ":" + std::to_string(lineno)));
  }
  if (in.bad()) throw OptionError::about("files", "cannot read " + path.string());
  return defs;
}

std::string to_string(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::number:
      return e.text;
    case Expr::Kind::name:
      return e.text;
    case Expr::Kind::call: {
      std::string s = e.text + "(";
      bool first = true;
      for (const Expr& a : e.args) {
        s += (first ? "" : ", ") + to_string(a);
        first = false;
      }
      for (const Kwarg& k : e.kwargs) {
        s += (first ? "" : ", ") + k.key + "=" + to_string(k.value[0]);
        first = false;
      }
      return s + ")";
    }
    case Expr::Kind::unary: {
      const std::string inner = to_string(e.args[0]);
      const bool paren = precedence(e.args[0]) < precedence(e);
      const std::string body = paren ? "(" + inner + ")" : inner;
      return e.text == "not" ? "not " + body : "-" + body;
    }
    case Expr::Kind::binary: {
      const int p = precedence(e);
      std::string a = to_string(e.args[0]), b = to_string(e.args[1]);
      // left-associative operators need parentheses on the right for equal precedence;
      // `^` is right-associative.
      const bool right_assoc = e.text == "^";
      if (precedence(e.args[0]) < p || (right_assoc && precedence(e.args[0]) == p))
        a = "(" + a + ")";
      if (precedence(e.args[1]) < p || (!right_assoc && precedence(e.args[1]) == p))
        b = "(" + b + ")";
      return a + " " + e.text + " " + b;
    }
  }
  return "";
}

}  // namespace backscore::lang
