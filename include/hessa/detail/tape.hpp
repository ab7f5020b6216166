// Reverse-mode differentiation of compiled expressions. The language has no data-dependent control flow (loop
// bounds and indices are integers fixed by n), so for a given n a program is one straight-line trace: the
// compiler unrolls it into a tape (host/expression/trace.cpp) whose node t computes v[t] from earlier nodes.
// A forward sweep stores every v[t]; the reverse sweep runs the tape backwards accumulating adjoints
// adj[t] = df/dv[t], and ∇f_k is the adjoint of the node that reads x_k. Both sweeps are templated on the scalar:
//   double            f and ∇f (the `gradient` stencil),
//   Tangent<L>        forward-over-reverse: seeding x with L tangent directions makes the adjoints' tangent parts
//                     H·d for each direction (the `exact` stencil), since every derivative rule below is itself
//                     written in T's arithmetic and so is differentiated along with the values,
//   cpu::LanePack<K>  K independent evaluations at once (the CPU's SIMD form of the double sweep,
//                     host/cpu/lane_pack.hpp).
// Shared by the CPU backend and the CUDA kernels. Kinks take the branch of the real parts, as hyper-dual numbers
// do (detail/hyper_dual.hpp): abs'(0) = +1, min/max at a tie differentiate their first argument.
#pragma once

#include <stdint.h>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/scalar_math.hpp"
#include "hessa/hd.hpp"

// The sweeps are inlined into their callers, so that a caller compiled for wider vectors (the CPU's AVX-512 copy of
// a stencil) runs the lane loops of Tangent<L> at its width.
#if defined(__CUDACC__)
#define HESSA_SWEEP_INLINE __forceinline__
#elif defined(__GNUC__)
#define HESSA_SWEEP_INLINE inline __attribute__((always_inline))
#else
#define HESSA_SWEEP_INLINE inline
#endif

