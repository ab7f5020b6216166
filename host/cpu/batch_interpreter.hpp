// The CPU's lane-batched form of detail::evaluate: each instruction runs over K evaluations at once, so the
// dispatch cost is shared by K lanes and the per-lane loops vectorize. Control flow never depends on x, so one
// program counter, integer stack and set of loop registers serve all lanes; results match evaluate() bit for bit.
#pragma once

#include <math.h>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/scalar_math.hpp"
#include "hessa/detail/stencil.hpp"

#include "cpu/avx2_clone.hpp"

namespace hessa::cpu {

// K lanes (a point seen through a stencil perturbation each) and the K-wide scalar stack and locals.
// Large (tens of KiB): make one per thread and reuse it for every block.
//
// A stack slot or local is either K values or one value shared by all lanes (constants, integer values, loop
// identities, and anything computed only from them); a shared value lives in element 0 and is computed once.
template <int K>
class BatchInterpreter {
 public:
  void set_lane(int lane, const detail::PerturbedPoint& x) {
    x_[lane] = x.x;
    i_[lane] = double(x.i);
    di_[lane] = x.di;
    j_[lane] = double(x.j);
    dj_[lane] = x.dj;
  }

  // out[l] = f at lane l for l < lanes. Lanes from `lanes` to K are overwritten with copies of lane 0, so a
  // partial block runs the same full-width loops.
  HESSA_CPU_AVX2_CLONE void run(const detail::ProgramView& program, int lanes, double* out) {
    for (int l = lanes; l < K; ++l) copy_lane(l, 0);
    bool one_point = true;
    for (int l = 1; l < K; ++l) one_point = one_point && x_[l] == x_[0];

    using detail::Op;
    int istack[detail::kMaxIntStack];
    int loop_index[detail::kMaxLoopDepth];
    int loop_last[detail::kMaxLoopDepth];
    int sp = 0;
    int isp = 0;
    const double nan_value = ::nan("");
    for (int pc = 0; pc < program.size; ++pc) {
      const detail::Instruction& in = program.code[pc];
      switch (in.op) {
        case Op::Const: push_shared(sp++, in.value); break;
        case Op::LoadX: load_x(sp++, in.a, one_point); break;
        case Op::LoadXDyn: {
          const int k = istack[--isp];
          if (k >= 0 && k < program.n) {
            load_x(sp++, k, one_point);
          } else {
            push_shared(sp++, nan_value);
          }
          break;
        }
        case Op::LoadLocal: move_slot(stack_[sp], stack_shared_[sp], locals_[in.a], local_shared_[in.a]), ++sp; break;
        case Op::StoreLocal: --sp, move_slot(locals_[in.a], local_shared_[in.a], stack_[sp], stack_shared_[sp]); break;
        case Op::Neg: unary<true>(sp - 1, [](double a) { return -a; }); break;
        case Op::Add: binary<true>(--sp - 1, [](double a, double b) { return a + b; }); break;
        case Op::Sub: binary<true>(--sp - 1, [](double a, double b) { return a - b; }); break;
        case Op::Mul: binary<true>(--sp - 1, [](double a, double b) { return a * b; }); break;
        case Op::Div: binary<true>(--sp - 1, [](double a, double b) { return a / b; }); break;
        case Op::Pow: binary<false>(--sp - 1, detail::s_pow); break;
        case Op::PowI: pow_int(sp - 1, in.a); break;
        case Op::Atan2: binary<false>(--sp - 1, detail::s_atan2); break;
        case Op::Hypot: binary<false>(--sp - 1, detail::s_hypot); break;
        case Op::Min: binary<true>(--sp - 1, [](double a, double b) { return detail::s_min(a, b); }); break;
        case Op::Max: binary<true>(--sp - 1, [](double a, double b) { return detail::s_max(a, b); }); break;
        case Op::Sin: unary<false>(sp - 1, detail::s_sin); break;
        case Op::Cos: unary<false>(sp - 1, detail::s_cos); break;
        case Op::Tan: unary<false>(sp - 1, detail::s_tan); break;
        case Op::Asin: unary<false>(sp - 1, detail::s_asin); break;
        case Op::Acos: unary<false>(sp - 1, detail::s_acos); break;
        case Op::Atan: unary<false>(sp - 1, detail::s_atan); break;
        case Op::Sinh: unary<false>(sp - 1, detail::s_sinh); break;
        case Op::Cosh: unary<false>(sp - 1, detail::s_cosh); break;
        case Op::Tanh: unary<false>(sp - 1, detail::s_tanh); break;
        case Op::Exp: unary<false>(sp - 1, detail::s_exp); break;
        case Op::Log: unary<false>(sp - 1, detail::s_log); break;
        case Op::Log1p: unary<false>(sp - 1, detail::s_log1p); break;
        case Op::Expm1: unary<false>(sp - 1, detail::s_expm1); break;
        case Op::Sqrt: unary<false>(sp - 1, detail::s_sqrt); break;
        case Op::Cbrt: unary<false>(sp - 1, detail::s_cbrt); break;
        case Op::Abs: unary<true>(sp - 1, [](double a) { return detail::s_abs(a); }); break;
        case Op::IConst: istack[isp++] = in.a; break;
        case Op::ILoadLoop: istack[isp++] = loop_index[in.a]; break;
        case Op::IAdd:
        case Op::ISub:
        case Op::IMul: detail::integer_binary(in.op, istack, isp); break;
        case Op::INeg: istack[isp - 1] = -istack[isp - 1]; break;
        case Op::IToScalar: push_shared(sp++, double(istack[--isp])); break;
        case Op::LoopBegin:
          push_shared(sp++, in.value);  // the identity of the sum or product
          if (!detail::begin_loop(in, istack, isp, loop_index, loop_last)) pc = in.b - 1;
          break;
        case Op::LoopSumEnd:
        case Op::LoopProdEnd:
          if (in.op == Op::LoopSumEnd) {
            binary<true>(--sp - 1, [](double a, double b) { return a + b; });
          } else {
            binary<true>(--sp - 1, [](double a, double b) { return a * b; });
          }
          // Compare before incrementing: a loop may end at INT32_MAX, and incrementing past it would overflow.
          if (loop_index[in.a] < loop_last[in.a]) {
            ++loop_index[in.a];
            pc = in.b - 1;
          }
          break;
      }
    }
    for (int l = 0; l < lanes; ++l) {
      out[l] = sp == 0 ? nan_value : stack_shared_[sp - 1] ? stack_[sp - 1][0] : stack_[sp - 1][l];
    }
  }

