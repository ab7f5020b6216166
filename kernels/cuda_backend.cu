// The CUDA backend: the stage primitives of hessa::Backend as launches on one stream of one GPU, over device
// buffers that persist across chunks (as host/cpu/cpu_backend.cpp does with OpenMP over host vectors); so do the
// device's Resources (stream, cuSOLVER/cuBLAS handles, workspace). Nothing here synchronizes but finish_chunk.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "cuda_stages.cuh"
#include "device_select.cuh"
#include "hessa/backend.hpp"
#include "hessa/detail/backend_factory.hpp"
#include "hessa/detail/small_eigen.hpp"
#include "hessa/errors.hpp"
#include "hessa/jacobian.hpp"
#include "jacobian.cuh"

namespace hessa {
namespace {

using cuda::device_buffer;
using cuda::EigenMethod;

// HESSA_EIGEN_SOLVER=auto|jacobi|syevj|xsyev, so that benchmarks can time the routines on the same n.
enum class EigenChoice { Auto, Jacobi, Syevj, Xsyev };

// `auto` switches from syevjBatched to XsyevBatched at n = cuda::kSyevjMaxN (32) because that is syevj's
// limit; which routine is faster near it (or whether XsyevBatched wins earlier) has not been measured yet.
using cuda::kSyevjMaxN;

EigenChoice eigen_choice_from_env() {
  const char* value = std::getenv("HESSA_EIGEN_SOLVER");
  if (value == nullptr || *value == '\0') return EigenChoice::Auto;
  const std::string v = value;
  if (v == "auto") return EigenChoice::Auto;
  if (v == "jacobi") return EigenChoice::Jacobi;
  if (v == "syevj") return EigenChoice::Syevj;
  if (v == "xsyev") return EigenChoice::Xsyev;
  throw InputError("HESSA_EIGEN_SOLVER=" + v + ": expected auto, jacobi, syevj or xsyev");
}

std::string eigen_choice_rule(EigenChoice choice) {
  switch (choice) {
    case EigenChoice::Jacobi: return "eigen: small Jacobi (HESSA_EIGEN_SOLVER=jacobi)";
    case EigenChoice::Syevj: return "eigen: syevjBatched (HESSA_EIGEN_SOLVER=syevj)";
    case EigenChoice::Xsyev: return "eigen: XsyevBatched (HESSA_EIGEN_SOLVER=xsyev)";
    case EigenChoice::Auto: break;
  }
  return "eigen: small Jacobi for n <= " + std::to_string(detail::kSmallEigenMaxN) +
         ", syevjBatched for n <= " + std::to_string(kSyevjMaxN) + ", else XsyevBatched";
}

EigenMethod eigen_method_for(EigenChoice choice, int n) {
  switch (choice) {
    case EigenChoice::Jacobi:
      if (n > detail::kSmallEigenMaxN) {
        throw InputError("HESSA_EIGEN_SOLVER=jacobi handles n <= " + std::to_string(detail::kSmallEigenMaxN) +
                         ", but the points have n = " + std::to_string(n) + "; use auto, syevj or xsyev");
      }
      return EigenMethod::SmallJacobi;
    case EigenChoice::Syevj:
      if (n > kSyevjMaxN) {
        throw InputError(
            "HESSA_EIGEN_SOLVER=syevj: cusolverDnDsyevjBatched handles n <= " + std::to_string(kSyevjMaxN) +
            ", but the points have n = " + std::to_string(n) + "; use auto or xsyev");
      }
      return EigenMethod::SyevjBatched;
    case EigenChoice::Xsyev: return EigenMethod::XsyevBatched;
    case EigenChoice::Auto: break;
  }
  if (n <= detail::kSmallEigenMaxN) return EigenMethod::SmallJacobi;
  return n <= kSyevjMaxN ? EigenMethod::SyevjBatched : EigenMethod::XsyevBatched;
}

using cuda::device_from_env;

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, EigenChoice choice)
      : resources_(device), choice_(choice), eigen_(resources_), objective_(resources_), jacobians_(resources_) {
    cudaDeviceProp prop{};
    HESSA_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    device_name_ = prop.name;
    sm_ = std::to_string(prop.major) + std::to_string(prop.minor);
    // Peak bandwidth = 2 (double data rate) x memory clock x bus width; left 0 when the device does not say.
    int clock_khz = 0, bus_bits = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, device) == cudaSuccess &&
        cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, device) == cudaSuccess) {
      peak_bandwidth_ = 2.0 * double(clock_khz) * 1e3 * double(bus_bits) / 8.0;
    } else {
      (void)cudaGetLastError();  // (clears the error the query left)
      peak_bandwidth_ = 0;
    }
  }

  std::string name() const override {
    // After a run, also the solvers that ran (the metadata's "backend" is written at the end): gpu-check asserts it.
    const std::string ran = eigen_.methods_run();
    return "cuda (" + device_name_ + ", sm_" + sm_ + ", " + eigen_choice_rule(choice_) +
           (ran.empty() ? "" : "; eigen ran: " + ran) + ")";
  }
  std::string device_name() const override { return "cuda (" + device_name_ + ", sm_" + sm_ + ")"; }
  BackendKind kind() const override { return BackendKind::Cuda; }
  double peak_memory_bandwidth() const override { return peak_bandwidth_; }

  std::size_t chunk_capacity(int n, const AnalysisOptions& options) const override {
    const std::size_t free = free_bytes();  // makes the device current for the query below too
    const cuda::Eigensolver::Footprint eigen = eigen_.footprint(eigen_method_for(choice_, n), n, options.eigenvectors);
    // Half of the free memory: the rest is headroom for cuSOLVER's internal allocations, the context's
    // growth and other processes on the GPU.
    std::size_t budget = free / 2;
    budget = budget > eigen.fixed_bytes ? budget - eigen.fixed_bytes : 0;
    if (detail::uses_gradients(options.stencil)) {
      budget = budget > cuda::kTapeScratchBudget ? budget - cuda::kTapeScratchBudget : 0;  // the sweeps' scratch
    }
    const std::size_t fit = budget / (bytes_per_point(n, options) + eigen.bytes_per_matrix);
    // The chunk's ChunkResult and points live in host memory too: capped by the host's budget as on the CPU.
    const std::size_t most = std::min({std::size_t(1) << 20, eigen.max_batch, host_chunk_limit(n, options)});
    return std::clamp<std::size_t>(fit, 1, std::max<std::size_t>(most, 1));
  }

  std::size_t jacobian_chunk_capacity(int m, int k, JacobianMode mode) const override {
    // Half of the free memory: the rest is headroom for the context and other processes.
    const std::size_t fit = free_bytes() / 2 / jacobian_bytes_per_point(m, k, mode);
    return std::clamp<std::size_t>(fit, 1, std::size_t(1) << 20);
  }

  void begin_chunk(int n, const AnalysisOptions& options, const double* points, std::size_t count,
                   ChunkResult& out) override {
    resources_.make_current();
    method_ = eigen_method_for(choice_, n);  // before any work: it may reject n
    n_ = n;
    options_ = options;
    count_ = count;
    out_ = &out;
    host_points_ = points;  // the caller's points outlive the chunk
    program_ = detail::ProgramView{nullptr, 0, n};
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    points_.resize(count * std::size_t(n));
    cuda::copy_to_device(points_.data(), points, count * std::size_t(n), stream());
    evals_.resize(count * std::size_t(detail::stencil_size(options.stencil, n) *
                                      detail::values_per_evaluation(options.stencil, n)));
    fx_.resize(count);
    hess_err_.resize(count);
    grad_err_.resize(count);
    g_.resize(count * std::size_t(n));
    H_.resize(count * nn);
    w_.resize(count * std::size_t(n));
    if (options.eigenvectors) V_.resize(count * nn);
    info_.resize(count);
    status_.resize(count);
    results_.resize(count);
  }

  void evaluate_stencil(const CompiledFunction& f) override {
    // The program is a few hundred bytes: copied every chunk rather than cached by the address of its
    // code, which a later CompiledFunction could reuse.
    const std::vector<detail::Instruction>& code = f.code();
    code_.resize(code.size());
    cuda::copy_to_device(code_.data(), code.data(), code.size(), stream());
    program_ = detail::ProgramView{code_.data(), std::int32_t(code.size()), n_};
    if (!detail::uses_gradients(options_.stencil)) {
      cuda::evaluate_stencil(program_, options_.stencil, options_.step_scale, points_.data(), count_, evals_.data(),
                             stream());
      return;
    }
    // The tape (Backend::analyze has checked there is one), and each resident thread's values and adjoints.
    tape_.resize(f.tape().size());
    cuda::copy_to_device(tape_.data(), f.tape().data(), f.tape().size(), stream());
    const detail::TapeView tape{tape_.data(), std::int32_t(f.tape().size())};
    const std::size_t per_thread = cuda::tape_scratch_bytes_per_thread(tape, options_.stencil);
    if (per_thread * std::size_t(cuda::kThreadsPerBlock) > cuda::kTapeScratchBudget) {
      throw InputError("the function's tape has " + std::to_string(f.tape().size()) + " nodes: one block of " +
                       std::to_string(cuda::kThreadsPerBlock) + " GPU threads would need " +
                       std::to_string(per_thread * std::size_t(cuda::kThreadsPerBlock) >> 20) +
                       " MiB of sweep scratch, more than the " + std::to_string(cuda::kTapeScratchBudget >> 20) +
                       " MiB budget; use --backend cpu or a value stencil");
    }
    const std::int64_t work = std::int64_t(count_) * detail::stencil_size(options_.stencil, n_);
    const std::int64_t threads = cuda::tape_scratch_threads(tape, options_.stencil, work, cuda::kTapeScratchBudget);
    const std::size_t bytes = std::size_t(threads) * cuda::tape_scratch_bytes_per_thread(tape, options_.stencil);
    tape_scratch_.resize((bytes + sizeof(double) - 1) / sizeof(double));
    cuda::evaluate_tape_stencil(tape, n_, options_.stencil, options_.step_scale, points_.data(), count_, evals_.data(),
                                tape_scratch_.data(), threads, stream());
  }

  void evaluate_objective_stencil(const Objective& f) override {
    objective_.prepare(f);
    if (detail::uses_gradients(options_.stencil)) {
      // Model backpropagation and subspace tapes have no CUDA kernels yet: this stage runs on the host CPU
      // (host/cpu/objective_gradient_stencil.cpp) and its values join the chunk here; the rest stays on the GPU.
      host_evals_.resize(evals_.size());
      cpu::evaluate_objective_gradient_stencil(f, options_.stencil, options_.step_scale, host_points_, count_,
                                               host_evals_.data());
      cuda::copy_to_device(evals_.data(), host_evals_.data(), host_evals_.size(), stream());
      return;
    }
    objective_.evaluate_stencil(options_.stencil, options_.step_scale, points_.data(), count_, evals_.data());
  }

  void assemble() override {
    cuda::assemble(options_.stencil, n_, options_.step_scale, points_.data(), count_, evals_.data(), fx_.data(),
                   g_.data(), H_.data(), hess_err_.data(), grad_err_.data(), status_.data(), stream());
  }

  void eigensolve() override {
    eigen_.eigensolve(method_, n_, count_, H_.data(), status_.data(), w_.data(),
                      options_.eigenvectors ? V_.data() : nullptr, info_.data());
  }

  void analyze_points() override {
    cuda::analyze(program_, options_, points_.data(), count_, fx_.data(), g_.data(), H_.data(), w_.data(), info_.data(),
                  hess_err_.data(), grad_err_.data(), status_.data(), results_.data(), stream());
  }

  void evaluate_gradient_steps(const Objective&) override {
    // objective_ was prepared for this objective by evaluate_objective_stencil.
    objective_.evaluate_gradient_steps(points_.data(), g_.data(), count_, results_.data());
  }

  void hessian_vector_products(const Objective& f, const double* points, std::size_t count, const double* directions,
                               std::size_t directions_stride, int r, double* fx, double* g, double* hv) override {
    if (f.batch != nullptr) {
      // A caller's function runs on the host (check_batch_function): its gradient differences there too.
      cpu::objective_hessian_vector_products(f, points, count, directions, directions_stride, r, fx, g, hv);
      return;
    }
    resources_.make_current();
    if (f.model != nullptr) {
      // The R-operator over cuBLAS (model_gradient.cu); its own buffers, so a chunk in progress is not disturbed.
      if (!model_gradient_) model_gradient_.emplace(resources_);
      model_gradient_->hessian_vector_products(*f.model, points, count, directions, directions_stride, r, fx, g, hv);
      return;
    }
    expression_hessian_vector_products(*f.expression, points, count, directions, directions_stride, r, fx, g, hv);
  }

  void finish_chunk() override {
    ChunkResult& out = *out_;
    cuda::copy_to_host(out.points.data(), results_.data(), count_, stream());
    if (options_.keep_gradient) cuda::copy_to_host(out.gradient.data(), g_.data(), g_.size(), stream());
    if (options_.keep_hessian) cuda::copy_to_host(out.hessian.data(), H_.data(), H_.size(), stream());
    if (options_.keep_eigenvalues) cuda::copy_to_host(out.eigenvalues.data(), w_.data(), w_.size(), stream());
    if (options_.eigenvectors) cuda::copy_to_host(out.eigenvectors.data(), V_.data(), V_.size(), stream());
    // Also where a fault inside any kernel above is reported (unless HESSA_CUDA_SYNC names it at its launch);
    // `out` is read only after it.
    HESSA_CUDA_TRY(cudaStreamSynchronize(stream()));
    out_ = nullptr;
  }

  void evaluate_jacobians(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                          const double* points, std::size_t count, JacobianResult& out) override {
    resources_.make_current();
    jacobians_.compute(functions, mode, step_scale, points, count, out);
  }

 private:
  void wait_for_stage() override { HESSA_CUDA_TRY(cudaStreamSynchronize(stream())); }  // for time_stages

  // Forward-over-reverse on the tape (tape_stencil.cu), host memory in and out, in batches of points whose
  // arrays fit beside the sweeps' scratch: each batch's points and directions up, f, g and H d down. Synchronizes.
  void expression_hessian_vector_products(const CompiledFunction& expression, const double* points, std::size_t count,
                                          const double* directions, std::size_t directions_stride, int r, double* fx,
                                          double* g, double* hv) {
    if (!expression.has_tape()) {
      throw InputError("Hessian-vector products need the expression's tape: " + expression.why_no_tape());
    }
    if (count == 0) return;
    const auto& nodes = expression.tape();
    hvp_tape_.resize(nodes.size());
    cuda::copy_to_device(hvp_tape_.data(), nodes.data(), nodes.size(), stream());
    const detail::TapeView tape{hvp_tape_.data(), std::int32_t(nodes.size())};
    const std::size_t per_thread = cuda::tape_scratch_bytes_per_thread(tape, StencilKind::Exact);
    if (per_thread * std::size_t(cuda::kThreadsPerBlock) > cuda::kTapeScratchBudget) {
      throw InputError("the function's tape has " + std::to_string(nodes.size()) +
                       " nodes: too many for the GPU's sweep scratch; use --backend cpu");
    }
    const std::size_t n = std::size_t(expression.dimension());
    const std::size_t rn = std::size_t(r) * n;
    const bool shared = directions_stride == 0;
    // Points per batch: at most 2^20, and with their arrays (the point, f, g, its directions unless shared, its
    // products) in half the free memory after the sweeps' scratch budget.
    const std::size_t per_point = sizeof(double) * (2 * n + 1 + (shared ? 0 : rn) + rn);
    const std::size_t free = free_bytes() / 2;
    const std::size_t room = free > cuda::kTapeScratchBudget ? free - cuda::kTapeScratchBudget : 0;
    const std::size_t batch = std::clamp<std::size_t>(room / per_point, 1, std::min(count, std::size_t(1) << 20));
    const std::int64_t work = std::int64_t(batch) * std::max(r, 1);
    const std::int64_t threads = cuda::tape_scratch_threads(tape, StencilKind::Exact, work, cuda::kTapeScratchBudget);
    hvp_scratch_.resize((std::size_t(threads) * per_thread + sizeof(double) - 1) / sizeof(double));
    hvp_points_.resize(batch * n);
    hvp_f_.resize(batch);
    hvp_g_.resize(batch * n);
    hvp_out_.resize(std::max<std::size_t>(batch * rn, 1));
    hvp_directions_.resize(std::max<std::size_t>(shared ? rn : batch * rn, 1));
    if (shared) cuda::copy_to_device(hvp_directions_.data(), directions, rn, stream());
    for (std::size_t first = 0; first < count; first += batch) {
      const std::size_t m = std::min(batch, count - first);
      cuda::copy_to_device(hvp_points_.data(), points + first * n, m * n, stream());
      if (directions_stride == rn) {
        cuda::copy_to_device(hvp_directions_.data(), directions + first * rn, m * rn, stream());
      } else if (!shared) {
        for (std::size_t p = 0; p < m; ++p) {
          cuda::copy_to_device(hvp_directions_.data() + p * rn, directions + (first + p) * directions_stride, rn,
                               stream());
        }
      }
      cuda::tape_hessian_vector_products(tape, int(n), hvp_points_.data(), m, hvp_directions_.data(), shared ? 0 : rn,
                                         r, hvp_f_.data(), hvp_g_.data(), hvp_out_.data(), hvp_scratch_.data(), threads,
                                         stream());
      cuda::copy_to_host(fx + first, hvp_f_.data(), m, stream());
      cuda::copy_to_host(g + first * n, hvp_g_.data(), m * n, stream());
      cuda::copy_to_host(hv + first * rn, hvp_out_.data(), m * rn, stream());
      // Also where a fault inside the kernel is reported; the device buffers are reused by the next batch.
      HESSA_CUDA_TRY(cudaStreamSynchronize(stream()));
    }
  }
  cudaStream_t stream() const { return resources_.stream(); }

  std::size_t free_bytes() const {
    resources_.make_current();
    std::size_t free = 0;
    std::size_t total = 0;
    HESSA_CUDA_TRY(cudaMemGetInfo(&free, &total));
    return free;
  }

  // Declaration order is construction order: the device's resources first; buffers are freed before the
  // handles and the stream they were used with are destroyed.
  cuda::Resources resources_;
  EigenChoice choice_;
  std::string device_name_;
  double peak_bandwidth_ = 0;  // bytes/s
  std::string sm_;
  cuda::Eigensolver eigen_;
  cuda::ObjectiveEvaluator objective_;
  cuda::Jacobians jacobians_;
  // The chunk in progress (begin_chunk .. finish_chunk).
  EigenMethod method_ = EigenMethod::SmallJacobi;
  int n_ = 0;
  AnalysisOptions options_;
  std::size_t count_ = 0;
  ChunkResult* out_ = nullptr;
  detail::ProgramView program_{nullptr, 0, 0};  // device code, or none: the gradient steps are left pending
  device_buffer<detail::Instruction> code_;
  const double* host_points_ = nullptr;
  std::vector<double> host_evals_;  // objective gradient stencils, computed on the host
  device_buffer<detail::TapeNode> tape_;
  // hessian_vector_products' own (a chunk may be in progress): the model's R-operator, an expression's tape sweeps
  std::optional<cuda::MlpGradient> model_gradient_;
  device_buffer<detail::TapeNode> hvp_tape_;
  device_buffer<double> hvp_scratch_, hvp_points_, hvp_directions_, hvp_f_, hvp_g_, hvp_out_;
  device_buffer<double> tape_scratch_;  // the gradient stencils' sweeps (kTapeScratchBudget at most)
  device_buffer<double> points_, evals_, fx_, g_, H_, w_, V_, hess_err_, grad_err_;
  device_buffer<int> info_;
  device_buffer<PointStatus> status_;
  device_buffer<PointAnalysis> results_;
};

}  // namespace

bool cuda_backend_compiled() { return true; }

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();  // no driver or no device: none to bind to
    return 0;
  }
  return count;
}

std::unique_ptr<Backend> detail::new_cuda_backend(std::string* why_unavailable) {
  const auto unavailable = [&](const std::string& reason) -> std::unique_ptr<Backend> {
    if (why_unavailable != nullptr) *why_unavailable = reason;
    return nullptr;
  };
  // A bad setting is the user's to fix (InputError), not a reason to fall back to the CPU silently; this one
  // is checked before the device query so that it is reported (and testable) on machines without a GPU.
  const EigenChoice choice = eigen_choice_from_env();
  int device_count = 0;
  const cudaError_t status = cudaGetDeviceCount(&device_count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();  // not sticky, but leave no error behind for the next checked call
    return unavailable(std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status) + " (" +
                       cudaGetErrorString(status) + ")");
  }
  if (device_count == 0) return unavailable("cudaGetDeviceCount found no CUDA device");
  const int device = device_from_env(device_count);
  try {
    return std::make_unique<CudaBackend>(device, choice);
  } catch (const DeviceError& e) {
    return unavailable("CUDA device " + std::to_string(device) + " is not usable: " + e.what());
  }
}

}  // namespace hessa
