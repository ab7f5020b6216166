// Jacobians of f: R^m -> R^k, per element: which evaluation does what, and how J is assembled from them.
// Shared by the CPU backend (host/cpu/jacobian.cpp) and the CUDA kernels (kernels/jacobian.cu).
//
// Evaluations are flattened over (point p, output i, evaluation e), e in [0, E):
//   central     E = 2m + 1:  e = 0 is f_i(x); e = 1 + 2j (+0 / +1) is f_i(x + h_j e_j) / f_i(x - h_j e_j)
//   richardson  E = 4m + 1:  as central for level 0 (step h_j), then e = 1 + 2m + 2j (+0 / +1) for level 1
//                            (step ~h_j / 2)
//   dual        E = m:       e = j runs f_i on hyper-dual numbers with x_j seeded b = 1: value f_i(x) and
//                            e1 part df_i/dx_j, exact (no step). Its e = 0 also gives f_i(x).
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/detail/analysis.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/hd.hpp"
#include "hessa/types.hpp"

namespace hessa::detail {

HESSA_HD inline int64_t jacobian_evals_per_output(JacobianMode mode, int m) {
  switch (mode) {
    case JacobianMode::Central: return 2 * int64_t(m) + 1;
    case JacobianMode::Richardson: return 4 * int64_t(m) + 1;
    case JacobianMode::Dual: break;
  }
  return m;
}

// What evaluation e of an output computes. coordinate -1: the unperturbed f(x) (FD modes only).
// sign: +1 / -1 for a step along +e_j / -e_j (0 in dual mode); level: 0 for step h_j, 1 for the halved step.
struct JacobianEval {
  int coordinate;
  int sign;
  int level;
};

HESSA_HD inline JacobianEval jacobian_eval(JacobianMode mode, int m, int64_t e) {
  if (mode == JacobianMode::Dual) return {int(e), 0, 0};
  if (e == 0) return {-1, 0, 0};
  const int64_t rest = e - 1;
  const int level = int(rest / (2 * int64_t(m)));
  const int64_t within = rest % (2 * int64_t(m));
  return {int(within / 2), within % 2 == 0 ? 1 : -1, level};
}

// Inverse of jacobian_eval for the FD modes.
HESSA_HD inline int64_t jacobian_eval_index(int m, int coordinate, int sign, int level) {
  return 1 + 2 * (int64_t(level) * m + coordinate) + (sign > 0 ? 0 : 1);
}

// Step of a level: level 0 is fd_step(x_j, s); level 1 is fd_step(x_j, s/2), itself exactly representable
// (h = (x + h) - x), so it is h_j / 2 only to ~eps|x_j| / h_j. richardson_combine uses the steps actually taken.
HESSA_HD inline double jacobian_step(double xj, double scale, int level) {
  return fd_step(xj, level == 0 ? scale : 0.5 * scale);
}

// x_j seeded with e1 (b = 1): the e1 part of f is then df/dx_j. The e2 and e1e2 parts stay zero; a plain dual
// type (a + b e1) would carry half the data and a third of the multiplications - left for later.
struct SeededPoint {
  const double* x;
  int j;
  HESSA_HD HyperDual operator()(int k) const { return k == j ? HyperDual(x[k], 1.0, 0.0, 0.0) : HyperDual(x[k]); }
};

// Where evaluation `index` of the flattened (point, output, evaluation) range belongs.
struct JacobianSlot {
  int output;         // i
  const double* x;    // the point
  JacobianEval eval;  // what to evaluate
};

HESSA_HD inline JacobianSlot jacobian_slot(int m, int k, JacobianMode mode, const double* points, int64_t index) {
  const int64_t per_output = jacobian_evals_per_output(mode, m);
  const int64_t row = index / per_output;  // p * k + i
  return {int(row % k), points + (row / k) * m, jacobian_eval(mode, m, index % per_output)};
}

// The point central / Richardson evaluation `eval` reads: x, or x moved by +-h_j along e_j.
HESSA_HD inline PerturbedPoint jacobian_stencil_point(const double* x, JacobianEval eval, double step_scale) {
  PerturbedPoint view{x, -1, 0.0, -1, 0.0};
  if (eval.coordinate >= 0) {
    view.i = eval.coordinate;
    view.di = eval.sign * jacobian_step(x[eval.coordinate], step_scale, eval.level);
  }
  return view;
}

// Central / Richardson: values[index] = f_i at the perturbed point. `programs` holds the k outputs' programs,
// all of dimension m.
HESSA_HD inline void jacobian_evaluate_fd(const ProgramView* programs, int k, JacobianMode mode, double step_scale,
                                          const double* points, int64_t index, double* values) {
  const JacobianSlot s = jacobian_slot(programs[0].n, k, mode, points, index);
  values[index] = evaluate<double>(programs[s.output], jacobian_stencil_point(s.x, s.eval, step_scale));
}

// Dual: values[index] = f_i(x) and derivs[index] = df_i/dx_j from one hyper-dual run.
HESSA_HD inline void jacobian_evaluate_dual(const ProgramView* programs, int k, const double* points, int64_t index,
                                            double* values, double* derivs) {
  const JacobianSlot s = jacobian_slot(programs[0].n, k, JacobianMode::Dual, points, index);
  const HyperDual r = evaluate<HyperDual>(programs[s.output], SeededPoint{s.x, s.eval.coordinate});
  values[index] = r.a;
  derivs[index] = r.b;
}

// Either of the above (derivs is used in dual mode only).
HESSA_HD inline void jacobian_evaluate(const ProgramView* programs, int k, JacobianMode mode, double step_scale,
                                       const double* points, int64_t index, double* values, double* derivs) {
  if (mode == JacobianMode::Dual) {
    jacobian_evaluate_dual(programs, k, points, index, values, derivs);
  } else {
    jacobian_evaluate_fd(programs, k, mode, step_scale, points, index, values);
  }
}

// (f(x + h e_j) - f(x - h e_j)) / 2h: central difference, truncation h^2 f'''/6, O(h^2).
HESSA_HD inline double central_difference(const double* values, int m, int j, int level, double h) {
  return (values[jacobian_eval_index(m, j, 1, level)] - values[jacobian_eval_index(m, j, -1, level)]) / (2.0 * h);
}

// Richardson extrapolation of D(h) = D + c h^2 + O(h^4) from steps h1 > h2 (Richardson 1911; e.g. Press et al.,
// Numerical Recipes 5.7): D ~ (h1^2 D2 - h2^2 D1) / (h1^2 - h2^2), O(h^4); for h2 = h1/2 this is
// (4 D(h/2) - D(h)) / 3. *error = the c h2^2 term removed from D2, |D2 - D1| h2^2 / (h1^2 - h2^2) ~ |D2 - D1| / 3:
// an estimate of D2's truncation error and so a conservative bound on the extrapolated value's.
HESSA_HD inline double richardson_combine(double D1, double h1, double D2, double h2, double* error) {
  const double r = (h2 * h2) / (h1 * h1 - h2 * h2);
  const double correction = (D2 - D1) * r;
  *error = fabs(correction);
  return D2 + correction;
}

// J_ij of one point from output i's evaluations (`values`, and `derivs` in dual mode) at the point x.
// *error: richardson's estimate for the entry, 0 in the other modes.
HESSA_HD inline double jacobian_entry(JacobianMode mode, int m, const double* values, const double* derivs,
                                      const double* x, double step_scale, int j, double* error) {
  *error = 0.0;
  if (mode == JacobianMode::Dual) return derivs[j];
  const double h1 = jacobian_step(x[j], step_scale, 0);
  const double D1 = central_difference(values, m, j, 0, h1);
  if (mode == JacobianMode::Central) return D1;
  const double h2 = jacobian_step(x[j], step_scale, 1);
  return richardson_combine(D1, h1, central_difference(values, m, j, 1, h2), h2, error);
}

// One point: f (k), J (k x m, row-major: J[i*m + j] = df_i/dx_j), the largest entry error estimate (max-abs
// over the k*m entries; 0 unless richardson) and the status: NonfiniteF when any evaluation (or, in dual mode,
// any derivative) is NaN/Inf. `values`/`derivs` are the point's k * E evaluations.
HESSA_HD inline PointStatus assemble_jacobian_point(JacobianMode mode, int m, int k, double step_scale, const double* x,
                                                    const double* values, const double* derivs, double* f, double* J,
                                                    double* max_error) {
  const int64_t per_output = jacobian_evals_per_output(mode, m);
  bool finite = true;
  double worst = 0.0;
  for (int i = 0; i < k; ++i) {
    const double* v = values + int64_t(i) * per_output;
    const double* d = mode == JacobianMode::Dual ? derivs + int64_t(i) * per_output : nullptr;
    f[i] = v[0];
    for (int64_t e = 0; e < per_output; ++e) finite = finite && isfinite(v[e]) && (d == nullptr || isfinite(d[e]));
    for (int j = 0; j < m; ++j) {
      double err = 0.0;
      J[int64_t(i) * m + j] = jacobian_entry(mode, m, v, d, x, step_scale, j, &err);
      worst = fmax(worst, err);
    }
  }
  *max_error = worst;
  return finite ? PointStatus::Ok : PointStatus::NonfiniteF;
}

}  // namespace hessa::detail