 private:
  void copy_lane(int to, int from) {
    x_[to] = x_[from];
    i_[to] = i_[from];
    di_[to] = di_[from];
    j_[to] = j_[from];
    dj_[to] = dj_[from];
  }

  // Runs body(l) for every lane; kSimd = false for libm calls, which must stay the scalar calls evaluate()
  // makes (a vector math library would round differently).
  template <bool kSimd, class Body>
  static void for_lanes(Body body) {
    if constexpr (kSimd) {
#pragma omp simd
      for (int l = 0; l < K; ++l) body(l);
    } else {
      for (int l = 0; l < K; ++l) body(l);
    }
  }

  void push_shared(int slot, double value) {
    stack_[slot][0] = value;
    stack_shared_[slot] = true;
  }

  static void move_slot(double* to, bool& to_shared, const double* from, bool from_shared) {
    to_shared = from_shared;
    if (from_shared) {
      to[0] = from[0];
    } else {
      for_lanes<true>([&](int l) { to[l] = from[l]; });
    }
  }

  template <bool kSimd, class F>
  void unary(int slot, F f) {
    double* a = stack_[slot];
    if (stack_shared_[slot]) {
      a[0] = f(a[0]);
    } else {
      for_lanes<kSimd>([&](int l) { a[l] = f(a[l]); });
    }
  }

