// hessa's vocabulary types: what a stencil, an analyzed point, a Jacobian mode and a model's activation / loss
// are. Public (namespace hessa) because every API speaks them, and plain (no HESSA_HD, no functions, no CUDA) so
// that host code, the shared per-element math in detail/ and device code all use these same declarations.
#pragma once

#include <stdint.h>

namespace hessa {

// How H is formed (layouts in detail/stencil.hpp): finite differences of values (Central, Compact, Richardson),
// hyper-dual numbers (HyperDual, exact), finite differences of reverse-mode gradients (Gradient), or
// forward-over-reverse sweeps, one per coordinate (Exact). `auto` is a choice among these (choose_stencil).
enum class StencilKind : int32_t { Central = 0, Compact = 1, Richardson = 2, HyperDual = 3, Gradient = 4, Exact = 5 };

enum class PointClass : int8_t { Unknown = 0, Minimum, Maximum, Saddle, Degenerate, Noncritical };

enum class PointStatus : int8_t {
  Ok = 0,
  NonfiniteF,         // f was NaN/Inf at the point or at one of its stencil points
  EigenNotConverged,  // the eigensolver reported failure for this point's Hessian
};

// When is a gradient "zero" and an eigenvalue "zero"? FD noise, not machine epsilon, sets the scale.
struct Thresholds {
  double gtol;     // critical point when ||g||_2 <= gtol
  double eig_tol;  // |lambda| <= eig_tol + eig_rtol * max|lambda|  counts as zero
  double eig_rtol;
};

// One analyzed point, as both backends write it (detail/analysis.hpp computes it).
struct PointAnalysis {
  double f;
  double grad_norm;
  double lambda_min;
  double lambda_max;
  double lr_max;        // 1 / lambda_max when lambda_max > 0, else NaN
  double gHg;           // g' H g
  double step_opt;      // g'g / g'Hg when g'Hg > 0, else NaN
  double step;          // the step taken for taylor_pred / f_step: --lr if given, else step_opt
  double taylor_pred;   // f - step g'g + step^2/2 g'Hg
  double f_step;        // f(x - step g)
  double hess_err;      // estimated ||E||_F of the Hessian's error (>= ||E||_2, which bounds each eigenvalue's)
  double grad_err;      // estimated ||error of g||_2
  double confidence;    // deciding quantity / its band: > 1 decided, <= 1 not (see detail::classify)
  int32_t morse_index;  // number of eigenvalues below -band
  PointClass point_class;
  PointStatus status;
  int8_t uphill;  // 1: f_step > f, 0: not, -1: no step was taken
};

// Jacobian evaluation modes (layouts in detail/jacobian.hpp).
enum class JacobianMode : int32_t { Central = 0, Richardson = 1, Dual = 2 };

// A model's activation and loss (formulas in detail/mlp.hpp).
enum class Activation : int32_t { Tanh = 0, Relu = 1, Sigmoid = 2, Gelu = 3 };
enum class LossKind : int32_t { Mse = 0, CrossEntropy = 1, Logistic = 2 };

}  // namespace hessa
