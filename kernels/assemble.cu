// CUDA assembly: f, g and H of each point from its stencil values (formulas in detail/stencil.hpp), as
// host/cpu/assemble.cpp. One thread per output value, so neighbouring threads write neighbouring H entries.
#include <type_traits>

#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cuda {
namespace {

// Per point, slots [0, n^2) are H in column-major order, [n^2, n^2 + n) are g, and the last slot is f, the
// status and the error norms (an O(n^2) loop in one thread, small next to the stencil's O(n^3)).
// Both triangles of H are computed: the estimates give H_rc == H_cr bit for bit.
__global__ void __launch_bounds__(kThreadsPerBlock)
    assemble_kernel(StencilKind kind, int n, double step_scale, const double* __restrict__ points, std::int64_t count,
                    const double* __restrict__ evals, double* __restrict__ f, double* __restrict__ g,
                    double* __restrict__ H, double* __restrict__ hess_err, double* __restrict__ grad_err,
                    PointStatus* __restrict__ status) {
  const std::int64_t values = detail::stencil_size(kind, n) * detail::values_per_evaluation(kind);
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t slots = nn + n + 1;
  const std::int64_t total = count * slots;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / slots;
    const std::int64_t s = k % slots;
    const double* e = evals + p * values;
    const double* x = points + p * n;
    // Each thread recomputes the point's f_max: a read of its stencil values, cached across the block's threads.
    const double f_max = kind == StencilKind::HyperDual ? 0.0 : detail::max_abs_value(e, values);
    if (s < nn) {
      const int c = int(s / n);
      const int r = int(s % n);
      H[p * nn + s] = detail::hessian_estimate(kind, n, e, x, step_scale, r, c, f_max).value;
    } else if (s < nn + n) {
      const int i = int(s - nn);
      g[p * n + i] = detail::gradient_estimate(kind, n, e, x, step_scale, i, f_max).value;
    } else {
      f[p] = detail::center_value(e);
      status[p] = detail::all_finite(e, values) ? PointStatus::Ok : PointStatus::NonfiniteF;
      detail::error_norms(kind, n, e, x, step_scale, &hess_err[p], &grad_err[p]);
    }
  }
}

}  // namespace

void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count, const double* evals,
              double* f, double* g, double* H, double* hess_err, double* grad_err, PointStatus* status,
              cudaStream_t stream) {
  const std::int64_t total = std::int64_t(count) * (std::int64_t(n) * n + n + 1);
  if (total == 0) return;
  assemble_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(kind, n, step_scale, points, std::int64_t(count),
                                                                       evals, f, g, H, hess_err, grad_err, status);
  HESSA_CUDA_CHECK_LAUNCH(assemble_kernel, stream);
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(assemble), detail::AssembleStage<cudaStream_t>>);

}  // namespace hessa::cuda
