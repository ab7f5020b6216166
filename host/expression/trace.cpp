// Tracing: a compiled program -> its tape (detail/tape.hpp), for reverse-mode gradients. The bytecode is run
// symbolically once: scalar stack slots and locals hold node indices, integer ops and loops run for real (they
// depend only on n), so every loop unrolls and every x[...] index becomes a constant. Subexpressions of constants
// fold to constants by the same double arithmetic the interpreter uses, so the tape's f is the interpreter's bit
// for bit. Nodes that do not reach f are dropped.
#include <cstdint>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "expression/trace.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::expr {
namespace {

using detail::Op;
using detail::TapeNode;

class Tracer {
 public:
  Tracer(int n, std::size_t max_nodes) : input_(std::size_t(n), -1), max_nodes_(max_nodes) {}

  // False when the tape outgrows max_nodes.
  bool run(const detail::ProgramView& program, std::int32_t* output) {
    std::vector<std::int32_t> stack;
    std::int32_t locals[detail::kMaxLocals] = {};
    int istack[detail::kMaxIntStack];
    int loop_index[detail::kMaxLoopDepth];
    int loop_last[detail::kMaxLoopDepth];
    int isp = 0;
    for (int pc = 0; pc < program.size; ++pc) {
      if (nodes_.size() > max_nodes_) return false;
      const detail::Instruction& in = program.code[pc];
      switch (in.op) {
        case Op::Const: stack.push_back(constant(in.value)); break;
        case Op::LoadX: stack.push_back(input(in.a)); break;
        case Op::LoadXDyn: {
          const int k = istack[--isp];
          stack.push_back(k >= 0 && k < program.n ? input(k) : constant(::nan("")));
          break;
        }
        case Op::LoadLocal: stack.push_back(locals[in.a]); break;
        case Op::StoreLocal:
          locals[in.a] = stack.back();
          stack.pop_back();
          break;
        case Op::IConst: istack[isp++] = in.a; break;
        case Op::ILoadLoop: istack[isp++] = loop_index[in.a]; break;
        case Op::IAdd:
        case Op::ISub:
        case Op::IMul: detail::integer_binary(in.op, istack, isp); break;
        case Op::INeg: istack[isp - 1] = -istack[isp - 1]; break;
        case Op::IToScalar: stack.push_back(constant(double(istack[--isp]))); break;
        case Op::LoopBegin:
          stack.push_back(constant(in.value));
          if (!detail::begin_loop(in, istack, isp, loop_index, loop_last)) pc = in.b - 1;
          break;
        case Op::LoopSumEnd:
        case Op::LoopProdEnd: {
          const std::int32_t body = stack.back();
          stack.pop_back();
          stack.back() = binary(in.op == Op::LoopSumEnd ? Op::Add : Op::Mul, stack.back(), body);
          if (loop_index[in.a] < loop_last[in.a]) {
            ++loop_index[in.a];
            pc = in.b - 1;
          }
          break;
        }
        case Op::PowI: stack.back() = power(stack.back(), in.a); break;
        case Op::Add:
        case Op::Sub:
        case Op::Mul:
        case Op::Div:
        case Op::Pow:
        case Op::Atan2:
        case Op::Hypot:
        case Op::Min:
        case Op::Max: {
          const std::int32_t b = stack.back();
          stack.pop_back();
          stack.back() = binary(in.op, stack.back(), b);
          break;
        }
        default: stack.back() = unary(in.op, stack.back()); break;  // the elementary functions and Neg
      }
    }
    *output = stack.empty() ? constant(::nan("")) : stack.back();
    return nodes_.size() <= max_nodes_;
  }

  std::vector<TapeNode> nodes_;

 private:
  bool is_constant(std::int32_t t) const { return nodes_[std::size_t(t)].op == Op::Const; }
  double value_of(std::int32_t t) const { return nodes_[std::size_t(t)].value; }

