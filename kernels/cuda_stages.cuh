// The CUDA backend's pipeline stages (one .cu file each): stencil -> assemble -> eigen -> analyze.
// Same contracts as host/cpu/cpu_stages.hpp, on device pointers, enqueued on `stream` (nothing here synchronizes).
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "device_buffer.cuh"
#include "hessa/analysis_options.hpp"
#include "hessa/detail/bytecode.hpp"

namespace hessa::cuda {

inline constexpr int kThreadsPerBlock = 256;

// Blocks for a grid-stride loop over `work` items (work > 0). Capped: past a few waves of blocks on any
// GPU, more blocks only add scheduling; the loops stride over the rest.
inline unsigned int grid_blocks(std::int64_t work) {
  constexpr std::int64_t kMaxBlocks = 65535;
  const std::int64_t blocks = (work + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned int>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// evals[p * E + e] = f at stencil point e of point p, E = stencil_size(kind, n); hyper-dual evaluations are
// 4 doubles each at evals[4 (p * E + e)]. `f.code` is device memory.
void evaluate_stencil(const detail::ProgramView& f, StencilKind kind, double step_scale, const double* points,
                      std::size_t count, double* evals, cudaStream_t stream);

// f, g (count x n), H (count x n x n, column-major) and the error norms ||E_H||_F, ||E_g||_2 (count) from the
// stencil values; status NonfiniteF when any stencil value is NaN/Inf.
void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count,
              const double* evals, double* f, double* g, double* H, double* hess_err, double* grad_err,
              PointStatus* status, cudaStream_t stream);

// The shared one-thread-per-matrix Jacobi (n <= detail::kSmallEigenMaxN), cusolverDnDsyevjBatched
// (n <= kSyevjMaxN only) or cusolverDnXsyevBatched (64-bit API, any n).
enum class EigenMethod { SmallJacobi, SyevjBatched, XsyevBatched };

// The largest n cusolverDnDsyevjBatched accepts.
inline constexpr int kSyevjMaxN = 32;

const char* eigen_method_name(EigenMethod method);

// The eigen stage owns the cuSOLVER handle, its parameter objects and the workspaces, which persist across
// chunks: sizes are queried once per (method, n, batch, vectors) shape and buffers only grow.
class Eigensolver {
 public:
  // Creates the cuSOLVER handle bound to `stream` and sets syevj's tolerance, sweep limit and sorting.
  explicit Eigensolver(cudaStream_t stream);

  // The solver's device workspace for a batch: `fixed_bytes` once plus `bytes_per_matrix` per matrix (the
  // copy of H solved in place is not included: bytes_per_point() counts it), and the largest batch one call
  // accepts (syevj's workspace length is an int). Queried from cuSOLVER for batches of 1 and 2.
  struct Footprint {
    std::size_t fixed_bytes = 0;
    std::size_t bytes_per_matrix = 0;
    std::size_t max_batch = 0;
  };
  Footprint footprint(EigenMethod method, int n, bool vectors) const;

  // Ascending eigenvalues w (count x n) of each H; eigenvectors into V (count x n x n) when V != nullptr.
  // Points whose status is not Ok are solved as the identity (so they cannot disturb the batch) and then
  // reported as w = NaN (and V = NaN), info = 0. info[p] = cuSOLVER's per-matrix info (0 = converged).
  // A count above footprint().max_batch is solved in several calls.
  void eigensolve(EigenMethod method, int n, std::size_t count, const double* H, const PointStatus* status,
                  double* w, double* V, int* info, cudaStream_t stream);

 private:
  struct Shape {
    EigenMethod method = EigenMethod::SyevjBatched;
    int n = 0;
    std::int64_t batch = 0;
    bool vectors = false;
    bool operator==(const Shape& o) const {
      return method == o.method && n == o.n && batch == o.batch && vectors == o.vectors;
    }
  };
  struct WorkspaceSize {
    std::size_t device_bytes = 0;
    std::size_t host_bytes = 0;
    int lwork = 0;  // syevj: workspace length in doubles
  };
  // `A` and `w` must hold at least shape.batch matrices / eigenvalue vectors (the queries do not read them).
  WorkspaceSize query(const Shape& shape, double* A, double* w) const;

  CusolverHandle handle_;
  SyevjInfo syevj_params_;
  CusolverParams xsyev_params_;
  device_buffer<double> A_;     // H copied (failed points: identity) and solved in place when V == nullptr
  device_buffer<double> work_;  // device workspace, doubles so that it is aligned for either routine
  std::vector<unsigned char> host_work_;  // XsyevBatched's host workspace (often empty)
  Shape shape_{};  // the shape sizes_ was queried for
  bool have_shape_ = false;
  WorkspaceSize sizes_{};
  Shape limit_shape_{};  // the (method, n, vectors) max_batch_ was computed for (batch unused)
  bool have_limit_ = false;
  std::size_t max_batch_ = 0;
};

// The second-derivative test and gradient-step quantities per point (all arrays device memory).
void analyze(const detail::ProgramView& f, const AnalysisOptions& options, const double* points, std::size_t count,
             const double* fx, const double* g, const double* H, const double* w, const int* info,
             const double* hess_err, const double* grad_err, const PointStatus* status, PointAnalysis* out,
             cudaStream_t stream);

}  // namespace hessa::cuda
