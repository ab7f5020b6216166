// The backend interface: one family (CPU in host/cpu/, CUDA in kernels/) behind one factory. A backend holds one
// chunk's arrays in its own memory and exposes the pipeline's stages as primitives on that chunk; the drivers
// that sequence them (analyze() here, in host/backend/backend.cpp) are written once for every backend.
// Host code never sees CUDA headers.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/expression.hpp"
#include "hessa/objective.hpp"
#include "hessa/types.hpp"

namespace hessa {

struct JacobianResult;  // hessa/jacobian.hpp

enum class BackendKind { Cpu, Cuda };

// Where a chunk's time goes (`hessa bench`): seconds per stage, summed over the chunks analyzed while a Backend's
// time_stages() points here. Upload is begin_chunk (points to the device), download finish_chunk (results back).
enum class Stage { Upload, Stencil, Assemble, Eigen, Analyze, Download };
inline constexpr int kStageCount = 6;
inline constexpr const char* kStageNames[kStageCount] = {"upload", "stencil", "assemble",
                                                         "eigen",  "analyze", "download"};
struct StageTimes {
  double seconds[kStageCount] = {};
};

class Backend {
 public:
  virtual ~Backend() = default;
  // The device and how it analyzes, e.g. "cpu (OpenMP, 2 threads; eigen: ...)" or "cuda (NVIDIA H100, sm_90, ...)".
  virtual std::string name() const = 0;
  // The device alone, e.g. "cpu (OpenMP, 2 threads)": what Jacobians (which run no eigensolver) report.
  virtual std::string device_name() const = 0;
  virtual BackendKind kind() const = 0;
  // The device memory's peak bandwidth in bytes/s as the device reports it (0: unknown, e.g. the CPU backend).
  virtual double peak_memory_bandwidth() const { return 0; }
  // While set, analyze() adds each stage's wall time to `times`, waiting for the device after each stage so that
  // the time is the stage's own (slower than a plain run on a GPU, where stages overlap nothing but each other).
  // nullptr: off.
  void time_stages(StageTimes* times) { stage_times_ = times; }

  // --- Hessian analysis ---------------------------------------------------------------------------------------

  // Points per chunk that fit in this backend's memory for dimension n.
  virtual std::size_t chunk_capacity(int n, const AnalysisOptions& options) const = 0;
  // Analyzes `count` points (row-major, count x n) into `out` (resized here):
  // stencil -> assemble -> eigen -> analyze -> copy out.
  void analyze(const CompiledFunction& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out);
  // Analyzes `count` points of dimension f.dimension(). A plain expression takes the call above; model losses
  // and affine subspaces materialize each stencil point (mapped to the function's own coordinates) and evaluate
  // them in batches, then run the same assemble / eigen / analyze stages and evaluate the gradient steps.
  // HyperDual needs a plain expression (InputError otherwise).
  void analyze(const Objective& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out);

  // --- Jacobians ----------------------------------------------------------------------------------------------

  // Points per chunk that fit in this backend's memory for k outputs of m coordinates.
  virtual std::size_t jacobian_chunk_capacity(int m, int k, JacobianMode mode) const = 0;
  // Jacobians at `count` points (row-major, count x m) of the k = functions.size() outputs, all compiled for
  // dimension m (std::invalid_argument otherwise). `step_scale` is the relative step s (ignored in dual mode).
  // `out` is resized here. Evaluate -> assemble, both inside evaluate_jacobians.
  void jacobians(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                 const double* points, std::size_t count, JacobianResult& out);

  // --- Stage primitives on the chunk this backend holds ---------------------------------------------------------
  // For drivers (analyze() above; gradient and Hessian-vector drivers next). One chunk at a time, in this order:
  // begin_chunk, one stencil evaluation, assemble, eigensolve, analyze_points, [evaluate_gradient_steps],
  // finish_chunk. The arrays (stencil values, f, g, H, error norms, eigenvalues, statuses, results) stay in the
  // backend's memory between the calls; only begin_chunk and finish_chunk move data between host and backend.