  // stack[slot] = f(stack[slot], stack[slot + 1]).
  template <bool kSimd, class F>
  void binary(int slot, F f) {
    double* a = stack_[slot];
    const double* b = stack_[slot + 1];
    const bool a_shared = stack_shared_[slot];
    const bool b_shared = stack_shared_[slot + 1];
    if (a_shared && b_shared) {
      a[0] = f(a[0], b[0]);
    } else if (a_shared) {
      const double u = a[0];
      for_lanes<kSimd>([&](int l) { a[l] = f(u, b[l]); });
      stack_shared_[slot] = false;
    } else if (b_shared) {
      const double u = b[0];
      for_lanes<kSimd>([&](int l) { a[l] = f(a[l], u); });
    } else {
      for_lanes<kSimd>([&](int l) { a[l] = f(a[l], b[l]); });
    }
  }

  // detail::PerturbedPoint's arithmetic per lane: x[k], then + di where k == i, then + dj where k == j.
  // Elsewhere it adds a zero of the value's own sign, which changes no value (-0.0 included) and, unlike a
  // constant -0.0 that g++ folds back into a branch, keeps the loop branch-free so it vectorizes.
  void load_x(int slot, int k, bool one_point) {
    double* v = stack_[slot];
    stack_shared_[slot] = false;
    const double kd = k;
    const auto perturb = [&](int l, double value) {
      const double di = di_[l];
      const double dj = dj_[l];
      const double after_i = value + (i_[l] == kd ? di : ::copysign(0.0, value));
      return after_i + (j_[l] == kd ? dj : ::copysign(0.0, after_i));
    };
    if (one_point) {
      const double xk = x_[0][k];
      for_lanes<true>([&](int l) { v[l] = perturb(l, xk); });
    } else {
      for_lanes<true>([&](int l) { v[l] = perturb(l, x_[l][k]); });
    }
  }

  // evaluate()'s exponentiation by squaring; a negative exponent inverts at the end.
  static double pow_by_squaring(double base, int exponent) {
    unsigned e = exponent < 0 ? unsigned(-exponent) : unsigned(exponent);
    double result = 1.0;
    double factor = base;
    while (e != 0u) {
      if (e & 1u) result = result * factor;
      e >>= 1u;
      if (e != 0u) factor = factor * factor;
    }
    return exponent < 0 ? 1.0 / result : result;
  }

  // pow_by_squaring's steps for a magnitude known at compile time: nothing left to branch on, so it vectorizes.
  template <unsigned kMagnitude>
  static double squarings(double result, double factor) {
    if constexpr (kMagnitude & 1u) result = result * factor;
    if constexpr ((kMagnitude >> 1u) != 0u) {
      return squarings<(kMagnitude >> 1u)>(result, factor * factor);
    } else {
      return result;
    }
  }

  template <int kExponent>
  void pow_int_fixed(int slot) {
    unary<true>(slot, [](double a) {
      const double result = squarings<unsigned(kExponent < 0 ? -kExponent : kExponent)>(1.0, a);
      return kExponent < 0 ? 1.0 / result : result;
    });
  }

  // Common exponents get a loop with the squarings unrolled, which vectorizes.
  void pow_int(int slot, int exponent) {
    switch (exponent) {
      case 2: pow_int_fixed<2>(slot); break;
      case 3: pow_int_fixed<3>(slot); break;
      case 4: pow_int_fixed<4>(slot); break;
      case -1: pow_int_fixed<-1>(slot); break;
      case -2: pow_int_fixed<-2>(slot); break;
      default: unary<false>(slot, [exponent](double a) { return pow_by_squaring(a, exponent); }); break;
    }
  }

  alignas(64) double stack_[detail::kMaxStack][K];
  alignas(64) double locals_[detail::kMaxLocals][K];
  alignas(64) double di_[K];
  alignas(64) double dj_[K];
  alignas(64) double i_[K];  // perturbed coordinates as doubles (exact), compared with k in-register
  alignas(64) double j_[K];
  const double* x_[K];
  bool stack_shared_[detail::kMaxStack];
  bool local_shared_[detail::kMaxLocals];
};

}  // namespace hessa::cpu
