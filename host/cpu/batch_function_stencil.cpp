// CPU stencil and gradient-step stages for a caller's vectorized function (hessa/objective.hpp, BatchFunction):
// the stencil points of a whole block are materialized (in parallel) and handed to the function in one call, on
// the calling thread, so that a Python function costs one call per block and an exception it throws unwinds
// through no OpenMP region. Same evaluation layouts as objective_stencil.cpp and objective_gradient_stencil.cpp; and
// Hessian-vector products from differences of its gradients (Lanczos, direction probes).
#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/errors.hpp"

namespace hessa::cpu {
namespace {

// Points [first, first + lanes) of a sequence materialized into x (lanes x n): point(l, view) gives the View of
// lane l, which materialize() maps into the function's coordinates.
template <class PointOf>
void materialize_block(const Objective& f, std::int64_t lanes, double* x, const PointOf& point_of) {
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
#pragma omp parallel
  {
    std::vector<double> y(static_cast<std::size_t>(k));
#pragma omp for schedule(static)
    for (std::int64_t l = 0; l < lanes; ++l) materialize(f, point_of(l), y.data(), x + std::size_t(l) * n);
  }
}

std::int64_t block_of(const Objective& f, std::int64_t total) {
  return std::max<std::int64_t>(1, std::min<std::int64_t>(total, std::int64_t(f.batch->block_points())));
}

}  // namespace

void batch_function_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                            std::size_t count, double* evals) {
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
  const std::int64_t per_point = detail::stencil_size(kind, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  if (total == 0) return;
  const std::int64_t block = block_of(f, total);
  const bool gradients = kind == StencilKind::Gradient;
  const int per_eval = detail::values_per_evaluation(kind, k);
  std::vector<double> x(std::size_t(block) * n), values, g;
  if (gradients) {
    values.resize(std::size_t(block));
    g.resize(std::size_t(block) * n);
  }
  for (std::int64_t first = 0; first < total; first += block) {
    const std::int64_t lanes = std::min(block, total - first);
    materialize_block(f, lanes, x.data(), [&](std::int64_t l) {
      const std::int64_t p = (first + l) / per_point, e = (first + l) % per_point;
      const detail::StencilOffset offset =
          gradients ? detail::gradient_offset(k, e) : detail::stencil_offset(kind, k, e);
      return detail::perturbed_point(points + p * k, offset, step_scale);
    });
    if (!gradients) {
      f.batch->values(x.data(), std::size_t(lanes), evals + first);
      continue;
    }
    f.batch->gradients(x.data(), std::size_t(lanes), values.data(), g.data());
    for (std::int64_t l = 0; l < lanes; ++l) {
      double* out = evals + (first + l) * per_eval;
      out[0] = values[std::size_t(l)];
      project_gradient(f, g.data() + std::size_t(l) * n, out + 1);
    }
  }
}

void batch_function_gradient_steps(const Objective& f, const double* points, const double* g, std::size_t count,
                                   PointAnalysis* out) {
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
  const std::vector<std::int64_t> pending = pending_steps(out, count);
  const auto total = std::int64_t(pending.size());
  if (total == 0) return;
  const std::int64_t block = block_of(f, total);
  std::vector<double> x(std::size_t(block) * n);
  std::vector<double> values(static_cast<std::size_t>(block));
  for (std::int64_t first = 0; first < total; first += block) {
    const std::int64_t lanes = std::min(block, total - first);
    materialize_block(f, lanes, x.data(), [&](std::int64_t l) {
      const std::int64_t p = pending[std::size_t(first + l)];
      return detail::GradientStepPoint{points + p * k, g + p * k, out[p].step};
    });
    f.batch->values(x.data(), std::size_t(lanes), values.data());
    for (std::int64_t l = 0; l < lanes; ++l)
      detail::set_step_value(&out[pending[std::size_t(first + l)]], values[std::size_t(l)]);
  }
}

void batch_function_hessian_vector_products(const Objective& f, const double* points, std::size_t count,
                                            const double* directions, std::size_t directions_stride, int r, double* fx,
                                            double* g, double* hv) {
  if (!f.batch->has_gradient()) {
    throw InputError(
        "Hessian-vector products of a caller's own function difference its gradients: give the "
        "gradient function (grad=)");
  }
  const auto n = std::size_t(f.inner_dimension());
  const std::int64_t per_point = 1 + 2 * std::int64_t(r);  // x, then x + h_k d_k and x - h_k d_k per direction
  const std::int64_t total = std::int64_t(count) * per_point;
  if (total == 0) return;
  // h_k: every coordinate moves by at most kGradientStepScale max(|x|_inf, 1), as the gradient stencil's steps do.
  std::vector<double> h(count * std::size_t(r));
  for (std::size_t p = 0; p < count; ++p) {
    const double* x = points + p * n;
    double scale = 1.0;
    for (std::size_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(x[i]));
    for (int k = 0; k < r; ++k) {
      const double* d = directions + p * directions_stride + std::size_t(k) * n;
      double largest = 0.0;
      for (std::size_t i = 0; i < n; ++i) largest = std::max(largest, std::abs(d[i]));
      h[p * std::size_t(r) + std::size_t(k)] = largest > 0 ? kGradientStepScale * scale / largest : 1.0;
    }
  }
  const std::int64_t block = block_of(f, total);
  std::vector<double> x(std::size_t(block) * n), values(static_cast<std::size_t>(block)), grads(std::size_t(block) * n);
  for (std::int64_t first = 0; first < total; first += block) {
    const std::int64_t lanes = std::min(block, total - first);
#pragma omp parallel for schedule(static)
    for (std::int64_t l = 0; l < lanes; ++l) {
      const std::int64_t p = (first + l) / per_point, e = (first + l) % per_point;
      const double* point = points + std::size_t(p) * n;
      double* out = x.data() + std::size_t(l) * n;
      if (e == 0) {
        std::copy(point, point + n, out);
        continue;
      }
      const std::size_t k = std::size_t(e - 1) / 2;
      const double* d = directions + std::size_t(p) * directions_stride + k * n;
      const double step = (e % 2 == 1 ? 1.0 : -1.0) * h[std::size_t(p) * std::size_t(r) + k];
      for (std::size_t i = 0; i < n; ++i) out[i] = point[i] + step * d[i];
    }
    f.batch->gradients(x.data(), std::size_t(lanes), values.data(), grads.data());
    // Lanes in order: x + h d_k (into hv) comes before x - h d_k (which completes the difference) in every block.
    for (std::int64_t l = 0; l < lanes; ++l) {
      const std::int64_t p = (first + l) / per_point, e = (first + l) % per_point;
      const double* gl = grads.data() + std::size_t(l) * n;
      if (e == 0) {
        fx[p] = values[std::size_t(l)];
        std::copy(gl, gl + n, g + std::size_t(p) * n);
        continue;
      }
      const std::size_t k = std::size_t(e - 1) / 2;
      double* out = hv + (std::size_t(p) * std::size_t(r) + k) * n;
      if (e % 2 == 1) {
        std::copy(gl, gl + n, out);
      } else {
        const double twice_h = 2.0 * h[std::size_t(p) * std::size_t(r) + k];
        for (std::size_t i = 0; i < n; ++i) out[i] = (out[i] - gl[i]) / twice_h;
      }
    }
  }
}

}  // namespace hessa::cpu
