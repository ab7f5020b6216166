// The CUDA backend: runs the four stages over a chunk on one stream of one GPU, as host/cpu/cpu_backend.cpp
// does with OpenMP. Device buffers, the cuSOLVER/cuBLAS handles and their workspaces persist across chunks.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "cuda_stages.cuh"
#include "device_select.cuh"
#include "hessa/backend.hpp"
#include "hessa/detail/small_eigen.hpp"
#include "hessa/errors.hpp"

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

using cuda::CurrentDevice;
using cuda::device_from_env;

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, EigenChoice choice)
      : device_(device), choice_(choice), eigen_(stream_.get()), objective_(stream_.get()) {
    cudaDeviceProp prop{};
    HESSA_CUDA_TRY(cudaGetDeviceProperties(&prop, device));
    device_name_ = prop.name;
    sm_ = std::to_string(prop.major) + std::to_string(prop.minor);
  }

  std::string name() const override {
    return "cuda (" + device_name_ + ", sm_" + sm_ + ", " + eigen_choice_rule(choice_) + ")";
  }

  std::size_t chunk_capacity(int n, const AnalysisOptions& options) const override {
    device_.make_current();
    std::size_t free_bytes = 0;
    std::size_t total_bytes = 0;
    HESSA_CUDA_TRY(cudaMemGetInfo(&free_bytes, &total_bytes));
    const cuda::Eigensolver::Footprint eigen = eigen_.footprint(eigen_method_for(choice_, n), n, options.eigenvectors);
    // Half of the free memory: the rest is headroom for cuSOLVER's internal allocations, the context's
    // growth and other processes on the GPU.
    std::size_t budget = free_bytes / 2;
    budget = budget > eigen.fixed_bytes ? budget - eigen.fixed_bytes : 0;
    const std::size_t fit = budget / (bytes_per_point(n, options) + eigen.bytes_per_matrix);
    const std::size_t most = std::min<std::size_t>(std::size_t(1) << 20, eigen.max_batch);
    return std::clamp<std::size_t>(fit, 1, std::max<std::size_t>(most, 1));
  }

  void analyze(const CompiledFunction& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out) override {
    const int n = f.dimension();
    out.resize(count, n, options);
    if (count == 0) return;
    device_.make_current();
    const EigenMethod method = eigen_method_for(choice_, n);  // before any work: it may reject n
    const cudaStream_t stream = stream_.get();

    // The program is a few hundred bytes: copied every chunk rather than cached by the address of its
    // code, which a later CompiledFunction could reuse.
    const std::vector<detail::Instruction>& code = f.code();
    code_.resize(code.size());
    cuda::copy_to_device(code_.data(), code.data(), code.size(), stream);
    prepare_chunk(n, options, points, count);

    const detail::ProgramView program{code_.data(), std::int32_t(code.size()), n};
    cuda::evaluate_stencil(program, options.stencil, options.step_scale, points_.data(), count, evals_.data(), stream);
    assemble_to_analysis(program, method, n, options, count);
    copy_out(options, count, out);
  }

  void analyze(const Objective& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out) override {
    if (f.plain_expression()) {
      analyze(*f.expression, options, points, count, out);
      return;
    }
    const int n = f.dimension();
    out.resize(count, n, options);
    if (count == 0) return;
    device_.make_current();
    const EigenMethod method = eigen_method_for(choice_, n);
    prepare_chunk(n, options, points, count);
    objective_.prepare(f);
    objective_.evaluate_stencil(options.stencil, options.step_scale, points_.data(), count, evals_.data());
    // No program: analyze leaves f(x - step g) pending, evaluated below in batches like the stencil.
    assemble_to_analysis(detail::ProgramView{nullptr, 0, n}, method, n, options, count);
    objective_.evaluate_gradient_steps(points_.data(), g_.data(), count, results_.data());
    copy_out(options, count, out);
  }

 private:
  // Copies the chunk's points (count x n) to the device and sizes the per-chunk buffers.
  void prepare_chunk(int n, const AnalysisOptions& options, const double* points, std::size_t count) {
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    points_.resize(count * std::size_t(n));
    cuda::copy_to_device(points_.data(), points, count * std::size_t(n), stream_.get());
    evals_.resize(
        count * std::size_t(detail::stencil_size(options.stencil, n) * detail::values_per_evaluation(options.stencil)));
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

  // assemble -> eigen -> analyze on the stencil values in evals_.
  void assemble_to_analysis(const detail::ProgramView& program, EigenMethod method, int n,
                            const AnalysisOptions& options, std::size_t count) {
    const cudaStream_t stream = stream_.get();
    cuda::assemble(options.stencil, n, options.step_scale, points_.data(), count, evals_.data(), fx_.data(), g_.data(),
                   H_.data(), hess_err_.data(), grad_err_.data(), status_.data(), stream);
    eigen_.eigensolve(method, n, count, H_.data(), status_.data(), w_.data(),
                      options.eigenvectors ? V_.data() : nullptr, info_.data(), stream);
    cuda::analyze(program, options, points_.data(), count, fx_.data(), g_.data(), H_.data(), w_.data(), info_.data(),
                  hess_err_.data(), grad_err_.data(), status_.data(), results_.data(), stream);
  }

  void copy_out(const AnalysisOptions& options, std::size_t count, ChunkResult& out) {
    const cudaStream_t stream = stream_.get();
    cuda::copy_to_host(out.points.data(), results_.data(), count, stream);
    if (options.keep_gradient) cuda::copy_to_host(out.gradient.data(), g_.data(), g_.size(), stream);
    if (options.keep_hessian) cuda::copy_to_host(out.hessian.data(), H_.data(), H_.size(), stream);
    if (options.keep_eigenvalues) cuda::copy_to_host(out.eigenvalues.data(), w_.data(), w_.size(), stream);
    if (options.eigenvectors) cuda::copy_to_host(out.eigenvectors.data(), V_.data(), V_.size(), stream);
    // Also where a fault inside any kernel above is reported; `out` is read only after it.
    HESSA_CUDA_TRY(cudaStreamSynchronize(stream));
  }

  // Declaration order is construction order: the device first; buffers are freed before the handle and
  // the stream they were used with are destroyed.
  CurrentDevice device_;
  EigenChoice choice_;
  std::string device_name_;
  std::string sm_;
  cuda::CudaStream stream_;
  cuda::Eigensolver eigen_;
  cuda::ObjectiveEvaluator objective_;
  device_buffer<detail::Instruction> code_;
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

std::unique_ptr<Backend> make_cuda_backend(std::string* why_unavailable) {
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
