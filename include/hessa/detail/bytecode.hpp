// The bytecode that the expression compiler emits and the HESSA_HD interpreter runs.
// Plain data (no pointers to host memory) so a program can be copied to the GPU as is.
#pragma once

#include <cstdint>

#include "hessa/hd.hpp"

namespace hessa::detail {

struct TapeNode;  // detail/tape.hpp

// Limits the interpreter's fixed-size state; the compiler rejects programs that exceed them.
inline constexpr int kMaxStack = 48;     // scalar stack depth
inline constexpr int kMaxIntStack = 16;  // integer (index arithmetic) stack depth
inline constexpr int kMaxLoopDepth = 8;  // nested sum()/prod()
inline constexpr int kMaxLocals = 64;    // `name = expr;` bindings

enum class Op : int32_t {
  // scalar stack
  Const,       // push value
  LoadX,       // push x[a] (a known at compile time)
  LoadXDyn,    // pop integer index k, push x[k]; out of range -> NaN and an error flag
  LoadLocal,   // push local[a]
  StoreLocal,  // pop into local[a]
  Neg,
  Add,
  Sub,
  Mul,
  Div,
  Pow,   // general a^b
  PowI,  // top^a for an integer constant a (repeated squaring: exact for hyper-duals, faster)
  Atan2,
  Hypot,
  Min,
  Max,
  Sin,
  Cos,
  Tan,
  Asin,
  Acos,
  Atan,
  Sinh,
  Cosh,
  Tanh,
  Exp,
  Log,
  Log1p,
  Expm1,
  Sqrt,
  Cbrt,
  Abs,
  // integer stack (index arithmetic over loop indices, integer literals and n)
  IConst,     // push integer a
  ILoadLoop,  // push loop index of slot a
  IAdd,
  ISub,
  IMul,
  INeg,
  IToScalar,  // pop integer, push it as a scalar
  // reductions: sum(i, lo, hi, body) / prod(...)
  LoopBegin,    // pop hi, lo (integers); slot a := lo; push identity `value`; if lo > hi jump to b
  LoopSumEnd,   // pop body value v; top += v; ++slot a; if index <= hi jump to b
  LoopProdEnd,  // as LoopSumEnd with top *= v
};

struct Instruction {
  Op op;
  int32_t a;
  int32_t b;
  double value;
};

// A view of a compiled program that device code can hold (pointers into device or host memory).
struct ProgramView {
  const Instruction* code;
  int32_t size;
  int32_t n;  // dimension the program was compiled for
  // The same program as a straight-line reverse-mode tape (detail/tape.hpp; TapeView{tape, tape_size}), for the
  // gradient-based stencils; tape_size 0 when the function has none.
  const TapeNode* tape = nullptr;
  int32_t tape_size = 0;
};

// IAdd, ISub, IMul on the integer stack (loop bounds, indices): pops b and replaces a by a op b. Shared by the
// HESSA_HD interpreter (interpreter.hpp) and the CPU's lane-batched one (host/cpu/batch_interpreter.hpp).
HESSA_HD inline void integer_binary(Op op, int* istack, int& isp) {
  const int b = istack[--isp];
  int& a = istack[isp - 1];
  a = op == Op::IAdd ? a + b : op == Op::ISub ? a - b : a * b;
}

// LoopBegin of loop in.a: pops its bounds [first, last] off the integer stack and starts the counter; false for
// an empty range (the caller jumps past the loop, the identity staying on the stack). Shared as integer_binary is.
HESSA_HD inline bool begin_loop(const Instruction& in, int* istack, int& isp, int* loop_index, int* loop_last) {
  const int last = istack[--isp];
  const int first = istack[--isp];
  if (first > last) return false;
  loop_index[in.a] = first;
  loop_last[in.a] = last;
  return true;
}

}  // namespace hessa::detail
