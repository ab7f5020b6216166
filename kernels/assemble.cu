// CUDA assembly: f, g and H of each point from its stencil values (formulas in detail/stencil.hpp), as
// host/cpu/assemble.cpp. One thread per output value, so neighbouring threads write neighbouring H entries.
#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cuda {
namespace {

// Per point, slots [0, n^2) are H in column-major order, [n^2, n^2 + n) are g, and the last slot is f and
// the status. Both triangles of H are computed: assemble_hessian_entry gives H_rc == H_cr bit for bit.
__global__ void __launch_bounds__(kThreadsPerBlock)
    assemble_kernel(StencilKind kind, int n, double step_scale, const double* __restrict__ points,
                    std::int64_t count, const double* __restrict__ evals, double* __restrict__ f,
                    double* __restrict__ g, double* __restrict__ H, PointStatus* __restrict__ status) {
  const std::int64_t per_point = detail::stencil_size(kind, n);
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t slots = nn + n + 1;
  const std::int64_t total = count * slots;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / slots;
    const std::int64_t s = k % slots;
    const double* e = evals + p * per_point;
    const double* x = points + p * n;
    if (s < nn) {
      const int c = int(s / n);
      const int r = int(s % n);
      H[p * nn + s] = detail::assemble_hessian_entry(kind, n, e, x, step_scale, r, c);
    } else if (s < nn + n) {
      const int i = int(s - nn);
      g[p * n + i] = detail::assemble_gradient(e, x, step_scale, i);
    } else {
      f[p] = e[0];
      status[p] = detail::all_finite(e, per_point) ? PointStatus::Ok : PointStatus::NonfiniteF;
    }
  }
}

}  // namespace

void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count,
              const double* evals, double* f, double* g, double* H, PointStatus* status, cudaStream_t stream) {
  const std::int64_t total = std::int64_t(count) * (std::int64_t(n) * n + n + 1);
  if (total == 0) return;
  assemble_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(kind, n, step_scale, points,
                                                                        std::int64_t(count), evals, f, g, H, status);
  HESSA_CUDA_CHECK_LAUNCH();
}

}  // namespace hessa::cuda
