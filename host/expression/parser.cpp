// Recursive-descent parser: tokens -> syntax tree with names resolved and constant subtrees folded.
//   program  := { name '=' expr ';' } expr [';']
//   expr     := term { ('+'|'-') term }
//   term     := unary { ('*'|'/') unary }
//   unary    := ('-'|'+') unary | power
//   power    := primary [ ('^'|'**') unary ]          (right-associative; -x^2 = -(x^2))
//   primary  := number | name | name '[' expr ']' | name '(' args ')' | '(' expr ')'
// Nesting (parentheses, calls, indices, sum/prod, prefix signs, chained powers) is bounded by kMaxNesting so the
// recursion cannot exhaust the stack; long flat chains (a+b+c+..., min(a,b,c,...)) are loops, not recursion.
#include <cmath>
#include <map>
#include <set>

#include "expression/ast.hpp"
#include "hessa/detail/scalar_math.hpp"

namespace hessa::expr {
namespace {

using detail::Op;

struct FunctionInfo {
  Op op;
  int arity;  // -1: two or more (min, max)
};

const std::map<std::string, FunctionInfo>& functions() {
  static const std::map<std::string, FunctionInfo> table = {
      {"sin", {Op::Sin, 1}},     {"cos", {Op::Cos, 1}},     {"tan", {Op::Tan, 1}},   {"asin", {Op::Asin, 1}},
      {"acos", {Op::Acos, 1}},   {"atan", {Op::Atan, 1}},   {"sinh", {Op::Sinh, 1}}, {"cosh", {Op::Cosh, 1}},
      {"tanh", {Op::Tanh, 1}},   {"exp", {Op::Exp, 1}},     {"log", {Op::Log, 1}},   {"log1p", {Op::Log1p, 1}},
      {"expm1", {Op::Expm1, 1}}, {"sqrt", {Op::Sqrt, 1}},   {"cbrt", {Op::Cbrt, 1}}, {"abs", {Op::Abs, 1}},
      {"atan2", {Op::Atan2, 2}}, {"hypot", {Op::Hypot, 2}}, {"pow", {Op::Pow, 2}},   {"min", {Op::Min, -1}},
      {"max", {Op::Max, -1}},
  };
  return table;
}

double apply_unary(Op op, double a) {
  using namespace detail;
  switch (op) {
    case Op::Neg: return -a;
    case Op::Sin: return s_sin(a);
    case Op::Cos: return s_cos(a);
    case Op::Tan: return s_tan(a);
    case Op::Asin: return s_asin(a);
    case Op::Acos: return s_acos(a);
    case Op::Atan: return s_atan(a);
    case Op::Sinh: return s_sinh(a);
    case Op::Cosh: return s_cosh(a);
    case Op::Tanh: return s_tanh(a);
    case Op::Exp: return s_exp(a);
    case Op::Log: return s_log(a);
    case Op::Log1p: return s_log1p(a);
    case Op::Expm1: return s_expm1(a);
    case Op::Sqrt: return s_sqrt(a);
    case Op::Cbrt: return s_cbrt(a);
    case Op::Abs: return s_abs(a);
    default: return std::nan("");
  }
}

double apply_binary(Op op, double a, double b) {
  using namespace detail;
  switch (op) {
    case Op::Add: return a + b;
    case Op::Sub: return a - b;
    case Op::Mul: return a * b;
    case Op::Div: return a / b;
    case Op::Pow: return s_pow(a, b);
    case Op::Atan2: return s_atan2(a, b);
    case Op::Hypot: return s_hypot(a, b);
    case Op::Min: return s_min(a, b);
    case Op::Max: return s_max(a, b);
    default: return std::nan("");
  }
}

// Measured stack for the costliest kind of level (a call: parse_expr .. parse_call), with clang: 255 levels fit
// in 192 KiB in a Release build, 127 levels in 640 KiB unoptimized with AddressSanitizer (about 4.5 KiB a level).
// So 128 levels stay inside a 1 MiB thread stack in every build (256 did not under ASan -O0), while real
// expressions nest a dozen levels at most. tests/test_expression_limits.cpp parses the deepest accepted case on a 1 MiB
// thread.
constexpr int kMaxNesting = 128;

bool is_integer_op(Op op) { return op == Op::Add || op == Op::Sub || op == Op::Mul || op == Op::Neg; }

std::unique_ptr<Node> make_number(double value, bool is_int, SourcePosition pos) {
  auto node = std::make_unique<Node>();
  node->kind = NodeKind::Number;
  node->value = value;
  node->is_int = is_int;
  node->pos = pos;
  return node;
}

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, const std::string& source, const ExpressionOptions& options)
      : tokens_(tokens), source_(source), options_(options) {
    for (std::size_t k = 0; k < options.variable_names.size(); ++k) variables_[options.variable_names[k]] = int(k);
  }

