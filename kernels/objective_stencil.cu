// The stencil stage for model losses and affine subspaces, as host/cpu/objective_stencil.cpp: every stencil point
// and gradient-step point is written out in the function's own coordinates, a batch at a time, and each batch is
// evaluated at once (cuBLAS GEMMs for a model, the shared interpreter for an expression).
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <vector>

#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/mlp.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cuda {
namespace {

// Device memory for one batch (materialized points, a model's activations): bounded so that a model with many
// parameters or samples still runs next to the chunk's buffers, large enough that one batch fills the GPU.
constexpr std::size_t kBatchBudgetBytes = std::size_t(256) << 20;

// The k coordinates of stencil evaluation t = p E + e: point p perturbed by offset e, read through a view.
struct StencilPoints {
  StencilKind kind;
  int k;
  double step_scale;
  const double* points;
  std::int64_t per_point;  // E
  __device__ detail::PerturbedPoint operator()(std::int64_t t) const {
    const std::int64_t p = t / per_point;
    return detail::perturbed_point(points + p * k, detail::stencil_offset(kind, k, t - p * per_point), step_scale);
  }
};

// The gradient step x - step g of point p. A point without a pending step gets step 0 (a finite point whose
// value is discarded), so that one pass covers the chunk with no compaction.
struct StepPoints {
  int k;
  const double* points;
  const double* g;
  const PointAnalysis* results;
  __device__ detail::GradientStepPoint operator()(std::int64_t p) const {
    const double eps = detail::step_pending(results[p]) ? results[p].step : 0.0;
    return {points + p * k, g + p * k, eps};
  }
};

// x[b n + m] = coordinate m of point first + b in the function's coordinates. Through a subspace,
// x_m = origin_m + sum_a y_a d_am, added in a's order with no FMA contraction: AffineSubspace::map's roundings.
// One thread per coordinate, so that reads of d and writes of x are coalesced.
template <class Points>
__global__ void __launch_bounds__(kThreadsPerBlock)
    materialize_kernel(Points source, int k, int n, const double* __restrict__ origin,
                       const double* __restrict__ directions, std::int64_t first, std::int64_t batch,
                       double* __restrict__ x) {
  const std::int64_t total = batch * n;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t b = i / n;
    const int m = int(i - b * n);
    const auto y = source(first + b);
    if (directions == nullptr) {
      x[i] = y(m);
      continue;
    }
    double v = origin[m];
    for (int a = 0; a < k; ++a) v = __dadd_rn(v, __dmul_rn(y(a), directions[std::int64_t(a) * n + m]));
    x[i] = v;
  }
}

// A materialized point as the interpreter reads it.
struct RowPoint {
  const double* x;
  __device__ double operator()(int c) const { return x[c]; }
};

__global__ void __launch_bounds__(kThreadsPerBlock)
    expression_kernel(detail::ProgramView f, const double* __restrict__ x, std::int64_t count,
                      double* __restrict__ values) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    values[p] = detail::evaluate<double>(f, RowPoint{x + p * f.n});
  }
}

__global__ void __launch_bounds__(kThreadsPerBlock)
    set_steps_kernel(const double* __restrict__ f_step, std::int64_t count, PointAnalysis* __restrict__ results) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    if (detail::step_pending(results[p])) detail::set_step_value(&results[p], f_step[p]);
  }
}

// Exact derivatives: evaluation t = p E + e seeds the pair (i, j) of e (hyperdual_pair) - through the subspace
// when there is one - and evaluates a model by the direct forward pass or an expression by the interpreter, on
// hyper-dual numbers (host/cpu/objective_stencil.cpp). The forward pass's scratch holds 2 max_width hyper-duals per
// evaluation of the batch, interleaved by evaluation (value m of evaluation b at scratch[m * batch + b]), so that
// neighbouring threads touch neighbouring words, as tape_stencil.cu's sweeps do.
__global__ void __launch_bounds__(kThreadsPerBlock)
    hyperdual_objective_kernel(detail::MlpView model, detail::ProgramView program, const double* __restrict__ points,
                               int k, int n, const double* __restrict__ origin, const double* __restrict__ directions,
                               std::int64_t per_point, std::int64_t first, std::int64_t batch,
                               detail::HyperDual* __restrict__ scratch, double* __restrict__ evals) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t b = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; b < batch; b += stride) {
    const std::int64_t t = first + b;
    int i = 0, j = 0;
    detail::hyperdual_pair(k, t % per_point, &i, &j);
    const double* y = points + (t / per_point) * k;
    detail::HyperDual* own = scratch + b;
    detail::HyperDual v;
    if (directions != nullptr) {
      const detail::SubspaceHyperDualPoint<detail::HyperDual> seeded{y, origin, directions, k, n, i, j};
      v = program.code == nullptr ? detail::mlp_loss_direct(model, seeded, own, batch)
                                  : detail::evaluate<detail::HyperDual>(program, seeded);
    } else {
      v = detail::mlp_loss_direct(model, detail::HyperDualPoint<detail::HyperDual>{y, i, j}, own, batch);
    }
    evals[4 * t + 0] = v.a;
    evals[4 * t + 1] = v.b;
    evals[4 * t + 2] = v.c;
    evals[4 * t + 3] = v.d;
  }
}

}  // namespace

