// Stack-machine interpreter for compiled expressions, shared by the CPU backend and the CUDA kernels.
// Templated on the scalar type T (double today; hyper-dual numbers reuse it for exact derivatives)
// and on the point view X, which returns coordinate k as a T (perturbed views add FD steps lazily).
#pragma once

#include <math.h>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/scalar_math.hpp"
#include "hessa/hd.hpp"

namespace hessa::detail {

// base^exponent by squaring (exact for hyper-duals, faster than pow); a negative exponent inverts at the end.
// The interpreter's PowI, shared with the tape's sweeps (detail/tape.hpp).
template <class T>
HESSA_HD inline T integer_power(const T& base, int exponent) {
  unsigned e = exponent < 0 ? unsigned(-exponent) : unsigned(exponent);
  T result = T(1.0);
  T factor = base;
  while (e != 0u) {
    if (e & 1u) result = result * factor;
    e >>= 1u;
    if (e != 0u) factor = factor * factor;
  }
  return exponent < 0 ? T(1.0) / result : result;
}

// Runs `program` on the point `x`. Returns f(x). An out-of-range dynamic index yields NaN (never a
// read outside x) and, when `bad_index_pc` is given, the offending instruction and index value.
template <class T, class X>
HESSA_HD T evaluate(const ProgramView& program, const X& x, int* bad_index_pc = nullptr, int* bad_index = nullptr) {
  T stack[kMaxStack];
  T locals[kMaxLocals];
  int istack[kMaxIntStack];
  int loop_index[kMaxLoopDepth];
  int loop_last[kMaxLoopDepth];
  int sp = 0;   // next free scalar slot
  int isp = 0;  // next free integer slot
  const T nan_value = T(::nan(""));
  for (int pc = 0; pc < program.size; ++pc) {
    const Instruction& in = program.code[pc];
    switch (in.op) {
      case Op::Const: stack[sp++] = T(in.value); break;
      case Op::LoadX: stack[sp++] = x(in.a); break;
      case Op::LoadXDyn: {
        const int k = istack[--isp];
        if (k >= 0 && k < program.n) {
          stack[sp++] = x(k);
        } else {
          stack[sp++] = nan_value;
          if (bad_index_pc != nullptr && *bad_index_pc < 0) {
            *bad_index_pc = pc;
            if (bad_index != nullptr) *bad_index = k;
          }
        }
        break;
      }
      case Op::LoadLocal: stack[sp++] = locals[in.a]; break;
      case Op::StoreLocal: locals[in.a] = stack[--sp]; break;
      case Op::Neg: stack[sp - 1] = -stack[sp - 1]; break;
      case Op::Add:
        --sp;
        stack[sp - 1] = stack[sp - 1] + stack[sp];
        break;
      case Op::Sub:
        --sp;
        stack[sp - 1] = stack[sp - 1] - stack[sp];
        break;
      case Op::Mul:
        --sp;
        stack[sp - 1] = stack[sp - 1] * stack[sp];
        break;
      case Op::Div:
        --sp;
        stack[sp - 1] = stack[sp - 1] / stack[sp];
        break;
      case Op::Pow:
        --sp;
        stack[sp - 1] = s_pow(stack[sp - 1], stack[sp]);
        break;
      case Op::PowI: stack[sp - 1] = integer_power(stack[sp - 1], in.a); break;
      case Op::Atan2:
        --sp;
        stack[sp - 1] = s_atan2(stack[sp - 1], stack[sp]);
        break;
      case Op::Hypot:
        --sp;
        stack[sp - 1] = s_hypot(stack[sp - 1], stack[sp]);
        break;
      case Op::Min:
        --sp;
        stack[sp - 1] = s_min(stack[sp - 1], stack[sp]);
        break;
      case Op::Max:
        --sp;
        stack[sp - 1] = s_max(stack[sp - 1], stack[sp]);
        break;
      case Op::Sin: stack[sp - 1] = s_sin(stack[sp - 1]); break;
      case Op::Cos: stack[sp - 1] = s_cos(stack[sp - 1]); break;
      case Op::Tan: stack[sp - 1] = s_tan(stack[sp - 1]); break;
      case Op::Asin: stack[sp - 1] = s_asin(stack[sp - 1]); break;
      case Op::Acos: stack[sp - 1] = s_acos(stack[sp - 1]); break;
      case Op::Atan: stack[sp - 1] = s_atan(stack[sp - 1]); break;
      case Op::Sinh: stack[sp - 1] = s_sinh(stack[sp - 1]); break;
      case Op::Cosh: stack[sp - 1] = s_cosh(stack[sp - 1]); break;
      case Op::Tanh: stack[sp - 1] = s_tanh(stack[sp - 1]); break;
      case Op::Exp: stack[sp - 1] = s_exp(stack[sp - 1]); break;
      case Op::Log: stack[sp - 1] = s_log(stack[sp - 1]); break;
      case Op::Log1p: stack[sp - 1] = s_log1p(stack[sp - 1]); break;
      case Op::Expm1: stack[sp - 1] = s_expm1(stack[sp - 1]); break;
      case Op::Sqrt: stack[sp - 1] = s_sqrt(stack[sp - 1]); break;
      case Op::Cbrt: stack[sp - 1] = s_cbrt(stack[sp - 1]); break;
      case Op::Abs: stack[sp - 1] = s_abs(stack[sp - 1]); break;
      // Integer ops cannot overflow: the compiler proves every integer subexpression stays in int32
      // (host/expression/ranges.cpp) and refuses the program otherwise.
      case Op::IConst: istack[isp++] = in.a; break;
      case Op::ILoadLoop: istack[isp++] = loop_index[in.a]; break;
      case Op::IAdd:
      case Op::ISub:
      case Op::IMul: integer_binary(in.op, istack, isp); break;
      case Op::INeg: istack[isp - 1] = -istack[isp - 1]; break;
      case Op::IToScalar: stack[sp++] = T(double(istack[--isp])); break;
      case Op::LoopBegin:
        stack[sp++] = T(in.value);  // the identity of the sum or product
        if (!begin_loop(in, istack, isp, loop_index, loop_last)) pc = in.b - 1;
        break;
      case Op::LoopSumEnd:
      case Op::LoopProdEnd: {
        --sp;
        stack[sp - 1] = in.op == Op::LoopSumEnd ? stack[sp - 1] + stack[sp] : stack[sp - 1] * stack[sp];
        // Compare before incrementing: a loop may end at INT32_MAX, and incrementing past it would overflow.
        if (loop_index[in.a] < loop_last[in.a]) {
          ++loop_index[in.a];
          pc = in.b - 1;
        }
        break;
      }
    }
  }
  return sp > 0 ? stack[sp - 1] : nan_value;
}

}  // namespace hessa::detail
