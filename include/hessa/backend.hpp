// The backend interface: one chunk of points in, ChunkResult out. Implemented by the CPU backend
// (host/cpu/) and the CUDA backend (kernels/); host code never sees CUDA headers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "hessa/analysis_options.hpp"
#include "hessa/expression.hpp"
#include "hessa/objective.hpp"

namespace hessa {

class Backend {
 public:
  virtual ~Backend() = default;
  // e.g. "cpu (OpenMP, 2 threads)" or "cuda (NVIDIA H100, sm_90)".
  virtual std::string name() const = 0;
  // Points per chunk that fit in this backend's memory for dimension n.
  virtual std::size_t chunk_capacity(int n, const AnalysisOptions& options) const = 0;
  // Analyzes `count` points (row-major, count x n) into `out` (resized here).
  virtual void analyze(const CompiledFunction& f, const AnalysisOptions& options, const double* points,
                       std::size_t count, ChunkResult& out) = 0;
  // Analyzes `count` points of dimension f.dimension(). A plain expression takes the call above; model losses
  // and affine subspaces materialize each stencil point (mapped to the function's own coordinates) and evaluate
  // them in batches, then run the same assemble / eigen / analyze stages. HyperDual needs a plain expression
  // (InputError otherwise).
  virtual void analyze(const Objective& f, const AnalysisOptions& options, const double* points, std::size_t count,
                       ChunkResult& out) = 0;
};

std::unique_ptr<Backend> make_cpu_backend();

// True when this build contains the CUDA backend.
bool cuda_backend_compiled();
// The CUDA backend, or nullptr with the reason in `why_unavailable` (not compiled, no device, driver error).
std::unique_ptr<Backend> make_cuda_backend(std::string* why_unavailable);
// CUDA devices this process sees (0 without the CUDA backend, a driver or a GPU); for binding MPI ranks to GPUs.
int cuda_device_count();

// Bytes per point a chunk needs (stencil values, g, H, eigen workspace, results): sizes chunks on either backend.
std::size_t bytes_per_point(int n, const AnalysisOptions& options);
// The host memory one point takes through a whole chunk on any backend: bytes_per_point plus the point as read and
// the ChunkResult copies of what the options keep (gradient, Hessian, eigenvalues). For plan_chunk.
std::size_t host_bytes_per_point(int n, const AnalysisOptions& options);

}  // namespace hessa