  // One node per distinct constant (by bit pattern: -0.0 and NaNs stay distinct).
  std::int32_t constant(double value) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &value, sizeof bits);
    const auto found = constants_.find(bits);
    if (found != constants_.end()) return found->second;
    const std::int32_t t = push({Op::Const, 0, 0, value});
    constants_.emplace(bits, t);
    return t;
  }

  std::int32_t input(int k) {
    std::int32_t& t = input_[std::size_t(k)];
    if (t < 0) t = push({Op::LoadX, 0, k, 0.0});
    return t;
  }

  // Folding runs the interpreter's own arithmetic on a two- or three-instruction program over constants.
  static double fold(Op op, double a, double b, int exponent) {
    const bool binary_op = detail::is_binary(op);
    const detail::Instruction program[] = {
        {Op::Const, 0, 0, a},
        binary_op ? detail::Instruction{Op::Const, 0, 0, b} : detail::Instruction{op, exponent, 0, 0.0},
        {op, exponent, 0, 0.0}};
    struct NoPoint {
      double operator()(int) const { return ::nan(""); }
    };
    return detail::evaluate<double>(detail::ProgramView{program, binary_op ? 3 : 2, 0}, NoPoint{});
  }

  std::int32_t unary(Op op, std::int32_t a) {
    if (is_constant(a)) return constant(fold(op, value_of(a), 0.0, 0));
    return push({op, a, a, 0.0});
  }
  std::int32_t power(std::int32_t a, int exponent) {
    if (is_constant(a)) return constant(fold(Op::PowI, value_of(a), 0.0, exponent));
    return push({Op::PowI, a, exponent, 0.0});
  }
  std::int32_t binary(Op op, std::int32_t a, std::int32_t b) {
    if (is_constant(a) && is_constant(b)) return constant(fold(op, value_of(a), value_of(b), 0));
    return push({op, a, b, 0.0});
  }

  std::int32_t push(TapeNode node) {
    nodes_.push_back(node);
    return std::int32_t(nodes_.size() - 1);
  }

  std::vector<std::int32_t> input_;
  std::unordered_map<std::uint64_t, std::int32_t> constants_;
  std::size_t max_nodes_;
};

// Keeps the nodes f depends on, in order (so f is last), with operands renumbered.
std::vector<TapeNode> reachable_from(const std::vector<TapeNode>& nodes, std::int32_t output) {
  std::vector<std::int32_t> renumber(nodes.size(), -1);
  std::vector<char> needed(nodes.size(), 0);
  needed[std::size_t(output)] = 1;
  for (std::int32_t t = output; t >= 0; --t) {
    if (!needed[std::size_t(t)]) continue;
    const TapeNode& node = nodes[std::size_t(t)];
    if (node.op == Op::Const || node.op == Op::LoadX) continue;
    needed[std::size_t(node.a)] = 1;
    if (detail::is_binary(node.op)) needed[std::size_t(node.b)] = 1;
  }
  std::vector<TapeNode> kept;
  for (std::int32_t t = 0; t <= output; ++t) {
    if (!needed[std::size_t(t)]) continue;
    TapeNode node = nodes[std::size_t(t)];
    if (node.op != Op::Const && node.op != Op::LoadX) {
      node.a = renumber[std::size_t(node.a)];
      if (detail::is_binary(node.op)) node.b = renumber[std::size_t(node.b)];
      if (!detail::is_binary(node.op) && node.op != Op::PowI) node.b = node.a;
    }
    renumber[std::size_t(t)] = std::int32_t(kept.size());
    kept.push_back(node);
  }
  return kept;
}

}  // namespace

TraceResult trace_program(const detail::ProgramView& program, std::size_t max_nodes) {
  Tracer tracer(program.n, max_nodes);
  std::int32_t output = -1;
  TraceResult result;
  if (!tracer.run(program, &output)) {
    result.why_not = "its trace has more than " + std::to_string(max_nodes) +
                     " operations (loops unrolled), the limit of a reverse-mode tape";
    return result;
  }
  result.nodes = reachable_from(tracer.nodes_, output);
  return result;
}

}  // namespace hessa::expr
