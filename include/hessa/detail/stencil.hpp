// Finite-difference stencils: which perturbed points to evaluate and how to assemble g and H from them.
// Shared by the CPU backend and the CUDA kernels. All formulas are central differences, O(h^2).
//
// Evaluation layout for one point (index e):
//   e = 0                 f(x)
//   e = 1 + 2i (+0 / +1)  f(x + h_i e_i) / f(x - h_i e_i)
//   then, for each pair i < j in row-major order (pair p):
//     central: 4 evaluations  f(x ± h_i e_i ± h_j e_j) in sign order (++, +-, -+, --)   -> 2n^2 + 1 in all
//     compact: 2 evaluations  f(x + h_i e_i + h_j e_j), f(x - h_i e_i - h_j e_j)        -> n^2 + n + 1 in all
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

enum class StencilKind : int32_t { Central = 0, Compact = 1 };

HESSA_HD inline int64_t stencil_size(StencilKind kind, int n) {
  const int64_t nn = n;
  return kind == StencilKind::Central ? 2 * nn * nn + 1 : nn * nn + nn + 1;
}

// Step h_i = scale * max(|x_i|, 1), rounded so that x_i + h_i - x_i == h_i exactly: the difference
// quotient then divides by the step actually taken, not the one intended.
HESSA_HD inline double fd_step(double xi, double scale) {
  const double h = scale * fmax(fabs(xi), 1.0);
  const volatile double shifted = xi + h;  // volatile: keep the rounding that makes h representable
  return shifted - xi;
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
// (i or j is -1 when unused).
struct StencilOffset {
  int i;
  int sign_i;
  int j;
  int sign_j;
};

HESSA_HD inline StencilOffset stencil_offset(StencilKind kind, int n, int64_t e) {
  StencilOffset off{-1, 0, -1, 0};
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

HESSA_HD inline PerturbedPoint perturbed_point(const double* x, const StencilOffset& off, double scale) {
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
  const double axes = evals[axis_eval(i, 1)] + evals[axis_eval(j, 1)] + evals[axis_eval(i, -1)] +
                      evals[axis_eval(j, -1)];
  return ((fpp + fmm) - axes + 2.0 * evals[0]) / (2.0 * hi * hj);
}

}  // namespace hessa::detail
