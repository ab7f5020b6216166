// CUDA stencil evaluation: f at every perturbed point of every point, one thread per (point, evaluation)
// in a grid-stride loop over the shared stencil and interpreter code (as host/cpu/stencil.cpp).
#include "cuda_stages.cuh"
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

}  // namespace

void evaluate_stencil(const detail::ProgramView& f, StencilKind kind, double step_scale, const double* points,
                      std::size_t count, double* evals, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(count) * detail::stencil_size(kind, f.n);
  if (total == 0) return;
  stencil_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(f, kind, step_scale, points,
                                                                       std::int64_t(count), evals);
  HESSA_CUDA_CHECK_LAUNCH();
}

}  // namespace hessa::cuda
