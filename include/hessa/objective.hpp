// What a backend analyzes: an expression, or a model loss, optionally restricted to an affine subspace
// y -> origin + sum_a y_a d_a (a direction scan's k x k Hessian of (alpha, beta) -> f(centre + alpha d1 + beta d2)).
#pragma once

#include <cstddef>
#include <vector>

#include "hessa/expression.hpp"
#include "hessa/model.hpp"

namespace hessa {

struct AffineSubspace {
  int k = 0;                       // the subspace's coordinates (directions)
  int n = 0;                       // the function's coordinates
  std::vector<double> origin;      // n
  std::vector<double> directions;  // k x n, row-major: direction a is directions[a n .. a n + n)

  // x = origin + sum_a y[a] d_a (n values) for a point y of k coordinates.
  void map(const double* y, double* x) const;
};

// A caller's vectorized function of n coordinates (Python's hessa.analyze(fn, points)): f, and optionally its
// gradient, at m points at once. The CPU backend calls it from one thread at a time with up to block_points()
// points, so that a call into an interpreter is paid per block, not per evaluation. It may throw: the run stops
// and the exception reaches the caller unchanged. Values may be NaN / Inf (that point's status says so).
class BatchFunction {
 public:
  virtual ~BatchFunction() = default;
  virtual int dimension() const = 0;
  // values[i] = f(x_i) for the m rows of x (m x n, row-major).
  virtual void values(const double* x, std::size_t m, double* values) const = 0;
  // True when gradients() is implemented (the gradient stencil).
  virtual bool has_gradient() const { return false; }
  // values[i] = f(x_i) and g[i n, i n + n) = grad f(x_i).
  virtual void gradients(const double* x, std::size_t m, double* values, double* g) const;
  // The most points one call receives.
  virtual std::size_t block_points() const { return std::size_t(1) << 16; }
};

// Exactly one of expression / model / batch is set; the pointed-to objects outlive every analyze() call.
struct Objective {
  const CompiledFunction* expression = nullptr;
  const MlpModel* model = nullptr;
  const BatchFunction* batch = nullptr;
  const AffineSubspace* subspace = nullptr;  // when set, points have subspace->k coordinates

  // Coordinates of the function itself (an expression's n, a model's parameter count).
  int inner_dimension() const {
    if (expression != nullptr) return expression->dimension();
    if (batch != nullptr) return batch->dimension();
    return model != nullptr ? int(model->parameter_count()) : 0;
  }
  // Coordinates of the points analyzed (and of g, H): k when restricted, else inner_dimension().
  int dimension() const { return subspace ? subspace->k : inner_dimension(); }
  // An expression on its own coordinates: the backends' perturb-on-read fast path.
  bool plain_expression() const { return expression != nullptr && subspace == nullptr; }
};

}  // namespace hessa
