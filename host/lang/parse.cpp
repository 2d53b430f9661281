// Lexer and recursive-descent parser of the formula language (see parse.hpp).
#include "host/lang/parse.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <initializer_list>

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
        if (j - i > kMaxTokenLength) fail(col, "number longer than " + max_token());
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
        if (j - i > kMaxTokenLength) fail(col, "name longer than " + max_token());
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

  static std::string max_token() { return std::to_string(kMaxTokenLength) + " characters"; }

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
  [[noreturn]] void too_deep(std::size_t column) const { fail(column, too_deep_message()); }
  // Bounds the parser's own recursion (parentheses, call arguments, prefix operators, the
  // right side of `^`) before it recurses: `corr^1^1^...` or 100,000 '(' stop at the limit.
  struct Nesting {
    Nesting(const Parser& p, std::size_t& depth) : depth_(depth) {
      if (++depth_ > kMaxExprDepth) p.too_deep(p.peek().column);
    }
    ~Nesting() { --depth_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;
    std::size_t& depth_;
  };

  // `a OP b`: a chain of one operator.
  Expr binary(const Token& op, Expr a, Expr b) const {
    Expr e;
    e.kind = Expr::Kind::binary;
    e.args.push_back(std::move(a));
    e.args.push_back(std::move(b));
    e.ops.push_back({op.text, op.column});
    e.text = op.text;
    e.column = op.column;
    return deepen(std::move(e));
  }
  bool at_any(std::initializer_list<const char*> ops) const {
    if (peek().kind != Token::Kind::op && peek().kind != Token::Kind::name) return false;
    for (const char* op : ops) {
      if (peek().text == op) return true;
    }
    return false;
  }
  // `operand (OP operand)*` for the operators `ops` of one precedence, parsed in a loop into one
  // flat chain (Expr::Kind::binary): its length is not nesting.
  Expr chain(Expr (Parser::*operand)(), std::initializer_list<const char*> ops) {
    Expr first = (this->*operand)();
    if (!at_any(ops)) return first;
    Expr e;
    e.kind = Expr::Kind::binary;
    e.args.push_back(std::move(first));
    while (at_any(ops)) {
      e.ops.push_back({peek().text, peek().column});
      ++pos_;
      e.args.push_back((this->*operand)());
    }
    e.text = e.ops.back().text;
    e.column = e.ops.back().column;
    return deepen(std::move(e));
  }

  Expr expression() {
    const Nesting guard(*this, nesting_);
    return or_expr();
  }
  Expr or_expr() { return chain(&Parser::and_expr, {"or"}); }
  Expr and_expr() { return chain(&Parser::not_expr, {"and"}); }
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
    static constexpr std::initializer_list<const char*> kCompare = {"<",  "<=", ">",
                                                                    ">=", "==", "!="};
    Expr e = additive();
    if (at_any(kCompare)) {
      const Token op = peek();
      ++pos_;
      e = binary(op, std::move(e), additive());
      if (at_any(kCompare)) fail(peek().column, "comparisons do not chain: use 'and'");
    }
    return e;
  }
  Expr additive() { return chain(&Parser::multiplicative, {"+", "-"}); }
  Expr multiplicative() { return chain(&Parser::unary, {"*", "/"}); }
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
      const Nesting guard(*this, nesting_);
      const Token op = peek();
      ++pos_;
      e = binary(op, std::move(e), unary());
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

// Binding strength for printing; all the operators of a chain have the same.
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

void append(std::string& s, const Expr& e);

// `e` in parentheses when it binds less tightly than `than` (or as tightly, with `or_equal`).
void append_operand(std::string& s, const Expr& e, int than, bool or_equal) {
  const int p = precedence(e);
  const bool paren = p < than || (or_equal && p == than);
  if (paren) s += "(";
  append(s, e);
  if (paren) s += ")";
}

// Appends the text of `e`: recursion as deep as the tree (at most kMaxExprDepth), a loop along
// a chain.
void append(std::string& s, const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::number:
    case Expr::Kind::name:
      s += e.text;
      return;
    case Expr::Kind::call: {
      s += e.text + "(";
      bool first = true;
      for (const Expr& a : e.args) {
        if (!first) s += ", ";
        append(s, a);
        first = false;
      }
      for (const Kwarg& k : e.kwargs) {
        s += (first ? "" : ", ") + k.key + "=";
        append(s, k.value[0]);
        first = false;
      }
      s += ")";
      return;
    }
    case Expr::Kind::unary:
      s += e.text == "not" ? "not " : "-";
      append_operand(s, e.args[0], precedence(e), false);
      return;
    case Expr::Kind::binary: {
      // Left-associative chains need parentheses on an operand of the same precedence after the
      // first; `^` (right-associative, two operands) on the first.
      const int p = precedence(e);
      const bool right_assoc = e.text == "^";
      append_operand(s, e.args[0], p, right_assoc);
      for (std::size_t i = 1; i < e.args.size(); ++i) {
        s += " " + e.ops[i - 1].text + " ";
        append_operand(s, e.args[i], p, !right_assoc);
      }
      return;
    }
  }
}

}  // namespace

std::string too_deep_message() {
  return "expression nested too deeply (more than " + std::to_string(kMaxExprDepth) +
         " levels of operators, calls and parentheses); split it into several definitions";
}

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
  std::string s;
  append(s, e);
  return s;
}

}  // namespace backscore::lang
