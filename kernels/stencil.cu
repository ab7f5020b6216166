// CUDA stencil evaluation: f at every perturbed point of every point, one thread per (point, evaluation)
// in a grid-stride loop over the shared stencil and interpreter code (as host/cpu/stencil.cpp).
#include <type_traits>

#include "cuda_stages.cuh"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cuda {
namespace {

// Flattened over (point, evaluation) so that a few points of large n and many points of small n both fill
// the GPU. The interpreter's stack lives in local memory; the bound keeps registers in check.
__global__ void __launch_bounds__(kThreadsPerBlock)
    stencil_kernel(detail::ProgramView f, StencilKind kind, double step_scale, const double* __restrict__ points,
                   std::int64_t count, double* __restrict__ evals) {
  const int n = f.n;
  const std::int64_t per_point = detail::stencil_size(kind, n);
  const std::int64_t total = count * per_point;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / per_point;
    const std::int64_t e = k % per_point;
    const double* x = points + p * n;
    const detail::StencilOffset off = detail::stencil_offset(kind, n, e);
    evals[k] = detail::evaluate<double>(f, detail::perturbed_point(x, off, step_scale));
  }
}

// Exact second derivatives: evaluation e of a point seeds x_i with e1 and x_j with e2 (pair e, i <= j).
__global__ void __launch_bounds__(kThreadsPerBlock)
    hyperdual_kernel(detail::ProgramView f, const double* __restrict__ points, std::int64_t count,
                     double* __restrict__ evals) {
  const int n = f.n;
  const std::int64_t per_point = detail::stencil_size(StencilKind::HyperDual, n);
  const std::int64_t total = count * per_point;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / per_point;
    int i = 0, j = 0;
    detail::hyperdual_pair(n, k % per_point, &i, &j);
    const detail::HyperDualPoint<detail::HyperDual> seeded{points + p * n, i, j};
    const detail::HyperDual v = detail::evaluate<detail::HyperDual>(f, seeded);
    evals[4 * k + 0] = v.a;
    evals[4 * k + 1] = v.b;
    evals[4 * k + 2] = v.c;
    evals[4 * k + 3] = v.d;
  }
}

}  // namespace

void evaluate_stencil(const detail::ProgramView& f, StencilKind kind, double step_scale, const double* points,
                      std::size_t count, double* evals, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(count) * detail::stencil_size(kind, f.n);
  if (total == 0) return;
  if (kind == StencilKind::HyperDual) {
    hyperdual_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(f, points, std::int64_t(count), evals);
    HESSA_CUDA_CHECK_LAUNCH(hyperdual_kernel, stream);
    return;
  }
  stencil_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(f, kind, step_scale, points, std::int64_t(count),
                                                                      evals);
  HESSA_CUDA_CHECK_LAUNCH(stencil_kernel, stream);
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(evaluate_stencil), detail::EvaluateStencilStage<cudaStream_t>>);

}  // namespace hessa::cuda
