// CUDA stencils from reverse-mode sweeps over the tape (detail/tape.hpp), as host/cpu/tape_stencil.cpp: one
// thread per gradient evaluation (double sweeps) or per exact column (Tangent<1>: one direction e_j per thread),
// in a grid-stride loop. Each resident thread keeps its values and adjoints in global memory, interleaved node by
// node with the other threads' (scratch[node * threads + thread]) so that neighbouring threads touch neighbouring
// words. Hessian-vector products the same way, one thread per (point, direction) pair. Not yet run on a GPU:
// scripts/gpu-check compares them with the CPU.
#include <algorithm>

#include "cuda_stages.cuh"
#include "hessa/detail/stencil.hpp"
#include "hessa/detail/tangent.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::cuda {
namespace {

// This thread's place in the grid-stride loop, and its values and adjoints, interleaved with the other threads'
// (scratch[node * threads + thread]).
template <class T>
struct ThreadSweep {
  std::int64_t thread, threads;
  T* v;
  T* adj;
};
template <class T>
__device__ ThreadSweep<T> thread_sweep(const detail::TapeView& tape, T* scratch) {
  const std::int64_t threads = std::int64_t(gridDim.x) * blockDim.x;
  const std::int64_t thread = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  return {thread, threads, scratch + thread, scratch + std::int64_t(tape.size) * threads + thread};
}

__global__ void __launch_bounds__(kThreadsPerBlock)
    gradient_kernel(detail::TapeView tape, int n, double step_scale, const double* __restrict__ points,
                    std::int64_t count, double* __restrict__ evals, double* __restrict__ scratch) {
  const std::int64_t per_point = detail::stencil_size(StencilKind::Gradient, n);
  const int per_eval = detail::values_per_evaluation(StencilKind::Gradient, n);
  const std::int64_t total = count * per_point;
  const auto [thread, threads, v, adj] = thread_sweep(tape, scratch);
  for (std::int64_t k = thread; k < total; k += threads) {
    const detail::PerturbedPoint x =
        detail::perturbed_point(points + (k / per_point) * n, detail::gradient_offset(n, k % per_point), step_scale);
    double* out = evals + k * per_eval;
    out[0] = detail::tape_forward<double>(tape, x, v, threads);
    for (int c = 0; c < n; ++c) out[1 + c] = 0.0;
    detail::tape_reverse<double>(tape, v, adj, threads, [out](int c, double g) { out[1 + c] = g; });
  }
}

struct SeededColumn {
  const double* x;
  int j;
  HESSA_HD detail::Tangent<1> operator()(int k) const {
    detail::Tangent<1> t(x[k]);
    if (k == j) t.d[0] = 1.0;
    return t;
  }
};

__global__ void __launch_bounds__(kThreadsPerBlock)
    exact_kernel(detail::TapeView tape, int n, const double* __restrict__ points, std::int64_t count,
                 double* __restrict__ evals, detail::Tangent<1>* __restrict__ scratch) {
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, n);
  const std::int64_t total = count * n;
  const auto [thread, threads, v, adj] = thread_sweep(tape, scratch);
  for (std::int64_t k = thread; k < total; k += threads) {
    const int j = int(k % n);
    double* out = evals + k * per_eval;  // evaluation j of point k / n
    out[0] = detail::tape_forward<detail::Tangent<1>>(tape, SeededColumn{points + (k / n) * n, j}, v, threads).v;
    for (int r = 1; r < per_eval; ++r) out[r] = 0.0;
    detail::tape_reverse<detail::Tangent<1>>(tape, v, adj, threads, [out, j](int r, const detail::Tangent<1>& g) {
      if (r == j) out[1] = g.v;
      out[2 + r] = g.d[0];
    });
  }
}

// One thread per (point p, direction k) pair: the tangent lane seeded with direction k of point p, so the reverse
// sweep's tangents are (H d_k) and its values g; the pair k = 0 also writes f and g (r = 0: those alone).
struct SeededDirection {
  const double* x;
  const double* d;  // null: no direction
  HESSA_HD detail::Tangent<1> operator()(int k) const {
    detail::Tangent<1> t(x[k]);
    if (d != nullptr) t.d[0] = d[k];
    return t;
  }
};

