// The CUDA backend's pipeline stages (one .cu file each): stencil -> assemble -> eigen -> analyze, and the
// stencil stage of objectives that are not a plain expression (objective_stencil.cu, model_loss.cu).
// The free-function stages share their contracts with host/cpu/cpu_stages.hpp (hessa/detail/stages.hpp); nothing
// here synchronizes.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "device_buffer.cuh"
#include "hessa/analysis_options.hpp"
#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/stages.hpp"
#include "hessa/detail/tape.hpp"
#include "hessa/objective.hpp"
#include "resources.cuh"

namespace hessa::cuda {

inline constexpr int kThreadsPerBlock = 256;

// Blocks for a grid-stride loop over `work` items (work > 0). Capped: past a few waves of blocks on any
// GPU, more blocks only add scheduling; the loops stride over the rest.
inline unsigned int grid_blocks(std::int64_t work) {
  constexpr std::int64_t kMaxBlocks = 65535;
  const std::int64_t blocks = (work + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned int>(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// The contracts (and their comments) are in hessa/detail/stages.hpp, shared with host/cpu/cpu_stages.hpp; here
// on device pointers, enqueued on the trailing stream.
detail::EvaluateStencilStage<cudaStream_t> evaluate_stencil;  // stencil.cu
detail::AssembleStage<cudaStream_t> assemble;                 // assemble.cu
detail::AnalyzeStage<cudaStream_t> analyze;                   // analyze.cu

// The gradient-based stencils (tape_stencil.cu): evaluate_stencil's Gradient and Exact layouts from the tape (device
// memory), each of `threads` resident threads (a multiple of kThreadsPerBlock) keeping
// tape_scratch_bytes_per_thread in `scratch`.
inline constexpr std::size_t kTapeScratchBudget = std::size_t(1) << 30;  // device bytes for all threads' sweeps
std::size_t tape_scratch_bytes_per_thread(const detail::TapeView& tape, StencilKind kind);
// Threads whose scratch fits `budget_bytes`, for `work` evaluations (at least one block).
std::int64_t tape_scratch_threads(const detail::TapeView& tape, StencilKind kind, std::int64_t work,
                                  std::size_t budget_bytes);
void evaluate_tape_stencil(const detail::TapeView& tape, int n, StencilKind kind, double step_scale,
                           const double* points, std::size_t count, double* evals, void* scratch, std::int64_t threads,
                           cudaStream_t stream);

// The shared one-thread-per-matrix Jacobi (n <= detail::kSmallEigenMaxN), cusolverDnDsyevjBatched
// (n <= kSyevjMaxN only) or cusolverDnXsyevBatched (64-bit API, any n).
enum class EigenMethod { SmallJacobi, SyevjBatched, XsyevBatched };

// The largest n cusolverDnDsyevjBatched accepts.
inline constexpr int kSyevjMaxN = 32;

const char* eigen_method_name(EigenMethod method);

// The eigen stage uses the device's cuSOLVER handle and workspace (Resources) and owns syevj's and Xsyev's
// parameter objects; sizes are queried once per (method, n, batch, vectors) shape and buffers only grow.
class Eigensolver {
 public:
  // Sets syevj's tolerance, sweep limit and sorting; everything below is enqueued on resources.stream().
  explicit Eigensolver(Resources& resources);

  // The solver's device workspace for a batch: `fixed_bytes` once plus `bytes_per_matrix` per matrix (the
  // copy of H solved in place is not included: bytes_per_point() counts it), and the largest batch one call
  // accepts (syevj's workspace length is an int). Extrapolated from cuSOLVER's sizes for batches of 1 and 2: an
  // estimate that sizes chunks (chunk_capacity). eigensolve() asks the size again at the batch it really takes.
  struct Footprint {
    std::size_t fixed_bytes = 0;
    std::size_t bytes_per_matrix = 0;
    std::size_t max_batch = 0;
  };
  Footprint footprint(EigenMethod method, int n, bool vectors) const;

  // Ascending eigenvalues w (count x n) of each H; eigenvectors into V (count x n x n) when V != nullptr.
  // Points whose status is not Ok are solved as the identity (so they cannot disturb the batch) and then
  // reported as w = NaN (and V = NaN), info = 0. info[p] = cuSOLVER's per-matrix info (0 = converged).
  // A count above footprint().max_batch, or one whose workspace (queried at that batch) does not fit the device
  // memory left, is solved in several calls of a halved batch (detail::plan_eigen_batch).
  void eigensolve(EigenMethod method, int n, std::size_t count, const double* H, const PointStatus* status, double* w,
                  double* V, int* info);
  // The methods eigensolve() has run so far, in EigenMethod order ("syevjBatched", "small Jacobi, XsyevBatched"),
  // empty before the first: what a run reports as used, beside the rule that chose it.
  std::string methods_run() const;

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

  Resources& resources_;
  SyevjInfo syevj_params_;
  CusolverParams xsyev_params_;
  device_buffer<double> A_;               // H copied (failed points: identity) and solved in place when V == nullptr
  std::vector<unsigned char> host_work_;  // XsyevBatched's host workspace (often empty)
  Shape shape_{};                         // the shape sizes_ was queried for
  bool have_shape_ = false;
  WorkspaceSize sizes_{};
  Shape limit_shape_{};  // the (method, n, vectors) max_batch_ was computed for (batch unused)
  bool have_limit_ = false;
  std::size_t max_batch_ = 0;
  Shape plan_shape_{};  // the (method, n, capped count, vectors) plan_batch_ was chosen for
  bool have_plan_ = false;
  std::size_t plan_batch_ = 0;  // the batch whose queried workspace fitted the device memory left
  unsigned methods_run_ = 0;    // bit m: EigenMethod m ran
};

// --- Objectives at materialized points (model losses, affine subspaces) ---

// The MLP's mean loss (detail/mlp.hpp) at many parameter vectors at once, as host/cpu/model_loss.cpp: per layer
// one cublasDgemmStridedBatched over the vectors (activations column-major d x samples, one column per sample),
// then bias + activation, then one block per vector sums the sample losses. model_loss.cu.
class MlpLoss {
 public:
  // Every call below is enqueued on resources.stream(), the GEMMs through its cuBLAS handle.
  explicit MlpLoss(Resources& resources);

  // The most vectors one evaluate() takes: cuBLAS's batch count is an int, and PyTorch works around a cuBLAS
  // failure past 65535 batches on some GPUs (pytorch/pytorch#45724), so batches stay below that.
  static constexpr std::size_t kMaxBatch = 63 * 1024;
  // Device bytes evaluate() needs per parameter vector (the two activation buffers).
  static std::size_t bytes_per_vector(const MlpModel& model);

  // Copies the model's data set to the device (every analyze call: data sets are small, and the address of a
  // model is no safe cache key). Throws std::invalid_argument when the data set does not fit the model.
  void upload(const MlpModel& model);
  // losses[v] = the mean loss at parameter vector v (parameters: count x P row-major, device), count <= kMaxBatch.
  void evaluate(const MlpModel& model, const double* parameters, std::size_t count, double* losses);
  // The uploaded data set (device): features and targets, row-major per sample.
  const double* features() const { return x_.data(); }
  const double* targets() const { return y_.data(); }

 private:
  Resources& resources_;
  cudaStream_t stream_;
  device_buffer<double> x_;               // features x samples, column-major (the row-major data set as is)
  device_buffer<double> y_;               // targets, data.targets per sample
  device_buffer<double> activations_[2];  // layer outputs, alternating between layers
};

// Backpropagation through the MLP loss at many parameter vectors, as host/cpu/model_gradient.cpp's
// mlp_loss_gradient: the loss and its exact gradient. Per layer one cublasDgemmStridedBatched forward and two
// backward (dW_l = g_l A_{l-1}^T written into each vector's gradient, P apart; W_l^T g_l), the data set shared with
// stride 0, the per-element math of detail/mlp.hpp in thin kernels. With second_order, evaluate() also keeps what
// Pearlmutter's R-operator needs (sigma'(z), (dL/da) sigma''(z), the loss's curvature), and hvp() then gives exact
// Hessian-vector products, one direction per vector a call, as mlp_loss_hvp: a few strided-batched GEMMs per
// layer. model_gradient.cu (compiled, not yet run on a GPU).
class MlpGradient {
 public:
  // Every call below is enqueued on resources.stream(), the GEMMs through its cuBLAS handle.
  explicit MlpGradient(Resources& resources);

  static constexpr std::size_t kMaxBatch = MlpLoss::kMaxBatch;
  // Device bytes evaluate() needs per parameter vector (z, a and g of every layer; with second_order also the
  // R-operator's tape and hvp()'s R-arrays).
  static std::size_t bytes_per_vector(const MlpModel& model, bool second_order = false);

  // Copies the model's data set to the device. Throws std::invalid_argument when it does not fit the model.
  void upload(const MlpModel& model);
  // losses[v] and gradients (count x P, row-major) at the parameter vectors (count x P, row-major), all device
  // memory, count <= kMaxBatch.
  void evaluate(const MlpModel& model, const double* parameters, std::size_t count, double* losses, double* gradients,
                bool second_order = false);
  // After evaluate(..., second_order = true) at the same `parameters` and `count`: hv + v hv_stride = H_v d_v,
  // where d_v = directions + v directions_stride (0: one direction for all vectors) and H_v the loss's Hessian
  // at vector v; P doubles each, device memory.
  void hvp(const MlpModel& model, const double* parameters, std::size_t count, const double* directions,
           std::int64_t directions_stride, double* hv, std::int64_t hv_stride);

  // Backend::hessian_vector_products of the model loss, host memory in and out, as the host's
  // objective_hessian_vector_products: the points in batches that fit half the free device memory, each batch one
  // evaluate(second_order) and r hvp() calls. The staging buffers stay for the next call (Lanczos makes one a
  // step). Synchronizes.
  void hessian_vector_products(const MlpModel& model, const double* points, std::size_t count, const double* directions,
                               std::size_t directions_stride, int r, double* f, double* g, double* hv);

 private:
  Resources& resources_;
  cudaStream_t stream_;
  device_buffer<double> x_, y_;                   // the data set, as MlpLoss's
  std::vector<device_buffer<double>> z_, a_, g_;  // per layer: count x d_out x samples
  // second order: per hidden layer sigma'(z) and (dL/da) sigma''(z); the output's per-sample curvature
  std::vector<device_buffer<double>> d1_, ed2_;
  device_buffer<double> curvature_;
  // hvp's R-values: R z (R g in the backward pass) per layer, R a per hidden layer, R e (dL/da's R-value)
  std::vector<device_buffer<double>> rz_, ra_;
  device_buffer<double> re_;
  std::size_t second_order_count_ = 0;  // vectors of the last evaluate() when it kept the R-operator's tape, else 0
  // hessian_vector_products' staging: parameter vectors, losses, gradients, directions, products
  device_buffer<double> theta_, losses_, gradients_, directions_, products_;
};

// Backend::hessian_vector_products of an expression on the GPU (tape_stencil.cu): forward-over-reverse on the tape
// (device memory), one thread per (point, direction) pair on Tangent<1>, each of `threads` resident threads keeping
// tape_scratch_bytes_per_thread(tape, Exact) in `scratch`; points, directions, f, g and hv are device memory in the
// host function's layout. Enqueued, not synchronized.
void tape_hessian_vector_products(const detail::TapeView& tape, int n, const double* points, std::size_t count,
                                  const double* directions, std::size_t directions_stride, int r, double* f, double* g,
                                  double* hv, void* scratch, std::int64_t threads, cudaStream_t stream);

// The stencil stage for an Objective that is not a plain expression, as host/cpu/objective_stencil.cpp: stencil
// points (and gradient-step points) are written out in the function's own coordinates, mapped through the
// subspace when set, a batch at a time, and each batch is evaluated at once: by MlpLoss for a model, by the
// shared interpreter for an expression. Buffers persist across chunks. objective_stencil.cu.
class ObjectiveEvaluator {
 public:
  explicit ObjectiveEvaluator(Resources& resources) : resources_(resources), stream_(resources.stream()) {}

  // Per analyze call, before the calls below: copies the program, the subspace and the data set, and picks
  // the batch size. What `f` points to must outlive those calls (`f` itself is copied).
  void prepare(const Objective& f);
  // evaluate_stencil's layout for f: evals[p E + e], E = stencil_size(kind, f.dimension()); for HyperDual four
  // doubles per evaluation, from the direct forward pass (a model) or the interpreter (an expression) on
  // hyper-dual numbers seeded through the subspace.
  void evaluate_stencil(StencilKind kind, double step_scale, const double* points, std::size_t count, double* evals);
  // f(x - step g) for every point whose step is pending (detail::step_pending), then detail::set_step_value.
  void evaluate_gradient_steps(const double* points, const double* g, std::size_t count, PointAnalysis* results);

 private:
  // Materializes points 0 .. total - 1 of `source` batch by batch and evaluates them into values[0 .. total).
  template <class Points>
  void evaluate_points(const Points& source, std::int64_t total, double* values);
  void evaluate_hyperdual(const double* points, std::size_t count, double* evals);
  // values[b] = f at the b-th row of x (count x f.inner_dimension(), device).
  void evaluate_rows(const double* x, std::int64_t count, double* values);

  Resources& resources_;
  cudaStream_t stream_;
  Objective f_{};
  std::int64_t batch_ = 1;  // points materialized at once
  device_buffer<detail::Instruction> code_;
  detail::ProgramView program_{nullptr, 0, 0};          // device copy of f_.expression
  device_buffer<double> origin_, directions_;           // device copy of f_.subspace
  device_buffer<double> x_;                             // batch_ x inner_dimension
  device_buffer<double> step_values_;                   // f(x - step g) per point of the chunk
  std::optional<MlpLoss> mlp_;                          // made on first use: expressions need no cuBLAS handle
  device_buffer<std::int32_t> widths_;                  // device copy of the model's widths (the hyper-dual path)
  device_buffer<detail::HyperDual> hyperdual_scratch_;  // 2 max_width per evaluation of a hyper-dual batch
};

}  // namespace hessa::cuda
