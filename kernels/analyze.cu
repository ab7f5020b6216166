// CUDA analysis: second-derivative test and gradient-step quantities per point (detail/analysis.hpp),
// one thread per point in a grid-stride loop, as host/cpu/analyze.cpp.
#include <type_traits>

#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"

namespace hessa::cuda {
namespace {

// Options travel by value (thresholds and lr only): the kernel reads no host memory.
__global__ void __launch_bounds__(kThreadsPerBlock)
    analyze_kernel(detail::ProgramView f, Thresholds thresholds, double lr, const double* __restrict__ points,
                   std::int64_t count, const double* __restrict__ fx, const double* __restrict__ g,
                   const double* __restrict__ H, const double* __restrict__ w, const int* __restrict__ info,
                   const double* __restrict__ hess_err, const double* __restrict__ grad_err,
                   const PointStatus* __restrict__ status, PointAnalysis* __restrict__ out) {
  const int n = f.n;
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    out[p] = detail::analyze_point(f, points + p * n, fx[p], g + p * n, H + p * nn, w + p * n, n, status[p], info[p],
                                   hess_err[p], grad_err[p], thresholds, lr);
  }
}

}  // namespace

void analyze(const detail::ProgramView& f, const AnalysisOptions& options, const double* points, std::size_t count,
             const double* fx, const double* g, const double* H, const double* w, const int* info,
             const double* hess_err, const double* grad_err, const PointStatus* status, PointAnalysis* out,
             cudaStream_t stream) {
  if (count == 0) return;
  const std::int64_t points_in_chunk = std::int64_t(count);
  analyze_kernel<<<grid_blocks(points_in_chunk), kThreadsPerBlock, 0, stream>>>(
      f, options.thresholds, options.lr, points, points_in_chunk, fx, g, H, w, info, hess_err, grad_err, status, out);
  HESSA_CUDA_CHECK_LAUNCH(analyze_kernel, stream);
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(analyze), detail::AnalyzeStage<cudaStream_t>>);

}  // namespace hessa::cuda