namespace hessa::detail {

// One tape node. op is an interpreter op (bytecode.hpp) with operands as node indices:
//   Const     v = value
//   LoadX     v = x[b] (one node per coordinate read)
//   unary     v = op(v[a]);  binary: v = op(v[a], v[b]);  PowI: v = v[a]^b (b an integer exponent)
// `a` is always a node index (0 when unused), `b` one for binary ops only. The last node is f.
struct TapeNode {
  Op op;
  int32_t a;
  int32_t b;
  double value;
};

struct TapeView {
  const TapeNode* nodes = nullptr;
  int32_t size = 0;  // 0: no tape (the function's trace was too long; CompiledFunction says why)
};

// Doubles of scratch one evaluation of the tape takes per scalar of type T: the values and their adjoints.
HESSA_HD inline int64_t tape_scratch_values(const TapeView& tape) { return 2 * int64_t(tape.size); }

// Whether node.b of a tape node with this op is a second operand (a node index).
HESSA_HD inline bool is_binary(Op op) {
  return op == Op::Add || op == Op::Sub || op == Op::Mul || op == Op::Div || op == Op::Pow || op == Op::Atan2 ||
         op == Op::Hypot || op == Op::Min || op == Op::Max;
}

// The interpreter's PowI (so f is bit for bit the same), with its results for 1 and 2 (1 * base, 1 * (base * base))
// formed without multiplying by 1: on dual numbers that skips a full product.
template <class T>
HESSA_HD inline T power_by_squaring(const T& base, int exponent) {
  if (exponent == 1) return base;
  if (exponent == 2) return base * base;
  return integer_power(base, exponent);
}

// v[t] for every node, at the point x (x(k) returns coordinate k as a T). v is strided (a GPU thread's values
// interleave with its neighbours'). Returns f = v[last].
template <class T, class X>
HESSA_HD HESSA_SWEEP_INLINE T tape_forward(const TapeView& tape, const X& x, T* v, int64_t stride) {
  for (int32_t t = 0; t < tape.size; ++t) {
    const TapeNode& node = tape.nodes[t];
    const T* a = v + int64_t(node.a) * stride;
    const T* b = v + int64_t(is_binary(node.op) ? node.b : node.a) * stride;
    T& out = v[int64_t(t) * stride];
    switch (node.op) {
      case Op::Const: out = T(node.value); break;
      case Op::LoadX: out = x(node.b); break;
      case Op::Neg: out = -*a; break;
      case Op::Add: out = *a + *b; break;
      case Op::Sub: out = *a - *b; break;
      case Op::Mul: out = *a * *b; break;
      case Op::Div: out = *a / *b; break;
      case Op::Pow: out = s_pow(*a, *b); break;
      case Op::PowI: out = power_by_squaring(*a, node.b); break;
      case Op::Atan2: out = s_atan2(*a, *b); break;
      case Op::Hypot: out = s_hypot(*a, *b); break;
      case Op::Min: out = s_min(*a, *b); break;
      case Op::Max: out = s_max(*a, *b); break;
      case Op::Sin: out = s_sin(*a); break;
      case Op::Cos: out = s_cos(*a); break;
      case Op::Tan: out = s_tan(*a); break;
      case Op::Asin: out = s_asin(*a); break;
      case Op::Acos: out = s_acos(*a); break;
      case Op::Atan: out = s_atan(*a); break;
      case Op::Sinh: out = s_sinh(*a); break;
      case Op::Cosh: out = s_cosh(*a); break;
      case Op::Tanh: out = s_tanh(*a); break;
      case Op::Exp: out = s_exp(*a); break;
      case Op::Log: out = s_log(*a); break;
      case Op::Log1p: out = s_log1p(*a); break;
      case Op::Expm1: out = s_expm1(*a); break;
      case Op::Sqrt: out = s_sqrt(*a); break;
      case Op::Cbrt: out = s_cbrt(*a); break;
      case Op::Abs: out = s_abs(*a); break;
      default: out = T(::nan("")); break;  // the tracer emits no other op
    }
  }
  return tape.size > 0 ? v[int64_t(tape.size - 1) * stride] : T(::nan(""));
}

// Which operand of min/max carries the derivative: the one the value came from, by the rule of s_min / s_max
// (both when either is NaN: the value is their sum).
enum class Selected { First, Second, Both };
template <class T>
HESSA_HD inline Selected min_max_selected(Op op, const T& a, const T& b) {
  const double ra = real_part(a), rb = real_part(b);
  if (ra != ra || rb != rb) return Selected::Both;
  const bool second = op == Op::Min ? rb < ra : rb > ra;
  return second ? Selected::Second : Selected::First;
}

// In-place accumulations for the reverse sweep: acc += x, acc -= x, acc += x y, acc -= x y, and s x for a plain
// number s. Tangent<L> overloads them (detail/tangent.hpp) with lane loops that need no temporaries.
template <class T>
HESSA_HD inline void add_to(T& acc, const T& x) {
  acc = acc + x;
}
template <class T>
HESSA_HD inline void subtract_from(T& acc, const T& x) {
  acc = acc - x;
}
template <class T>
HESSA_HD inline void add_product(T& acc, const T& x, const T& y) {
  acc = acc + x * y;
}
template <class T>
HESSA_HD inline void subtract_product(T& acc, const T& x, const T& y) {
  acc = acc - x * y;
}
template <class T>
HESSA_HD inline T scaled(double s, const T& x) {
  return T(s) * x;
}
// The adjoints of the piecewise-linear ops, by the branch the value took (a SIMD pack overloads them lane by lane).
template <class T>
HESSA_HD inline void min_max_adjoint(Op op, const T& a, const T& b, const T& g, T& da, T& db) {
  const Selected s = min_max_selected(op, a, b);
  if (s != Selected::Second) add_to(da, g);
  if (s != Selected::First) add_to(db, g);
}
template <class T>
HESSA_HD inline void abs_adjoint(const T& a, const T& g, T& da) {
  if (real_part(a) >= 0.0) {
    add_to(da, g);
  } else {
    subtract_from(da, g);
  }
}

// The reverse sweep over the values of tape_forward: adj[t] = df/dv[t] (strided as v), then
// gradient(k, adj) for each LoadX node of coordinate k (each coordinate's only reader). Every rule is written
// in T's own arithmetic: on Tangent<L> the adjoints' tangent parts are then H times the seeded directions.
template <class T, class Gradient>
HESSA_HD HESSA_SWEEP_INLINE void tape_reverse(const TapeView& tape, const T* v, T* adj, int64_t stride,
                                              Gradient gradient) {
  if (tape.size == 0) return;
  for (int32_t t = 0; t + 1 < tape.size; ++t) adj[int64_t(t) * stride] = T(0.0);
  adj[int64_t(tape.size - 1) * stride] = T(1.0);
  for (int32_t t = tape.size - 1; t >= 0; --t) {
    const TapeNode& node = tape.nodes[t];
    const T& g = adj[int64_t(t) * stride];  // final: every reader of node t comes after it
    const T& z = v[int64_t(t) * stride];
    const int64_t second = is_binary(node.op) ? node.b : node.a;
    const T& a = v[int64_t(node.a) * stride];
    const T& b = v[second * stride];
    T& da = adj[int64_t(node.a) * stride];  // da and db are the same adjoint when both operands are one node
    T& db = adj[second * stride];
    switch (node.op) {
      case Op::Const: break;
      case Op::LoadX: gradient(node.b, g); break;
      case Op::Neg: subtract_from(da, g); break;
      case Op::Add:
        add_to(da, g);
        add_to(db, g);
        break;
      case Op::Sub:
        add_to(da, g);
        subtract_from(db, g);
        break;
      case Op::Mul:
        add_product(da, g, b);
        add_product(db, g, a);
        break;
      case Op::Div: {
        const T q = g / b;
        add_to(da, q);
        subtract_product(db, q, z);
        break;
      }
      case Op::Pow: {
        // d/da = b a^(b-1) (defined at a = 0 for b >= 1, as the hyper-dual rule); d/db = a^b log a, taken only
        // when the exponent is not a constant (log of a negative base would be NaN for nothing).
        const bool constant_exponent = tape.nodes[node.b].op == Op::Const;
        if (!(constant_exponent && tape.nodes[node.b].value == 0.0)) add_product(da, g, b * s_pow(a, b - T(1.0)));
        if (!constant_exponent) add_product(db, g, z * s_log(a));
        break;
      }
      case Op::PowI:
        if (node.b == 1) {
          add_to(da, g);
        } else if (node.b == 2) {
          add_product(da, scaled(2.0, g), a);
        } else if (node.b != 0) {
          add_product(da, g, scaled(double(node.b), power_by_squaring(a, node.b - 1)));
        }
        break;
      case Op::Atan2: {  // atan2(y = a, x = b): d/dy = x / r^2, d/dx = -y / r^2
        const T q = g / (a * a + b * b);
        add_product(da, q, b);
        subtract_product(db, q, a);
        break;
      }
      case Op::Hypot: {
        const T q = g / z;
        add_product(da, q, a);
        add_product(db, q, b);
        break;
      }
      case Op::Min:
      case Op::Max: min_max_adjoint(node.op, a, b, g, da, db); break;
      case Op::Sin: add_product(da, g, s_cos(a)); break;
      case Op::Cos: subtract_product(da, g, s_sin(a)); break;
      case Op::Tan: add_product(da, g, T(1.0) + z * z); break;
      case Op::Asin: add_to(da, g / s_sqrt(T(1.0) - a * a)); break;
      case Op::Acos: subtract_from(da, g / s_sqrt(T(1.0) - a * a)); break;
      case Op::Atan: add_to(da, g / (T(1.0) + a * a)); break;
      case Op::Sinh: add_product(da, g, s_cosh(a)); break;
      case Op::Cosh: add_product(da, g, s_sinh(a)); break;
      case Op::Tanh: add_product(da, g, T(1.0) - z * z); break;
      case Op::Exp: add_product(da, g, z); break;
      case Op::Log: add_to(da, g / a); break;
      case Op::Log1p: add_to(da, g / (T(1.0) + a)); break;
      case Op::Expm1: add_product(da, g, z + T(1.0)); break;
      case Op::Sqrt: add_to(da, scaled(0.5, g / z)); break;
      case Op::Cbrt: add_to(da, g / scaled(3.0, z * z)); break;
      case Op::Abs: abs_adjoint(a, g, da); break;
      default: break;
    }
  }
}

}  // namespace hessa::detail
