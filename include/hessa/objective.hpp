// What a backend analyzes: an expression, or a model loss, optionally restricted to an affine subspace
// y -> origin + sum_a y_a d_a (a direction scan's k x k Hessian of (alpha, beta) -> f(centre + alpha d1 + beta d2)).
#pragma once

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

// Exactly one of expression / model is set; the pointed-to objects outlive every analyze() call.
struct Objective {
  const CompiledFunction* expression = nullptr;
  const MlpModel* model = nullptr;
  const AffineSubspace* subspace = nullptr;  // when set, points have subspace->k coordinates

  // Coordinates of the function itself (an expression's n, a model's parameter count).
  int inner_dimension() const {
    if (expression != nullptr) return expression->dimension();
    return model != nullptr ? int(model->parameter_count()) : 0;
  }
  // Coordinates of the points analyzed (and of g, H): k when restricted, else inner_dimension().
  int dimension() const { return subspace ? subspace->k : inner_dimension(); }
  // An expression on its own coordinates: the backends' perturb-on-read fast path.
  bool plain_expression() const { return expression != nullptr && subspace == nullptr; }
};

}  // namespace hessa