__global__ void __launch_bounds__(kThreadsPerBlock)
    hvp_kernel(detail::TapeView tape, int n, const double* __restrict__ points, std::int64_t count,
               const double* __restrict__ directions, std::int64_t directions_stride, int r, double* __restrict__ f,
               double* __restrict__ g, double* __restrict__ hv, detail::Tangent<1>* __restrict__ scratch) {
  const int lanes = r > 0 ? r : 1;
  const std::int64_t total = count * lanes;
  const auto [thread, threads, v, adj] = thread_sweep(tape, scratch);
  for (std::int64_t i = thread; i < total; i += threads) {
    const std::int64_t p = i / lanes;
    const int k = int(i - p * lanes);
    const double* d = r > 0 ? directions + p * directions_stride + std::int64_t(k) * n : nullptr;
    double* out = r > 0 ? hv + (p * r + k) * n : nullptr;
    double* gp = k == 0 ? g + p * n : nullptr;
    // Coordinates f never reads keep zeros.
    for (int c = 0; c < n; ++c) {
      if (out != nullptr) out[c] = 0.0;
      if (gp != nullptr) gp[c] = 0.0;
    }
    const double value =
        detail::tape_forward<detail::Tangent<1>>(tape, SeededDirection{points + p * n, d}, v, threads).v;
    if (k == 0) f[p] = value;
    detail::tape_reverse<detail::Tangent<1>>(tape, v, adj, threads, [out, gp](int c, const detail::Tangent<1>& gc) {
      if (gp != nullptr) gp[c] = gc.v;
      if (out != nullptr) out[c] = gc.d[0];
    });
  }
}

}  // namespace

std::int64_t tape_scratch_threads(const detail::TapeView& tape, StencilKind kind, std::int64_t work,
                                  std::size_t budget_bytes) {
  const std::size_t per_thread = tape_scratch_bytes_per_thread(tape, kind);
  const std::int64_t fit = std::int64_t(budget_bytes / std::max<std::size_t>(per_thread, 1));
  // Whole blocks, at least one, at most what the work needs or the grid_blocks cap allows.
  const std::int64_t blocks = std::clamp<std::int64_t>(std::min<std::int64_t>(fit, work) / kThreadsPerBlock, 1,
                                                       std::int64_t(grid_blocks(work)));
  return blocks * kThreadsPerBlock;
}

std::size_t tape_scratch_bytes_per_thread(const detail::TapeView& tape, StencilKind kind) {
  const std::size_t scalar = kind == StencilKind::Exact ? sizeof(detail::Tangent<1>) : sizeof(double);
  return std::size_t(detail::tape_scratch_values(tape)) * scalar;
}

void evaluate_tape_stencil(const detail::TapeView& tape, int n, StencilKind kind, double step_scale,
                           const double* points, std::size_t count, double* evals, void* scratch, std::int64_t threads,
                           cudaStream_t stream) {
  if (count == 0) return;
  const unsigned int blocks = unsigned(threads / kThreadsPerBlock);
  if (kind == StencilKind::Gradient) {
    gradient_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(tape, n, step_scale, points, std::int64_t(count), evals,
                                                             static_cast<double*>(scratch));
    HESSA_CUDA_CHECK_LAUNCH(gradient_kernel, stream);
    return;
  }
  exact_kernel<<<blocks, kThreadsPerBlock, 0, stream>>>(tape, n, points, std::int64_t(count), evals,
                                                        static_cast<detail::Tangent<1>*>(scratch));
  HESSA_CUDA_CHECK_LAUNCH(exact_kernel, stream);
}

void tape_hessian_vector_products(const detail::TapeView& tape, int n, const double* points, std::size_t count,
                                  const double* directions, std::size_t directions_stride, int r, double* f, double* g,
                                  double* hv, void* scratch, std::int64_t threads, cudaStream_t stream) {
  if (count == 0) return;
  hvp_kernel<<<unsigned(threads / kThreadsPerBlock), kThreadsPerBlock, 0, stream>>>(
      tape, n, points, std::int64_t(count), directions, std::int64_t(directions_stride), r, f, g, hv,
      static_cast<detail::Tangent<1>*>(scratch));
  HESSA_CUDA_CHECK_LAUNCH(hvp_kernel, stream);
}

}  // namespace hessa::cuda
