// CUDA assembly: f, g and H of each point from its stencil values (formulas in detail/stencil.hpp), as
// host/cpu/assemble.cpp: the rounding scale once per point, then one thread per g / H entry, then f, status and
// error norms per point (three launches in stream order).
#include <type_traits>

#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cuda {
namespace {

// The FD rounding scale of each point, f_max = max |stencil value| (0 for hyper-dual values), computed once per
// point and parked in f[p]: derivatives_kernel reads it there, then point_values_kernel overwrites f[p] with f. (One
// scan per point; letting every output thread rescan its point's 2n^2+1 values cost O(n^4) per point, issue 12.)
__global__ void __launch_bounds__(kThreadsPerBlock)
    scale_kernel(StencilKind kind, int n, std::int64_t count, const double* __restrict__ evals,
                 double* __restrict__ f_max) {
  const std::int64_t values = detail::stencil_size(kind, n) * detail::values_per_evaluation(kind, n);
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    f_max[p] = detail::error_scale(kind, n, evals + p * values);
  }
}

// Per point, slots [0, n^2) are H in column-major order and [n^2, n^2 + n) are g: one thread per entry, so
// neighbouring threads write neighbouring H entries. Both triangles of H are computed: the estimates give
// H_rc == H_cr bit for bit.
__global__ void __launch_bounds__(kThreadsPerBlock)
    derivatives_kernel(StencilKind kind, int n, double step_scale, const double* __restrict__ points,
                       std::int64_t count, const double* __restrict__ evals, const double* __restrict__ f_max,
                       double* __restrict__ g, double* __restrict__ H) {
  const std::int64_t values = detail::stencil_size(kind, n) * detail::values_per_evaluation(kind, n);
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t slots = nn + n;
  const std::int64_t total = count * slots;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / slots;
    const std::int64_t s = k % slots;
    const double* e = evals + p * values;
    const double* x = points + p * n;
    if (s < nn) {
      const int c = int(s / n);
      const int r = int(s % n);
      H[p * nn + s] = detail::hessian_estimate(kind, n, e, x, step_scale, r, c, f_max[p]).value;
    } else {
      const int i = int(s - nn);
      g[p * n + i] = detail::gradient_estimate(kind, n, e, x, step_scale, i, f_max[p]).value;
    }
  }
}

// Per point: f, the status and the error norms (an O(n^2) loop in one thread, small next to the stencil's O(n^3)).
__global__ void __launch_bounds__(kThreadsPerBlock)
    point_values_kernel(StencilKind kind, int n, double step_scale, const double* __restrict__ points,
                        std::int64_t count, const double* __restrict__ evals, double* __restrict__ f,
                        double* __restrict__ hess_err, double* __restrict__ grad_err,
                        PointStatus* __restrict__ status) {
  const std::int64_t values = detail::stencil_size(kind, n) * detail::values_per_evaluation(kind, n);
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    const double* e = evals + p * values;
    f[p] = detail::center_value(e);
    status[p] = detail::all_finite(e, values) ? PointStatus::Ok : PointStatus::NonfiniteF;
    detail::error_norms(kind, n, e, points + p * n, step_scale, &hess_err[p], &grad_err[p]);
  }
}

}  // namespace

void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count, const double* evals,
              double* f, double* g, double* H, double* hess_err, double* grad_err, PointStatus* status,
              cudaStream_t stream) {
  if (count == 0) return;
  const std::int64_t points_count = std::int64_t(count);
  const std::int64_t entries = points_count * (std::int64_t(n) * n + n);
  scale_kernel<<<grid_blocks(points_count), kThreadsPerBlock, 0, stream>>>(kind, n, points_count, evals, f);
  HESSA_CUDA_CHECK_LAUNCH(scale_kernel, stream);
  derivatives_kernel<<<grid_blocks(entries), kThreadsPerBlock, 0, stream>>>(kind, n, step_scale, points, points_count,
                                                                            evals, f, g, H);
  HESSA_CUDA_CHECK_LAUNCH(derivatives_kernel, stream);
  point_values_kernel<<<grid_blocks(points_count), kThreadsPerBlock, 0, stream>>>(
      kind, n, step_scale, points, points_count, evals, f, hess_err, grad_err, status);
  HESSA_CUDA_CHECK_LAUNCH(point_values_kernel, stream);
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(assemble), detail::AssembleStage<cudaStream_t>>);

}  // namespace hessa::cuda
