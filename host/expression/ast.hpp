// Private to the expression compiler: tokens, the syntax tree, and the three passes' entry points.
#pragma once

#include <memory>
#include <string>
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
  Number,      // value (is_int when an integer literal or folded integer arithmetic)
  Variable,    // fixed coordinate `index`
  IndexedX,    // x[kids[0]]
  Local,       // binding slot `index`
  LoopIndex,   // loop slot `index`
  Unary,       // op applied to kids[0]
  Binary,      // op applied to kids[0], kids[1]
  Reduce,      // op = LoopSumEnd | LoopProdEnd; slot `index`; kids: lo, hi, body
};

struct Node {
  NodeKind kind = NodeKind::Number;
  SourcePosition pos;
  detail::Op op = detail::Op::Const;
  double value = 0.0;
  int index = 0;
  bool is_int = false;  // integer-valued: integer literals, loop indices, n, and + - * of those
  std::vector<std::unique_ptr<Node>> kids;
};

struct Binding {
  int slot = 0;
  std::unique_ptr<Node> value;
};

struct SyntaxTree {
  std::vector<Binding> bindings;  // evaluated in order before `result`
  std::unique_ptr<Node> result;
  int loop_slots = 0;             // deepest nesting of sum/prod
};

// Builds the tree, resolving names and folding constants. Throws InputError with line:column.
SyntaxTree parse(const std::vector<Token>& tokens, const std::string& source, const ExpressionOptions& options);

// Line `line` (1-based) of `source`, for the caret display under an error.
std::string source_line(const std::string& source, int line);

[[noreturn]] void fail(const std::string& source, const std::string& source_name, SourcePosition pos,
                       const std::string& message);

}  // namespace hessa::expr
