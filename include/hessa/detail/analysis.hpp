// Per-point analysis (Deep Learning book §4.3): second-derivative test, curvature-limited learning
// rate 1/lambda_max, optimal gradient step g'g / g'Hg and its second-order Taylor prediction.
// Shared by the CPU backend and the CUDA kernels.
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/detail/interpreter.hpp"
#include "hessa/hd.hpp"
#include "hessa/types.hpp"

namespace hessa::detail {

HESSA_HD inline double nan_value() { return ::nan(""); }

HESSA_HD inline PointAnalysis failed_point(double f, PointStatus status) {
  const double q = nan_value();
  PointAnalysis a{f, q, q, q, q, q, q, q, q, q, q, q, q, -1, PointClass::Unknown, status, -1};
  return a;
}

// Second-derivative test on ascending eigenvalues `lambda` (n of them), aware of the Hessian's error:
// by Weyl's inequality each eigenvalue of the computed H is within ||E||_2 <= ||E||_F = hess_err of the true
// one, so an eigenvalue counts as zero inside the band  eig_tol + eig_rtol max|lambda| + hess_err.
//   ||g|| > gtol + grad_err -> noncritical; else all lambda > band -> minimum; all < -band -> maximum;
//   some > band and some < -band -> saddle (the mixed signs decide even with zeros); otherwise degenerate.
// confidence = the deciding quantity over its band: lambda_min (minimum), -lambda_max (maximum),
// min(-lambda_min, lambda_max) (saddle), min|lambda| (degenerate, so <= 1), ||g|| / (gtol + grad_err)
// (noncritical). > 1 means the label's sign is outside the uncertainty.
HESSA_HD inline void classify(const double* lambda, int n, const Thresholds& t, double hess_err, double grad_err,
                              PointAnalysis* a) {
  const double scale = fmax(fabs(lambda[0]), fabs(lambda[n - 1]));
  const double band = t.eig_tol + t.eig_rtol * scale + hess_err;
  int negative = 0;
  int positive = 0;
  double smallest = fabs(lambda[0]);
  for (int k = 0; k < n; ++k) {
    if (lambda[k] < -band) ++negative;
    if (lambda[k] > band) ++positive;
    smallest = fmin(smallest, fabs(lambda[k]));
  }
  a->lambda_min = lambda[0];
  a->lambda_max = lambda[n - 1];
  a->morse_index = negative;
  a->hess_err = hess_err;
  a->grad_err = grad_err;
  const double gband = t.gtol + grad_err;
  const double safe_band = band > 0.0 ? band : 1e-300;
  if (!(a->grad_norm <= gband)) {
    a->point_class = PointClass::Noncritical;
    a->confidence = a->grad_norm / (gband > 0.0 ? gband : 1e-300);
  } else if (positive == n) {
    a->point_class = PointClass::Minimum;
    a->confidence = lambda[0] / safe_band;
  } else if (negative == n) {
    a->point_class = PointClass::Maximum;
    a->confidence = -lambda[n - 1] / safe_band;
  } else if (positive > 0 && negative > 0) {
    a->point_class = PointClass::Saddle;
    a->confidence = fmin(-lambda[0], lambda[n - 1]) / safe_band;
  } else {
    a->point_class = PointClass::Degenerate;
    a->confidence = smallest / safe_band;
  }
}

// The point x - eps g, computed on read.
struct GradientStepPoint {
  const double* x;
  const double* g;
  double eps;
  HESSA_HD double operator()(int k) const { return x[k] - eps * g[k]; }
};

// f(x - step g) once evaluated: uphill when it exceeds f.
HESSA_HD inline void set_step_value(PointAnalysis* a, double f_step) {
  a->f_step = f_step;
  a->uphill = f_step > a->f ? 1 : 0;
}

// True when analyze_step chose a step whose f(x - step g) is still to be evaluated (taylor_pred is set).
HESSA_HD inline bool step_pending(const PointAnalysis& a) {
  return a.status == PointStatus::Ok && isfinite(a.taylor_pred);
}

// The step quantities from g'g and g'Hg (and lambda_max, already set): lr_max, step_opt, step, taylor_pred.
// True when a step is taken, whose f(x - step g) the caller then evaluates (set_step_value).
HESSA_HD inline bool step_from_terms(double gg, double gHg, double lr, PointAnalysis* a) {
  a->gHg = gHg;
  a->lr_max = a->lambda_max > 0.0 ? 1.0 / a->lambda_max : nan_value();
  a->step_opt = gHg > 0.0 ? gg / gHg : nan_value();
  a->step = lr > 0.0 ? lr : a->step_opt;
  if (!(a->step > 0.0) || gg == 0.0) {
    a->taylor_pred = nan_value();
    a->f_step = nan_value();
    a->uphill = -1;
    return false;
  }
  const double eps = a->step;
  a->taylor_pred = a->f - eps * gg + 0.5 * eps * eps * gHg;
  return true;
}

// Quantities of the gradient step x -> x - eps g (second-order Taylor model):
//   f(x - eps g) ~ f - eps g'g + eps^2/2 g'Hg; best eps* = g'g / g'Hg when g'Hg > 0.
// `H` is column-major n x n. `lr` <= 0 means "use eps*".
HESSA_HD inline void analyze_step(const ProgramView& program, const double* x, const double* g, const double* H, int n,
                                  double lr, PointAnalysis* a) {
  double gg = 0.0;
  double gHg = 0.0;
  for (int c = 0; c < n; ++c) {
    double Hg_c = 0.0;
    for (int r = 0; r < n; ++r) Hg_c += H[int64_t(c) * n + r] * g[r];
    gHg += g[c] * Hg_c;
    gg += g[c] * g[c];
  }
  if (!step_from_terms(gg, gHg, lr, a)) return;
  // Without a program (model losses, subspaces) the caller evaluates f(x - eps g) in a batch: set_step_value.
  if (program.code == nullptr) return;
  const GradientStepPoint view{x, g, a->step};
  set_step_value(a, evaluate<double>(program, view));
}

// Along a direction d (--direction): g'd, d'Hd (H column-major) and the curvature d'Hd / d'd.
struct DirectionalTerms {
  double gd;
  double dHd;
  double curvature;
};
HESSA_HD inline DirectionalTerms directional_terms(int n, const double* d, const double* g, const double* H) {
  double dd = 0.0, gd = 0.0, dHd = 0.0;
  for (int c = 0; c < n; ++c) {
    double Hd = 0.0;  // (H d)_c: H is symmetric, so column c is row c
    for (int r = 0; r < n; ++r) Hd += H[int64_t(c) * n + r] * d[r];
    dHd += d[c] * Hd;
    gd += g[c] * d[c];
    dd += d[c] * d[c];
  }
  return {gd, dHd, dHd / dd};
}
// The same terms from a Hessian-vector product hv = H d (formed without H).
HESSA_HD inline DirectionalTerms directional_terms_from_hv(int n, const double* d, const double* g, const double* hv) {
  double dd = 0.0, gd = 0.0, dHd = 0.0;
  for (int c = 0; c < n; ++c) {
    dHd += d[c] * hv[c];
    gd += g[c] * d[c];
    dd += d[c] * d[c];
  }
  return {gd, dHd, dHd / dd};
}
// The quadratic model's f(x + d): f + g'd + d'Hd / 2 (the second-order Taylor prediction of the step d).
HESSA_HD inline double quadratic_prediction(double f, const DirectionalTerms& t) { return f + t.gd + 0.5 * t.dHd; }

HESSA_HD inline bool all_finite(const double* v, int64_t count) {
  for (int64_t k = 0; k < count; ++k)
    if (!isfinite(v[k])) return false;
  return true;
}

}  // namespace hessa::detail

namespace hessa::detail {

// The whole per-point analysis, as both backends run it: x, g (n), H (n x n column-major) and the ascending
// eigenvalues w (n) of one point; `eigen_info` is the eigensolver's status for this point (0 = converged);
// hess_err / grad_err are the stencil's error estimates (detail::error_norms).
HESSA_HD inline PointAnalysis analyze_point(const ProgramView& program, const double* x, double f, const double* g,
                                            const double* H, const double* w, int n, PointStatus status, int eigen_info,
                                            double hess_err, double grad_err, const Thresholds& thresholds, double lr) {
  if (status != PointStatus::Ok) return failed_point(f, status);
  if (eigen_info != 0) return failed_point(f, PointStatus::EigenNotConverged);
  PointAnalysis a = failed_point(f, PointStatus::Ok);
  double gg = 0.0;
  for (int i = 0; i < n; ++i) gg += g[i] * g[i];
  a.grad_norm = sqrt(gg);
  classify(w, n, thresholds, hess_err, grad_err, &a);
  analyze_step(program, x, g, H, n, lr, &a);
  return a;
}

}  // namespace hessa::detail