  // Starts a chunk of `count` >= 1 points (row-major, count x n) under `options`: sizes the arrays and copies the
  // points in. `out` has been resized for this chunk; the backend may write into it until finish_chunk, so it
  // must outlive that call. Throws InputError before any work when the backend cannot serve these options.
  virtual void begin_chunk(int n, const AnalysisOptions& options, const double* points, std::size_t count,
                           ChunkResult& out) = 0;
  // The stencil values of a plain expression. f becomes the chunk's program, so that analyze_points evaluates
  // f(x - step g) itself.
  virtual void evaluate_stencil(const CompiledFunction& f) = 0;
  // The stencil values of an objective, at materialized points; analyze_points then leaves f(x - step g) pending
  // for evaluate_gradient_steps. What `f` points to must outlive the chunk.
  virtual void evaluate_objective_stencil(const Objective& f) = 0;
  // f, g, H and the error norms from the stencil values; statuses NonfiniteF where a value is NaN/Inf.
  virtual void assemble() = 0;
  // Ascending eigenvalues (and eigenvectors when the options ask) of each H.
  virtual void eigensolve() = 0;
  // The second-derivative test and gradient-step quantities per point.
  virtual void analyze_points() = 0;
  // f(x - step g) of the objective at the points whose step analyze_points left pending.
  virtual void evaluate_gradient_steps(const Objective& f) = 0;
  // Copies the results and what the options keep (gradient, Hessian, eigenvalues, eigenvectors) into `out`, and
  // waits for the chunk's work to finish: `out` is complete when this returns.
  virtual void finish_chunk() = 0;

  // Exact Hessian-vector products, never forming H: at `count` points (row-major, count x N, N the objective's
  // inner_dimension(): its own coordinates, a subspace is not applied) and for r directions per point (r x N at
  // directions + p * directions_stride: stride 0 shares one set, r * N gives each point its own, as Lanczos
  // needs), f (count), g (count x N) and H d_k (count x r x N). Model losses by the R-operator, expressions by
  // forward-over-reverse on their tape; InputError for an expression without one. Independent of any chunk.
  virtual void hessian_vector_products(const Objective& f, const double* points, std::size_t count,
                                       const double* directions, std::size_t directions_stride, int r, double* fx,
                                       double* g, double* hv) = 0;

  // The Jacobians of a chunk, as jacobians() describes, once it has checked the functions, resized `out` and
  // found count >= 1: f, J, the error estimates and the statuses in `out` when this returns.
  virtual void evaluate_jacobians(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                                  const double* points, std::size_t count, JacobianResult& out) = 0;

 protected:
  // Waits until the work queued so far has finished (a device stream); for time_stages. The CPU works in place.
  virtual void wait_for_stage() {}

 private:
  template <class Run>
  void stage(Stage which, Run&& run);
  StageTimes* stage_times_ = nullptr;
};

// InputError unless `backend` can run a caller's function `f` with `stencil` (the CPU backend, a stencil of values,
// or of gradients when f has them).
void check_batch_function(const BatchFunction& f, StencilKind stencil, BackendKind backend);
// InputError unless `backend` is the CPU's: a caller's own function (a BatchFunction or BatchVectorFunction) is
// evaluated on the host.
void check_host_function_backend(BackendKind backend);

// The one factory: the backend of `kind`, or nullptr with the reason in `why_unavailable` (CUDA: not compiled, no
// device, driver error). The CPU backend is always available.
std::unique_ptr<Backend> make_backend(BackendKind kind, std::string* why_unavailable);
// Conveniences over make_backend.
std::unique_ptr<Backend> make_cpu_backend();
std::unique_ptr<Backend> make_cuda_backend(std::string* why_unavailable);

// True when this build contains the CUDA backend.
bool cuda_backend_compiled();
// CUDA devices this process sees (0 without the CUDA backend, a driver or a GPU); for binding MPI ranks to GPUs.
int cuda_device_count();

// Bytes per point a chunk needs (stencil values, g, H, eigen workspace, results): sizes chunks on either backend.
std::size_t bytes_per_point(int n, const AnalysisOptions& options);
// The host memory one point takes through a whole chunk on any backend: bytes_per_point plus the point as read and
// the ChunkResult copies of what the options keep (gradient, Hessian, eigenvalues), and for each of the further
// `chunks_in_flight - 1` chunks of an overlapped run (engine/chunk_stages.hpp) its points and ChunkResult. For
// plan_chunk.
std::size_t host_bytes_per_point(int n, const AnalysisOptions& options, std::size_t chunks_in_flight = 1);
// The most points whose chunk fits the host's memory budget (cgroup-aware; >= 1): a cap on either backend's
// chunk_capacity, since a GPU chunk's ChunkResult comes back to host memory too.
std::size_t host_chunk_limit(int n, const AnalysisOptions& options);

}  // namespace hessa
