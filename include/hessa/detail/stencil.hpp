// Finite-difference stencils: which perturbed points to evaluate and how to assemble g and H from them.
// Shared by the CPU backend and the CUDA kernels. All formulas are central differences, O(h^2).
//
// Evaluation layout for one point (index e):
//   e = 0                 f(x)
//   e = 1 + 2i (+0 / +1)  f(x + h_i e_i) / f(x - h_i e_i)
//   then, for each pair i < j in row-major order (pair p):
//     central: 4 evaluations  f(x ± h_i e_i ± h_j e_j) in sign order (++, +-, -+, --)   -> 2n^2 + 1 in all
//     compact: 2 evaluations  f(x + h_i e_i + h_j e_j), f(x - h_i e_i - h_j e_j)        -> n^2 + n + 1 in all
//   richardson: the central layout twice, at h (level 0) and at h/2 (level 1)          -> 2 (2n^2 + 1)
//   hyperdual: one hyper-dual evaluation per pair i <= j (row-major, diagonal included) -> n (n + 1) / 2,
//     x_i seeded with e1 and x_j with e2; each stores 4 doubles (a, b, c, d) instead of 1.
//   gradient: the axis layout (e = 0, then x +- h_i e_i) of reverse-mode gradients           -> 2n + 1,
//     each n + 1 doubles: f, then g_0 .. g_{n-1}; column j of H is (g(x + h_j e_j) - g(x - h_j e_j)) / 2 h_j.
//   exact: one forward-over-reverse sweep per coordinate j                                   -> n,
//     each n + 2 doubles: f, g_j, then column j of H (H_0j .. H_{n-1,j}), exact to rounding.
// In gradient and exact, H_ij and H_ji come from different evaluations: H is their mean, and half their
// difference is part of each entry's error estimate.
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/hd.hpp"
#include "hessa/types.hpp"

