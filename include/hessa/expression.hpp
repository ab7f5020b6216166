// The expression language: source text -> bytecode for the shared interpreter.
// Grammar, built-ins and error conventions are documented in README.md ("Expression language").
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa {

struct ExpressionOptions {
  int dimension = 0;                         // n: the number of coordinates of a point
  std::vector<std::string> variable_names;   // --vars x,y; empty: x0..x{n-1} and x[i]
  std::map<std::string, double> parameters;  // --param a=2
  std::string source_name = "<function>";    // used in error messages (a file name, a catalogue name)
};

struct SourcePosition {
  int line = 0;
  int column = 0;
};

// Reverse-mode tapes hold at most this many nodes: 24 MiB of tape, and 16 MiB of values and adjoints per
// gradient evaluation. A function whose unrolled trace is longer has no gradient stencils (value stencils only).
inline constexpr std::size_t kMaxTapeNodes = std::size_t(1) << 20;

// A compiled scalar function of `dimension` coordinates, as bytecode and, when its trace fits kMaxTapeNodes, as a
// reverse-mode tape. Immutable after compilation.
class CompiledFunction {
 public:
  CompiledFunction() = default;
  CompiledFunction(std::vector<detail::Instruction> code, std::vector<SourcePosition> positions, int dimension,
                   std::string source);

  int dimension() const { return dimension_; }
  const std::vector<detail::Instruction>& code() const { return code_; }
  const std::string& source() const { return source_; }
  SourcePosition position_of(int instruction) const { return positions_.at(instruction); }
  detail::ProgramView view() const {
    return {code_.data(), int32_t(code_.size()), dimension_, tape_.data(), int32_t(tape_.size())};
  }
  // The tape (detail/tape.hpp), empty when the trace was too long: why_no_tape() then says so.
  const std::vector<detail::TapeNode>& tape() const { return tape_; }
  detail::TapeView tape_view() const { return {tape_.data(), int32_t(tape_.size())}; }
  bool has_tape() const { return !tape_.empty(); }
  const std::string& why_no_tape() const { return why_no_tape_; }

  // Evaluates f at a point of `dimension()` coordinates (host side).
  double operator()(const double* x) const;

 private:
  std::vector<detail::Instruction> code_;
  std::vector<SourcePosition> positions_;
  std::vector<detail::TapeNode> tape_;
  std::string why_no_tape_;
  int dimension_ = 0;
  std::string source_;
};

// Whether `name` can name a variable or parameter: [A-Za-z_][A-Za-z0-9_]* (reserved words aside). Linear time
// and constant stack for any length (names come from CSV headers and command lines).
bool is_identifier(const std::string& name);

// Compiles `source`; throws InputError (with line, column and a caret line) on any error, including an
// x[...] index that falls outside 0..n-1 for some value of its loop indices.
CompiledFunction compile_expression(const std::string& source, const ExpressionOptions& options);

}  // namespace hessa
