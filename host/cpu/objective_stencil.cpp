// CPU stencil stage for objectives that are not a plain expression (model losses, affine subspaces): each
// stencil point is written out in the function's own coordinates and evaluated in blocks, so a model loss runs
// as BLAS GEMMs over a block of parameter vectors. Same evaluation layout as stencil.cpp (detail/stencil.hpp).
#include <algorithm>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cpu {
namespace {

// Stencil points materialized and evaluated at once per thread: enough to amortize a call, few enough that
// n x 32 doubles stay in cache for moderate n.
constexpr std::int64_t kBlockPoints = 32;

}  // namespace

void evaluate_objective_points(const Objective& f, const double* x, std::size_t count, double* values,
                               std::vector<double>& scratch) {
  if (f.model != nullptr) {
    mlp_loss(*f.model, x, count, values, scratch);
    return;
  }
  if (f.batch != nullptr) {
    f.batch->values(x, count, values);
    return;
  }
  const auto n = std::size_t(f.inner_dimension());
  for (std::size_t i = 0; i < count; ++i) values[i] = (*f.expression)(x + i * n);
}

namespace {

// Hyper-dual evaluations (exact g and H, 4 doubles each) of a model or a subspace: evaluation e of a point seeds
// coordinates i and j of its pair (hyperdual_pair); a model runs the direct forward pass on hyper-dual numbers,
// an expression the interpreter, the subspace mapping the seeds as it maps the point.
void evaluate_objective_hyperdual(const Objective& f, const double* points, std::size_t count, double* evals) {
  const int k = f.dimension();
  const int n = f.inner_dimension();
  const std::int64_t per_point = detail::stencil_size(StencilKind::HyperDual, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  const detail::MlpView model = f.model != nullptr ? f.model->view() : detail::MlpView{};
  const detail::ProgramView program = f.expression != nullptr ? f.expression->view() : detail::ProgramView{};
#pragma omp parallel
  {
    std::vector<detail::HyperDual> scratch(f.model != nullptr ? 2 * std::size_t(model.max_width) : 0);
#pragma omp for schedule(dynamic, 4)
    for (std::int64_t t = 0; t < total; ++t) {
      int i = 0, j = 0;
      detail::hyperdual_pair(k, t % per_point, &i, &j);
      const double* y = points + (t / per_point) * k;
      detail::HyperDual v;
      if (f.subspace != nullptr) {
        const detail::SubspaceHyperDualPoint<detail::HyperDual> seeded{
            y, f.subspace->origin.data(), f.subspace->directions.data(), k, n, i, j};
        v = f.model != nullptr ? detail::mlp_loss_direct(model, seeded, scratch.data())
                               : detail::evaluate<detail::HyperDual>(program, seeded);
      } else {
        v = detail::mlp_loss_direct(model, detail::HyperDualPoint<detail::HyperDual>{y, i, j}, scratch.data());
      }
      evals[4 * t + 0] = v.a;
      evals[4 * t + 1] = v.b;
      evals[4 * t + 2] = v.c;
      evals[4 * t + 3] = v.d;
    }
  }
}

}  // namespace

void evaluate_objective_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                                std::size_t count, double* evals) {
  if (f.batch != nullptr) {
    batch_function_stencil(f, kind, step_scale, points, count, evals);  // blocks of calls on this thread
    return;
  }
  if (detail::uses_gradients(kind)) {
    evaluate_objective_gradient_stencil(f, kind, step_scale, points, count, evals);
    return;
  }
  if (kind == StencilKind::HyperDual) {
    evaluate_objective_hyperdual(f, points, count, evals);
    return;
  }
  if (f.model != nullptr && f.subspace == nullptr) {
    mlp_stencil(*f.model, kind, step_scale, points, count, evals);  // a full Hessian: layer-wise reuse
    return;
  }
  use_single_threaded_blas();
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
  const std::int64_t per_point = detail::stencil_size(kind, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  const std::int64_t blocks = (total + kBlockPoints - 1) / kBlockPoints;
#pragma omp parallel
  {
    std::vector<double> x(std::size_t(kBlockPoints) * n), y(static_cast<std::size_t>(k)), scratch;
#pragma omp for schedule(dynamic)
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t first = block * kBlockPoints;
      const std::int64_t lanes = std::min(kBlockPoints, total - first);
      for (std::int64_t l = 0; l < lanes; ++l) {
        const std::int64_t p = (first + l) / per_point, e = (first + l) % per_point;
        const detail::PerturbedPoint view =
            detail::perturbed_point(points + p * k, detail::stencil_offset(kind, k, e), step_scale);
        materialize(f, view, y.data(), x.data() + std::size_t(l) * n);
      }
      evaluate_objective_points(f, x.data(), std::size_t(lanes), evals + first, scratch);
    }
  }
}

std::vector<std::int64_t> pending_steps(const PointAnalysis* out, std::size_t count) {
  std::vector<std::int64_t> pending;
  for (std::size_t p = 0; p < count; ++p)
    if (detail::step_pending(out[p])) pending.push_back(std::int64_t(p));
  return pending;
}

void evaluate_gradient_steps(const Objective& f, const double* points, const double* g, std::size_t count,
                             PointAnalysis* out) {
  if (f.batch != nullptr) {
    batch_function_gradient_steps(f, points, g, count, out);
    return;
  }
  use_single_threaded_blas();
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
  const std::vector<std::int64_t> pending = pending_steps(out, count);
  const auto total = std::int64_t(pending.size());
  const std::int64_t blocks = (total + kBlockPoints - 1) / kBlockPoints;
#pragma omp parallel
  {
    std::vector<double> x(std::size_t(kBlockPoints) * n), y(static_cast<std::size_t>(k)), values(kBlockPoints), scratch;
#pragma omp for schedule(dynamic)
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t first = block * kBlockPoints;
      const std::int64_t lanes = std::min(kBlockPoints, total - first);
      for (std::int64_t l = 0; l < lanes; ++l) {
        const std::int64_t p = pending[std::size_t(first + l)];
        const detail::GradientStepPoint view{points + p * k, g + p * k, out[p].step};
        materialize(f, view, y.data(), x.data() + std::size_t(l) * n);
      }
      evaluate_objective_points(f, x.data(), std::size_t(lanes), values.data(), scratch);
      for (std::int64_t l = 0; l < lanes; ++l)
        detail::set_step_value(&out[pending[std::size_t(first + l)]], values[std::size_t(l)]);
    }
  }
}

}  // namespace hessa::cpu
