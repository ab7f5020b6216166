// Private to the expression compiler: tokens, the syntax tree, and the three passes' entry points.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "hessa/detail/bytecode.hpp"
#include "hessa/expression.hpp"

namespace hessa::expr {

enum class TokenKind { Number, Identifier, Symbol, End };

struct Token {
  TokenKind kind = TokenKind::End;
  std::string text;  // the lexeme; for Symbol one of + - * / ^ ** ( ) [ ] , ; =
  double value = 0.0;
  bool is_integer_literal = false;  // digits only, fits in int32
  SourcePosition pos;
};

// Splits source into tokens; '#' starts a comment to the end of the line. Throws InputError.
std::vector<Token> tokenize(const std::string& source, const std::string& source_name);

enum class NodeKind {
  Number,     // value (is_int when an integer literal or folded integer arithmetic)
  Variable,   // fixed coordinate `index`
  IndexedX,   // x[kids[0]]
  Local,      // binding slot `index`
  LoopIndex,  // loop slot `index`
  Unary,      // op applied to kids[0]
  Binary,     // op applied to kids[0], kids[1]
  Reduce,     // op = LoopSumEnd | LoopProdEnd; slot `index`; kids: lo, hi, body
};

// Every value an integer node can take, as a closed interval in int64 (empty when lo > hi: the node is never
// evaluated). Children are checked to lie in int32 first, so + - * of two ranges cannot overflow int64.
struct IntRange {
  std::int64_t lo = 0;
  std::int64_t hi = -1;
  bool empty() const { return lo > hi; }
};

struct Node {
  NodeKind kind = NodeKind::Number;
  SourcePosition pos;
  detail::Op op = detail::Op::Const;
  double value = 0.0;
  int index = 0;
  bool is_int = false;  // integer-valued: integer literals, loop indices, n, and + - * of those
  IntRange range;       // integer nodes only, filled by check_integer_ranges
  std::vector<std::unique_ptr<Node>> kids;

  Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // A flat sum of 60 000 terms is a left-nested chain 60 000 deep; the default destructor would recurse once
  // per level and overflow the stack. Detach the descendants onto a work list and free them one by one.
  ~Node() {
    std::vector<std::unique_ptr<Node>> pending = std::move(kids);
    while (!pending.empty()) {
      std::unique_ptr<Node> node = std::move(pending.back());
      pending.pop_back();
      for (auto& kid : node->kids) pending.push_back(std::move(kid));
      node->kids.clear();
    }  // `node` dies here with no children left
  }
};

struct Binding {
  int slot = 0;
  std::unique_ptr<Node> value;
};

struct SyntaxTree {
  std::vector<Binding> bindings;  // evaluated in order before `result`
  std::unique_ptr<Node> result;
  int loop_slots = 0;  // deepest nesting of sum/prod
};

// Builds the tree, resolving names and folding constants. Throws InputError with line:column.
SyntaxTree parse(const std::vector<Token>& tokens, const std::string& source, const ExpressionOptions& options);

// Computes every integer node's range and rejects any that can leave int32 (so the interpreter's int arithmetic
// never overflows). Returns true when every dynamic index x[...] provably lies inside 0..n-1.
bool check_integer_ranges(SyntaxTree& tree, const std::string& source, const ExpressionOptions& options);

// Line `line` (1-based) of `source`, for the caret display under an error.
std::string source_line(const std::string& source, int line);

[[noreturn]] void fail(const std::string& source, const std::string& source_name, SourcePosition pos,
                       const std::string& message);

}  // namespace hessa::expr