namespace hessa::detail {

// Evaluations per point.
HESSA_HD inline int64_t stencil_size(StencilKind kind, int n) {
  const int64_t nn = n;
  switch (kind) {
    case StencilKind::Central: return 2 * nn * nn + 1;
    case StencilKind::Compact: return nn * nn + nn + 1;
    case StencilKind::Richardson: return 2 * (2 * nn * nn + 1);
    case StencilKind::Gradient: return 2 * nn + 1;
    case StencilKind::Exact: return nn;
    case StencilKind::HyperDual: break;
  }
  return nn * (nn + 1) / 2;
}

// Doubles stored per evaluation: a hyper-dual value is 4, a gradient evaluation f and g, an exact sweep f, g_j and
// a column of H.
HESSA_HD inline int values_per_evaluation(StencilKind kind, int n) {
  switch (kind) {
    case StencilKind::HyperDual: return 4;
    case StencilKind::Gradient: return n + 1;
    case StencilKind::Exact: return n + 2;
    default: return 1;
  }
}

// Whether a kind evaluates reverse-mode gradients (the function needs a tape, or a model's backpropagation).
HESSA_HD inline bool uses_gradients(StencilKind kind) {
  return kind == StencilKind::Gradient || kind == StencilKind::Exact;
}

// Step h_i = scale * max(|x_i|, 1), rounded so that x_i + h_i - x_i == h_i exactly: the difference
// quotient then divides by the step actually taken, not the one intended. (IEEE arithmetic, as compiled
// here without -ffast-math, keeps (x + h) - x as written. nvcc contracts a*b + c into an FMA by default, which
// would add the unrounded product: __dmul_rn keeps h rounded on the device, so both backends take the same step.)
HESSA_HD inline double fd_step(double xi, double scale) {
  const double a = fabs(xi);
#ifdef __CUDA_ARCH__
  const double h = __dmul_rn(scale, a > 1.0 ? a : 1.0);
#else
  const double h = scale * (a > 1.0 ? a : 1.0);  // inlined max; a NaN x gives a NaN step either way
#endif
  return (xi + h) - xi;
}

// Number of pairs (r, c), r < c, whose row r is below `row`: sum_{r<row} (n-1-r).
HESSA_HD inline int64_t pairs_before_row(int n, int row) {
  const int64_t r = row;
  return r * (n - 1) - r * (r - 1) / 2;
}

HESSA_HD inline int64_t pair_number(int n, int i, int j) { return pairs_before_row(n, i) + (j - i - 1); }

// Inverse of pair_number: closed form, then an exact integer correction for rounding in sqrt.
HESSA_HD inline void pair_from_number(int n, int64_t p, int* i, int* j) {
  const double b = 2.0 * n - 1.0;
  int row = int((b - sqrt(b * b - 8.0 * double(p))) / 2.0);
  if (row < 0) row = 0;
  while (row > 0 && pairs_before_row(n, row) > p) --row;
  while (row + 1 < n && pairs_before_row(n, row + 1) <= p) ++row;
  *i = row;
  *j = int(p - pairs_before_row(n, row)) + row + 1;
}

// Perturbation of evaluation e: coordinate i moves by sign_i * h_i, coordinate j by sign_j * h_j
// (i or j is -1 when unused); at `level` L the steps are h / 2^L (Richardson's finer level).
struct StencilOffset {
  int i;
  int sign_i;
  int j;
  int sign_j;
  int level;
};

// Offsets of the single-level layouts (central, compact).
HESSA_HD inline StencilOffset single_level_offset(StencilKind kind, int n, int64_t e) {
  StencilOffset off{-1, 0, -1, 0, 0};
  if (e == 0) return off;
  if (e <= 2 * int64_t(n)) {
    off.i = int((e - 1) / 2);
    off.sign_i = ((e - 1) % 2 == 0) ? 1 : -1;
    return off;
  }
  const int64_t m = e - (2 * int64_t(n) + 1);
  const int per_pair = kind == StencilKind::Central ? 4 : 2;
  const int combo = int(m % per_pair);
  pair_from_number(n, m / per_pair, &off.i, &off.j);
  if (kind == StencilKind::Central) {
    off.sign_i = combo < 2 ? 1 : -1;
    off.sign_j = (combo % 2 == 0) ? 1 : -1;
  } else {
    off.sign_i = combo == 0 ? 1 : -1;
    off.sign_j = off.sign_i;
  }
  return off;
}

// For the finite-difference kinds (not HyperDual): Richardson is the central layout at levels 0 and 1.
HESSA_HD inline StencilOffset stencil_offset(StencilKind kind, int n, int64_t e) {
  if (kind != StencilKind::Richardson) return single_level_offset(kind, n, e);
  const int64_t per_level = stencil_size(StencilKind::Central, n);
  StencilOffset off = single_level_offset(StencilKind::Central, n, e % per_level);
  off.level = int(e / per_level);
  return off;
}

// The gradient stencil's evaluation e: the axis layout of central (e = 0 the point, 1 + 2i / 2 + 2i its +- h_i e_i).
HESSA_HD inline StencilOffset gradient_offset(int n, int64_t e) {
  return single_level_offset(StencilKind::Central, n, e);
}

HESSA_HD inline int64_t axis_eval(int i, int sign) { return 1 + 2 * int64_t(i) + (sign > 0 ? 0 : 1); }

HESSA_HD inline int64_t pair_eval(StencilKind kind, int n, int i, int j, int combo) {
  const int per_pair = kind == StencilKind::Central ? 4 : 2;
  return 2 * int64_t(n) + 1 + per_pair * pair_number(n, i, j) + combo;
}

// A point seen through a stencil offset: coordinates are perturbed on read, nothing is copied.
struct PerturbedPoint {
  const double* x;
  int i;
  double di;
  int j;
  double dj;
  HESSA_HD double operator()(int k) const {
    double v = x[k];
    if (k == i) v += di;
    if (k == j) v += dj;
    return v;
  }
};

// The relative step of a level: h / 2^level (exact in binary).
HESSA_HD inline double level_scale(double scale, int level) { return level == 0 ? scale : ldexp(scale, -level); }

HESSA_HD inline PerturbedPoint perturbed_point(const double* x, const StencilOffset& off, double base_scale) {
  const double scale = level_scale(base_scale, off.level);
  PerturbedPoint p{x, off.i, 0.0, off.j, 0.0};
  if (off.i >= 0) p.di = off.sign_i * fd_step(x[off.i], scale);
  if (off.j >= 0) p.dj = off.sign_j * fd_step(x[off.j], scale);
  return p;
}

// g_i = (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i), O(h^2).
HESSA_HD inline double assemble_gradient(const double* evals, const double* x, double scale, int i) {
  const double h = fd_step(x[i], scale);
  return (evals[axis_eval(i, 1)] - evals[axis_eval(i, -1)]) / (2.0 * h);
}

// H_ij from the evaluations of one point; H_ij == H_ji bit for bit, so no symmetrization is needed.
//   diagonal:        (f(+i) - 2 f0 + f(-i)) / h_i^2                                        O(h^2)
//   central mixed:   (f(++) - f(+-) - f(-+) + f(--)) / (4 h_i h_j)                         O(h^2)
//   compact mixed:   (f(++) - f(+i) - f(+j) + 2 f0 - f(-i) - f(-j) + f(--)) / (2 h_i h_j)  O(h^2)
HESSA_HD inline double assemble_hessian_entry(StencilKind kind, int n, const double* evals, const double* x,
                                              double scale, int row, int col) {
  if (row == col) {
    const double h = fd_step(x[row], scale);
    return (evals[axis_eval(row, 1)] - 2.0 * evals[0] + evals[axis_eval(row, -1)]) / (h * h);
  }
  const int i = row < col ? row : col;
  const int j = row < col ? col : row;
  const double hi = fd_step(x[i], scale);
  const double hj = fd_step(x[j], scale);
  if (kind == StencilKind::Central) {
    const double fpp = evals[pair_eval(kind, n, i, j, 0)];
    const double fpm = evals[pair_eval(kind, n, i, j, 1)];
    const double fmp = evals[pair_eval(kind, n, i, j, 2)];
    const double fmm = evals[pair_eval(kind, n, i, j, 3)];
    return ((fpp - fpm) - (fmp - fmm)) / (4.0 * hi * hj);
  }
  const double fpp = evals[pair_eval(kind, n, i, j, 0)];
  const double fmm = evals[pair_eval(kind, n, i, j, 1)];
  const double axes =
      evals[axis_eval(i, 1)] + evals[axis_eval(j, 1)] + evals[axis_eval(i, -1)] + evals[axis_eval(j, -1)];
  return ((fpp + fmm) - axes + 2.0 * evals[0]) / (2.0 * hi * hj);
}

// Richardson extrapolation of two O(h^2) estimates at h and h/2: (4 D(h/2) - D(h)) / 3 is O(h^4), and
// |D(h/2) - D(h)| / 3 estimates the error of D(h/2) - a conservative bound for the extrapolated value.
HESSA_HD inline double richardson_value(double coarse, double fine) { return (4.0 * fine - coarse) / 3.0; }
HESSA_HD inline double richardson_error(double coarse, double fine) { return fabs(fine - coarse) / 3.0; }

// Hyper-dual layout: pair (i, j), i <= j, row-major with the diagonal: number i*n - i(i-1)/2 + (j - i).
HESSA_HD inline int64_t hyperdual_eval(int n, int i, int j) {
  const int64_t r = i;
  return r * n - r * (r - 1) / 2 + (j - i);
}

HESSA_HD inline void hyperdual_pair(int n, int64_t e, int* i, int* j) {
  // Row i holds n - i entries; a short scan is exact and cheap next to a hyper-dual evaluation.
  int row = 0;
  int64_t first = 0;
  while (first + (n - row) <= e) {
    first += n - row;
    ++row;
  }
  *i = row;
  *j = row + int(e - first);
}

// Rounding-error model of the central/compact FD Hessian: each entry combines stencil values of size up to
// f_max with O(1) weights, divided by h_i h_j, so it carries ~4 eps f_max / (h_i h_j). Truncation (~h^2 f''''/12)
// is not modelled: the Richardson stencil measures it.
HESSA_HD inline double fd_rounding_error(double f_max, double hi, double hj) {
  return 4.0 * 2.220446049250313e-16 * f_max / (hi * hj);
}

// An entry of g or H with an estimate of its error.
struct Estimate {
  double value;
  double error;
};

// Largest |stencil value| of a point: the scale of the FD rounding error.
HESSA_HD inline double max_abs_value(const double* evals, int64_t count) {
  double m = 0.0;
  for (int64_t k = 0; k < count; ++k) m = fmax(m, fabs(evals[k]));
  return m;
}

// Rounding model of a hyper-dual derivative: exact up to the rounding of its own arithmetic, a few ulps of
// the value (no cancellation between stencil points, unlike FD).
HESSA_HD inline double hyperdual_rounding_error(double value) { return 16.0 * 2.220446049250313e-16 * fabs(value); }

// Gradient stencil: entry r of the gradient at evaluation e, and the one-sided column entry
// A_rc = (g_r(x + h_c e_c) - g_r(x - h_c e_c)) / (2 h_c).
HESSA_HD inline double gradient_entry(int n, const double* evals, int64_t e, int r) {
  return evals[e * (n + 1) + 1 + r];
}
HESSA_HD inline double gradient_difference(int n, const double* evals, const double* x, double scale, int r, int c) {
  const double h = fd_step(x[c], scale);
  return (gradient_entry(n, evals, axis_eval(c, 1), r) - gradient_entry(n, evals, axis_eval(c, -1), r)) / (2.0 * h);
}
// Rounding of a gradient difference: each reverse-mode g carries a few ulps of the largest |g| g_max, divided by
// 2 h_c; 4 eps g_max / h_c bounds it with a margin.
HESSA_HD inline double gradient_rounding_error(double g_max, double h) {
  return 4.0 * 2.220446049250313e-16 * g_max / h;
}

// Exact stencil: sweep j's column entry H_rj (its f is at 0, g_j at 1).
HESSA_HD inline double exact_column_entry(int n, const double* evals, int r, int j) {
  return evals[int64_t(j) * (n + 2) + 2 + r];
}

// The scale of a point's rounding error: the largest |stencil value| for value stencils, the largest |g| of any
// evaluation for the gradient stencil, 0 for the exact kinds (their model is relative to each entry).
HESSA_HD inline double error_scale(StencilKind kind, int n, const double* evals) {
  if (kind == StencilKind::HyperDual || kind == StencilKind::Exact) return 0.0;
  if (kind != StencilKind::Gradient) return max_abs_value(evals, stencil_size(kind, n));
  double m = 0.0;
  for (int64_t e = 0; e < stencil_size(kind, n); ++e) {
    for (int r = 0; r < n; ++r) m = fmax(m, fabs(gradient_entry(n, evals, e, r)));
  }
  return m;
}

// H_rc and its error estimate for any stencil kind. f_max = error_scale of the point's stencil values.
HESSA_HD inline Estimate hessian_estimate(StencilKind kind, int n, const double* evals, const double* x, double scale,
                                          int r, int c, double f_max) {
  const int i = r < c ? r : c;
  const int j = r < c ? c : r;
  if (kind == StencilKind::Gradient) {
    // The mean of the two one-sided estimates; half their difference is a measured error (truncation and
    // rounding both show in it), added to the rounding model of the larger-step one.
    const double a_ij = gradient_difference(n, evals, x, scale, i, j);
    const double a_ji = gradient_difference(n, evals, x, scale, j, i);
    const double h = fmin(fd_step(x[i], scale), fd_step(x[j], scale));
    return {0.5 * (a_ij + a_ji), 0.5 * fabs(a_ij - a_ji) + gradient_rounding_error(f_max, h)};
  }
  if (kind == StencilKind::Exact) {
    const double h_ij = exact_column_entry(n, evals, i, j);
    const double h_ji = exact_column_entry(n, evals, j, i);
    const double v = 0.5 * (h_ij + h_ji);
    return {v, 0.5 * fabs(h_ij - h_ji) + hyperdual_rounding_error(v)};
  }
  if (kind == StencilKind::HyperDual) {
    const double v = evals[4 * hyperdual_eval(n, i, j) + 3];
    return {v, hyperdual_rounding_error(v)};
  }
  const double hi = fd_step(x[i], scale);
  const double hj = fd_step(x[j], scale);
  if (kind != StencilKind::Richardson) {
    return {assemble_hessian_entry(kind, n, evals, x, scale, r, c), fd_rounding_error(f_max, hi, hj)};
  }
  const int64_t per_level = stencil_size(StencilKind::Central, n);
  const double coarse = assemble_hessian_entry(StencilKind::Central, n, evals, x, scale, r, c);
  const double fine =
      assemble_hessian_entry(StencilKind::Central, n, evals + per_level, x, level_scale(scale, 1), r, c);
  return {richardson_value(coarse, fine),
          richardson_error(coarse, fine) + fd_rounding_error(f_max, 0.5 * hi, 0.5 * hj)};
}

// g_i and its error estimate for any stencil kind (central rounding: ~eps f_max / h_i).
HESSA_HD inline Estimate gradient_estimate(StencilKind kind, int n, const double* evals, const double* x, double scale,
                                           int i, double f_max) {
  if (kind == StencilKind::HyperDual || uses_gradients(kind)) {
    // Exact to rounding: reverse mode (at x itself, for Gradient) or the e1 part of a hyper-dual value.
    const double v = kind == StencilKind::HyperDual  ? evals[4 * hyperdual_eval(n, i, i) + 1]
                     : kind == StencilKind::Gradient ? gradient_entry(n, evals, 0, i)
                                                     : evals[int64_t(i) * (n + 2) + 1];
    return {v, hyperdual_rounding_error(v)};
  }
  const double h = fd_step(x[i], scale);
  const double rounding = 2.220446049250313e-16 * f_max / h;
  if (kind != StencilKind::Richardson) return {assemble_gradient(evals, x, scale, i), rounding};
  const int64_t per_level = stencil_size(StencilKind::Central, n);
  const double coarse = assemble_gradient(evals, x, scale, i);
  const double fine = assemble_gradient(evals + per_level, x, level_scale(scale, 1), i);
  return {richardson_value(coarse, fine), richardson_error(coarse, fine) + 2.0 * rounding};
}

// f(x) from a point's stencil values (the first evaluation is unperturbed, or its real part).
HESSA_HD inline double center_value(const double* evals) { return evals[0]; }

// Frobenius norm of H's error estimates and 2-norm of g's, for the error-aware classification.
HESSA_HD inline void error_norms(StencilKind kind, int n, const double* evals, const double* x, double scale,
                                 double* hess_err, double* grad_err) {
  const double f_max = error_scale(kind, n, evals);
  double h2 = 0.0;
  double g2 = 0.0;
  for (int c = 0; c < n; ++c) {
    const double eg = gradient_estimate(kind, n, evals, x, scale, c, f_max).error;
    g2 += eg * eg;
    for (int r = 0; r < n; ++r) {
      const double e = hessian_estimate(kind, n, evals, x, scale, r, c, f_max).error;
      h2 += e * e;
    }
  }
  *hess_err = sqrt(h2);
  *grad_err = sqrt(g2);
}

// Seeds of hyper-dual evaluation e: x_i + e1, x_j + e2 (both on x_i when i == j).
template <class T>
struct HyperDualPoint {
  const double* x;
  int i;
  int j;
  HESSA_HD T operator()(int k) const {
    T v(x[k]);
    if (k == i) v.b = 1.0;
    if (k == j) v.c = 1.0;
    return v;
  }
};

// A point y of an affine subspace (origin + sum_a y_a d_a; k directions of n coordinates, row-major) seen through
// hyper-dual seeds on y_i (e1) and y_j (e2): coordinate m is the mapped value, with e1 part d_im and e2 part d_jm.
// The real part is summed in AffineSubspace::map's order, so on the CPU it is, bit for bit, the point a
// materialized stencil evaluates; on the device nvcc may contract the products into FMAs differently in the two
// paths, so there they agree to rounding (what the CPU/GPU parity tests allow), not bit for bit.
template <class T>
struct SubspaceHyperDualPoint {
  const double* y;
  const double* origin;
  const double* directions;
  int k;
  int n;
  int i;
  int j;
  HESSA_HD T operator()(int m) const {
    double v = origin[m];
    for (int a = 0; a < k; ++a) v += y[a] * directions[int64_t(a) * n + m];
    T t(v);
    t.b = directions[int64_t(i) * n + m];
    t.c = directions[int64_t(j) * n + m];
    return t;
  }
};

}  // namespace hessa::detail