void ObjectiveEvaluator::evaluate_hyperdual(const double* points, std::size_t count, double* evals) {
  const int k = f_.dimension();
  const std::int64_t per_point = detail::stencil_size(StencilKind::HyperDual, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  detail::MlpView model{};
  if (f_.model != nullptr) {
    model = f_.model->view();  // host pointers, replaced by their device copies
    widths_.resize(f_.model->widths.size());
    copy_to_device(widths_.data(), f_.model->widths.data(), f_.model->widths.size(), stream_);
    model.widths = widths_.data();
    model.x = mlp_->features();
    model.y = mlp_->targets();
  }
  const std::size_t per_evaluation = 2 * std::size_t(model.max_width > 0 ? model.max_width : 0);
  const std::int64_t batch =
      per_evaluation == 0
          ? total
          : std::int64_t(std::clamp<std::size_t>(kBatchBudgetBytes / (per_evaluation * sizeof(detail::HyperDual)), 1,
                                                 std::size_t(total)));
  hyperdual_scratch_.resize(std::size_t(batch) * per_evaluation);
  const bool mapped = f_.subspace != nullptr;
  const detail::ProgramView program = f_.expression != nullptr ? program_ : detail::ProgramView{nullptr, 0, 0};
  for (std::int64_t first = 0; first < total; first += batch) {
    const std::int64_t size = std::min(batch, total - first);
    hyperdual_objective_kernel<<<grid_blocks(size), kThreadsPerBlock, 0, stream_>>>(
        model, program, points, k, f_.inner_dimension(), mapped ? origin_.data() : nullptr,
        mapped ? directions_.data() : nullptr, per_point, first, size, hyperdual_scratch_.data(), evals);
    HESSA_CUDA_CHECK_LAUNCH(hyperdual_objective_kernel, stream_);
  }
}

void ObjectiveEvaluator::prepare(const Objective& f) {
  if ((f.expression == nullptr) == (f.model == nullptr))
    throw std::invalid_argument("ObjectiveEvaluator: exactly one of expression and model must be set");
  f_ = f;
  const int n = f.inner_dimension();
  const int k = f.dimension();
  if (n < 1 || k < 1) throw std::invalid_argument("ObjectiveEvaluator: the objective has no coordinates");
  if (f.expression != nullptr) {
    const std::vector<detail::Instruction>& code = f.expression->code();
    code_.resize(code.size());
    copy_to_device(code_.data(), code.data(), code.size(), stream_);
    program_ = {code_.data(), std::int32_t(code.size()), n};
  }
  if (f.subspace != nullptr) {
    const AffineSubspace& s = *f.subspace;
    if (s.n != n || s.origin.size() != std::size_t(n) || s.directions.size() != std::size_t(k) * std::size_t(n))
      throw std::invalid_argument("ObjectiveEvaluator: the subspace's sizes do not match the function");
    origin_.resize(s.origin.size());
    copy_to_device(origin_.data(), s.origin.data(), s.origin.size(), stream_);
    directions_.resize(s.directions.size());
    copy_to_device(directions_.data(), s.directions.data(), s.directions.size(), stream_);
  }
  std::size_t bytes_per_point = std::size_t(n) * sizeof(double);
  std::size_t most = std::size_t(INT_MAX);
  if (f.model != nullptr) {
    if (!mlp_) mlp_.emplace(resources_);
    mlp_->upload(*f.model);
    bytes_per_point += MlpLoss::bytes_per_vector(*f.model);
    most = MlpLoss::kMaxBatch;
  }
  batch_ = std::int64_t(std::clamp<std::size_t>(kBatchBudgetBytes / bytes_per_point, 1, most));
}

template <class Points>
void ObjectiveEvaluator::evaluate_points(const Points& source, std::int64_t total, double* values) {
  const int n = f_.inner_dimension();
  const bool mapped = f_.subspace != nullptr;
  x_.resize(std::size_t(std::min(batch_, total)) * std::size_t(n));
  // One stream: batch b + 1's materialization waits for batch b's evaluation, which reads the same x_.
  for (std::int64_t first = 0; first < total; first += batch_) {
    const std::int64_t size = std::min(batch_, total - first);
    materialize_kernel<<<grid_blocks(size * n), kThreadsPerBlock, 0, stream_>>>(
        source, f_.dimension(), n, mapped ? origin_.data() : nullptr, mapped ? directions_.data() : nullptr, first,
        size, x_.data());
    HESSA_CUDA_CHECK_LAUNCH(materialize_kernel, stream_);
    evaluate_rows(x_.data(), size, values + first);
  }
}

void ObjectiveEvaluator::evaluate_rows(const double* x, std::int64_t count, double* values) {
  if (f_.model != nullptr) {
    mlp_->evaluate(*f_.model, x, std::size_t(count), values);
    return;
  }
  expression_kernel<<<grid_blocks(count), kThreadsPerBlock, 0, stream_>>>(program_, x, count, values);
  HESSA_CUDA_CHECK_LAUNCH(expression_kernel, stream_);
}

void ObjectiveEvaluator::evaluate_stencil(StencilKind kind, double step_scale, const double* points, std::size_t count,
                                          double* evals) {
  if (count == 0) return;
  if (kind == StencilKind::HyperDual) {
    evaluate_hyperdual(points, count, evals);
    return;
  }
  const int k = f_.dimension();
  const std::int64_t per_point = detail::stencil_size(kind, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  if (total == 0) return;
  evaluate_points(StencilPoints{kind, k, step_scale, points, per_point}, total, evals);
}

void ObjectiveEvaluator::evaluate_gradient_steps(const double* points, const double* g, std::size_t count,
                                                 PointAnalysis* results) {
  if (count == 0) return;
  const auto total = std::int64_t(count);
  step_values_.resize(count);
  evaluate_points(StepPoints{f_.dimension(), points, g, results}, total, step_values_.data());
  set_steps_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(step_values_.data(), total, results);
  HESSA_CUDA_CHECK_LAUNCH(set_steps_kernel, stream_);
}

}  // namespace hessa::cuda