  SyntaxTree parse_program() {
    SyntaxTree tree;
    while (peek().kind == TokenKind::Identifier && peek(1).kind == TokenKind::Symbol && peek(1).text == "=") {
      const Token name = take();
      take();  // '='
      check_new_name(name, "binding");
      Binding binding;
      binding.slot = int(bindings_.size());
      binding.value = parse_expr();
      expect(";", [&] { return "';' after the binding of '" + name.text + "'"; });
      bindings_[name.text] = binding.slot;
      tree.bindings.push_back(std::move(binding));
    }
    if (peek().kind == TokenKind::End) error(peek().pos, "expected an expression");
    tree.result = parse_expr();
    if (peek().kind == TokenKind::Symbol && peek().text == ";") take();
    if (peek().kind != TokenKind::End) {
      error(peek().pos, "expected an operator or the end of the expression, found '" + peek().text + "'");
    }
    tree.loop_slots = max_loop_depth_;
    return tree;
  }

 private:
  const Token& peek(std::size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& take() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool at_symbol(const char* s) const { return peek().kind == TokenKind::Symbol && peek().text == s; }

  [[noreturn]] void error(SourcePosition pos, const std::string& message) const {
    fail(source_, options_.source_name, pos, message);
  }

  // Counts one nesting level for its lifetime; refuses the level past kMaxNesting at `pos`.
  class NestingLevel {
   public:
    NestingLevel(Parser& parser, SourcePosition pos) : parser_(parser) {
      if (++parser_.depth_ > kMaxNesting) {
        parser_.error(pos, "expression nested too deeply (more than " + std::to_string(kMaxNesting) +
                               " levels of parentheses, calls, indices, signs or powers); split it with bindings "
                               "'name = ...;'");
      }
    }
    ~NestingLevel() { --parser_.depth_; }
    NestingLevel(const NestingLevel&) = delete;
    NestingLevel& operator=(const NestingLevel&) = delete;

   private:
    Parser& parser_;
  };

  // Takes `symbol` or fails with "expected <describe()>". The message is built only on failure, in describe's
  // own frame: the recursive parse functions call this, and every string temporary in their frames would be
  // paid once per nesting level (several KiB per level in an unoptimized sanitizer build).
  template <class Describe>
  void expect(const char* symbol, const Describe& describe) {
    if (!at_symbol(symbol)) fail_expected(describe());
    take();
  }
  void expect(const char* symbol, const char* what) {
    expect(symbol, [what] { return std::string(what); });
  }

  // error() with the message built by `message()` in its own frame (see expect).
  template <class Message>
  [[noreturn]] void fail_with(SourcePosition pos, const Message& message) const {
    error(pos, message());
  }

  [[noreturn]] void fail_expected(const std::string& what) const {
    const Token& t = peek();
    error(t.pos, "expected " + what + ", found " + (t.kind == TokenKind::End ? "the end" : "'" + t.text + "'"));
  }

  bool is_reserved(const std::string& name) const {
    static const std::set<std::string> words = {"pi", "e", "n", "sum", "prod", "x"};
    return words.count(name) != 0 || functions().count(name) != 0;
  }

  void check_new_name(const Token& name, const char* what) const {
    if (is_reserved(name.text) || variables_.count(name.text) || options_.parameters.count(name.text) ||
        bindings_.count(name.text) || coordinate_index(name.text) >= 0 || loop_slot(name.text) >= 0) {
      error(name.pos, std::string("'") + name.text +
                          "' is already a name (variable, parameter, constant, function or "
                          "binding); choose another name for this " +
                          what);
    }
  }

  // "x12" -> 12; -1 when the name is not of that form.
  static int coordinate_index(const std::string& name) {
    if (name.size() < 2 || name[0] != 'x' || name.size() > 10) return -1;
    for (std::size_t k = 1; k < name.size(); ++k)
      if (!std::isdigit(static_cast<unsigned char>(name[k]))) return -1;
    if (name.size() > 2 && name[1] == '0') return -1;
    return std::stoi(name.substr(1));
  }

  int loop_slot(const std::string& name) const {
    for (auto it = loops_.rbegin(); it != loops_.rend(); ++it)
      if (it->first == name) return it->second;
    return -1;
  }

  std::unique_ptr<Node> parse_expr() {
    const NestingLevel level(*this, peek().pos);
    auto left = parse_term();
    while (at_symbol("+") || at_symbol("-")) {
      const Token op = take();
      left = binary(op.text == "+" ? Op::Add : Op::Sub, std::move(left), parse_term(), op.pos);
    }
    return left;
  }

  std::unique_ptr<Node> parse_term() {
    auto left = parse_unary();
    while (at_symbol("*") || at_symbol("/")) {
      const Token op = take();
      left = binary(op.text == "*" ? Op::Mul : Op::Div, std::move(left), parse_unary(), op.pos);
    }
    return left;
  }

  std::unique_ptr<Node> parse_unary() {
    if (at_symbol("-")) {
      const Token op = take();
      const NestingLevel level(*this, op.pos);
      return unary(Op::Neg, parse_unary(), op.pos);
    }
    if (at_symbol("+")) {
      const NestingLevel level(*this, take().pos);
      return parse_unary();
    }
    return parse_power();
  }

  std::unique_ptr<Node> parse_power() {
    auto base = parse_primary();
    if (at_symbol("^") || at_symbol("**")) {
      const Token op = take();
      const NestingLevel level(*this, op.pos);
      return binary(Op::Pow, std::move(base), parse_unary(), op.pos);
    }
    return base;
  }

  std::unique_ptr<Node> parse_primary() {
    const Token& t = take();  // tokens_ outlives the parse
    if (t.kind == TokenKind::Number) return make_number(t.value, t.is_integer_literal, t.pos);
    if (t.kind == TokenKind::Symbol && t.text == "(") {
      auto inner = parse_expr();
      expect(")", [&] {
        return "')' to close the '(' at " + std::to_string(t.pos.line) + ":" + std::to_string(t.pos.column);
      });
      return inner;
    }
    if (t.kind != TokenKind::Identifier) {
      fail_with(t.pos, [&] {
        return std::string("expected a number, a name or '(', found ") +
               (t.kind == TokenKind::End ? "the end" : "'" + t.text + "'");
      });
    }
    if (at_symbol("(")) return parse_call(t);
    if (at_symbol("[")) return parse_indexed(t);
    return resolve_name(t);
  }

  std::unique_ptr<Node> parse_indexed(const Token& name) {
    if (name.text != "x" || variables_.count("x")) {
      fail_with(name.pos,
                [&] { return "only x can be indexed (x[i] is coordinate i); '" + name.text + "' is not an array"; });
    }
    const Token& open = take();
    auto index = parse_expr();
    expect("]", "']' to close x[");
    if (!index->is_int) {
      error(index->pos, "an index must be an integer expression (integers, loop indices and n with + - *)");
    }
    if (index->kind == NodeKind::Number) {
      const int k = int(index->value);
      if (k < 0 || k >= options_.dimension) {
        fail_with(index->pos, [&] {
          return "index " + std::to_string(k) + " is outside x[0.." + std::to_string(options_.dimension - 1) +
                 "] (the function has n = " + std::to_string(options_.dimension) + " coordinates)";
        });
      }
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::Variable;
      node->index = k;
      node->pos = name.pos;
      return node;
    }
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::IndexedX;
    node->pos = open.pos;
    node->kids.push_back(std::move(index));
    return node;
  }

  std::unique_ptr<Node> resolve_name(const Token& t) {
    if (const int slot = loop_slot(t.text); slot >= 0) {
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::LoopIndex;
      node->index = slot;
      node->is_int = true;
      node->pos = t.pos;
      return node;
    }
    if (auto it = bindings_.find(t.text); it != bindings_.end()) {
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::Local;
      node->index = it->second;
      node->pos = t.pos;
      return node;
    }
    int coordinate = -1;
    if (auto it = variables_.find(t.text); it != variables_.end()) coordinate = it->second;
    if (coordinate < 0) coordinate = coordinate_index(t.text);
    if (coordinate >= 0) {
      if (coordinate >= options_.dimension) {
        error(t.pos, "'" + t.text + "' is outside the coordinates x0..x" + std::to_string(options_.dimension - 1) +
                         " (the function has n = " + std::to_string(options_.dimension) + ")");
      }
      auto node = std::make_unique<Node>();
      node->kind = NodeKind::Variable;
      node->index = coordinate;
      node->pos = t.pos;
      return node;
    }
    if (auto it = options_.parameters.find(t.text); it != options_.parameters.end()) {
      return make_number(it->second, false, t.pos);
    }
    if (t.text == "pi") return make_number(M_PI, false, t.pos);
    if (t.text == "e") return make_number(M_E, false, t.pos);
    if (t.text == "n") return make_number(options_.dimension, true, t.pos);
    if (t.text == "x") error(t.pos, "x needs an index: x[i] (or use x0, x1, ...)");
    if (functions().count(t.text) || t.text == "sum" || t.text == "prod") {
      error(t.pos, "'" + t.text + "' is a function: call it as " + t.text + "(...)");
    }
    std::string known = options_.variable_names.empty() ? "x0..x" + std::to_string(options_.dimension - 1) + " or x[i]"
                                                        : "the variables given with --vars";
    error(t.pos, "unknown name '" + t.text + "'; expected " + known + ", a parameter, a bound name, or pi, e, n");
  }

  std::unique_ptr<Node> parse_call(const Token& name) {
    take();  // '('
    if (name.text == "sum" || name.text == "prod") return parse_reduction(name);
    auto it = functions().find(name.text);
    if (it == functions().end()) {
      fail_with(name.pos, [&] {
        std::string list;
        for (const auto& entry : functions()) list += (list.empty() ? "" : ", ") + entry.first;
        return "unknown function '" + name.text + "'; known: " + list + ", sum, prod";
      });
    }
    std::vector<std::unique_ptr<Node>> args;
    if (!at_symbol(")")) {
      args.push_back(parse_expr());
      while (at_symbol(",")) {
        take();
        args.push_back(parse_expr());
      }
    }
    expect(")", [&] { return "')' after the arguments of " + name.text; });
    const FunctionInfo info = it->second;
    const int count = int(args.size());
    if ((info.arity > 0 && count != info.arity) || (info.arity < 0 && count < 2)) {
      fail_with(name.pos, [&] {
        const std::string wanted = info.arity < 0
                                       ? "2 or more arguments"
                                       : std::to_string(info.arity) + (info.arity == 1 ? " argument" : " arguments");
        return name.text + "() takes " + wanted + ", given " + std::to_string(count);
      });
    }
    if (info.arity == 1) return unary(info.op, std::move(args[0]), name.pos);
    auto node = binary(info.op, std::move(args[0]), std::move(args[1]), name.pos);
    for (int k = 2; k < count; ++k) node = binary(info.op, std::move(node), std::move(args[k]), name.pos);
    return node;
  }

  // sum(i, lo, hi, body) / prod(...): inclusive integer bounds, i visible in body only.
  std::unique_ptr<Node> parse_reduction(const Token& name) {
    if (peek().kind != TokenKind::Identifier) {
      fail_with(peek().pos, [&] { return "expected a loop index name as the first argument of " + name.text; });
    }
    const Token& index = take();
    check_new_name(index, "loop index");
    expect(",", "',' after the loop index");
    auto lo = parse_expr();
    expect(",", "',' after the lower bound");
    auto hi = parse_expr();
    expect(",", "',' after the upper bound");
    for (const Node* bound : {lo.get(), hi.get()}) {
      if (!bound->is_int) {
        fail_with(bound->pos, [&] {
          return "a bound of " + name.text +
                 "() must be an integer expression (integers, loop indices and n with + - *)";
        });
      }
    }
    const int slot = int(loops_.size());
    if (slot >= detail::kMaxLoopDepth) {
      fail_with(name.pos, [&] { return "sum/prod nested deeper than " + std::to_string(detail::kMaxLoopDepth); });
    }
    loops_.emplace_back(index.text, slot);
    max_loop_depth_ = std::max(max_loop_depth_, slot + 1);
    auto body = parse_expr();
    loops_.pop_back();
    expect(")", [&] { return "')' after the body of " + name.text; });
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::Reduce;
    node->op = name.text == "sum" ? Op::LoopSumEnd : Op::LoopProdEnd;
    node->index = slot;
    node->pos = name.pos;
    node->kids.push_back(std::move(lo));
    node->kids.push_back(std::move(hi));
    node->kids.push_back(std::move(body));
    return node;
  }

  std::unique_ptr<Node> unary(Op op, std::unique_ptr<Node> a, SourcePosition pos) {
    if (a->kind == NodeKind::Number) {
      const bool is_int = a->is_int && op == Op::Neg;
      return make_number(apply_unary(op, a->value), is_int, pos);
    }
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::Unary;
    node->op = op;
    node->is_int = a->is_int && op == Op::Neg;
    node->pos = pos;
    node->kids.push_back(std::move(a));
    return node;
  }

  std::unique_ptr<Node> binary(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b, SourcePosition pos) {
    const bool is_int = a->is_int && b->is_int && is_integer_op(op);
    if (a->kind == NodeKind::Number && b->kind == NodeKind::Number) {
      const double v = apply_binary(op, a->value, b->value);
      if (!is_int || std::fabs(v) < 2147483647.0) return make_number(v, is_int, pos);
    }
    auto node = std::make_unique<Node>();
    node->kind = NodeKind::Binary;
    node->op = op;
    node->is_int = is_int;
    node->pos = pos;
    node->kids.push_back(std::move(a));
    node->kids.push_back(std::move(b));
    return node;
  }

  const std::vector<Token>& tokens_;
  const std::string& source_;
  const ExpressionOptions& options_;
  std::size_t pos_ = 0;
  std::map<std::string, int> variables_;
  std::map<std::string, int> bindings_;
  std::vector<std::pair<std::string, int>> loops_;
  int max_loop_depth_ = 0;
  int depth_ = 0;  // nesting levels now open (NestingLevel)
};

}  // namespace

SyntaxTree parse(const std::vector<Token>& tokens, const std::string& source, const ExpressionOptions& options) {
  return Parser(tokens, source, options).parse_program();
}

}  // namespace hessa::expr
