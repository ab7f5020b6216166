// The CPU backend: the stage primitives of hessa::Backend as OpenMP loops (one file per stage) over arrays in
// host memory that persist across chunks; results and eigenvectors are written straight into the ChunkResult.
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/backend.hpp"
#include "hessa/detail/backend_factory.hpp"
#include "hessa/detail/small_eigen.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa {
namespace {

constexpr std::size_t kMinPointsPerThread = 32;

// The bytes a chunk's arrays may take and still stay in cache between stages: 2 MiB a thread, the L2 of a core
// here and of most server cores. A constant rather than the machine's own figure, so that the chunking (which the
// metadata records) depends on the thread count alone.
constexpr std::size_t kCacheResidentBytesPerThread = std::size_t(2) << 20;

class CpuBackend final : public Backend {
 public:
  // Every BLAS call of this backend is made from inside its OpenMP loops (or is small): one BLAS thread, and
  // OpenBLAS's spinning pool stopped before the first chunk rather than at the first eigensolve.
  CpuBackend() { cpu::use_single_threaded_blas(); }
  std::string name() const override {
    return "cpu (OpenMP, " + threads() + "; eigen: Jacobi for n <= " + std::to_string(detail::kSmallEigenMaxN) +
           ", else LAPACK dsyevd, eigenvalues alone dsytrd + QL in SIMD lanes)";
  }
  // (Jacobians have always said "threads", even for one: kept so that their outputs do not change.)
  std::string device_name() const override {
    return "cpu (OpenMP, " + std::to_string(omp_get_max_threads()) + " threads)";
  }
  BackendKind kind() const override { return BackendKind::Cpu; }

  std::size_t chunk_capacity(int n, const AnalysisOptions& options) const override {
    // The host's memory budget (cgroup-aware; the CLI's --memory narrows it further through plan_chunk), at
    // most 65536 points so results stream out steadily, and cache-sized: the stages pass over a chunk's arrays
    // one after another, and arrays that fit the cores' L2 caches reach the next stage from cache, their pages
    // reused from chunk to chunk instead of faulted in. Measured (rosenbrock, --eigenvalues, 2 threads with 2 MiB
    // of L2 each), one chunk against cache-sized ones: n = 32, B = 4000: 0.15 s against 0.11 s (161 points a
    // chunk); n = 8, B = 1e5: 0.35 s against 0.30 s; n = 128, B = 400: 0.17 s against 0.13 s. At least
    // kMinPointsPerThread a thread, so the OpenMP loops stay balanced.
    const std::size_t threads = std::size_t(std::max(1, omp_get_max_threads()));
    const std::size_t cache_points = kCacheResidentBytesPerThread * threads / bytes_per_point(n, options);
    const std::size_t floor_points = kMinPointsPerThread * threads;
    return std::clamp<std::size_t>(std::min(host_chunk_limit(n, options), std::max(cache_points, floor_points)), 1,
                                   65536);
  }

  std::size_t jacobian_chunk_capacity(int m, int k, JacobianMode mode) const override {
    // As for the analysis: the host's memory budget, at most 65536 points.
    return std::clamp<std::size_t>(host_memory_budget(0).chunk_bytes / jacobian_bytes_per_point(m, k, mode), 1, 65536);
  }

  void hessian_vector_products(const Objective& f, const double* points, std::size_t count, const double* directions,
                               std::size_t directions_stride, int r, double* fx, double* g, double* hv) override {
    cpu::objective_hessian_vector_products(f, points, count, directions, directions_stride, r, fx, g, hv);
  }

  void begin_chunk(int n, const AnalysisOptions& options, const double* points, std::size_t count,
                   ChunkResult& out) override {
    n_ = n;
    options_ = options;
    points_ = points;  // read in place: the caller's points outlive the chunk
    count_ = count;
    out_ = &out;
    program_ = detail::ProgramView{nullptr, 0, n};
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    evals_.resize(count * std::size_t(detail::stencil_size(options.stencil, n) *
                                      detail::values_per_evaluation(options.stencil, n)));
    fx_.resize(count);
    hess_err_.resize(count);
    grad_err_.resize(count);
    g_.resize(count * std::size_t(n));
    H_.resize(count * nn);
    w_.resize(count * std::size_t(n));
    info_.resize(count);
    status_.resize(count);
  }

  void evaluate_stencil(const CompiledFunction& f) override {
    program_ = f.view();
    cpu::evaluate_stencil(program_, options_.stencil, options_.step_scale, points_, count_, evals_.data());
  }

  void evaluate_objective_stencil(const Objective& f) override {
    cpu::evaluate_objective_stencil(f, options_.stencil, options_.step_scale, points_, count_, evals_.data());
  }

  void assemble() override {
    cpu::assemble(options_.stencil, n_, options_.step_scale, points_, count_, evals_.data(), fx_.data(), g_.data(),
                  H_.data(), hess_err_.data(), grad_err_.data(), status_.data());
  }

  void eigensolve() override {
    cpu::eigensolve(n_, count_, H_.data(), status_.data(), w_.data(),
                    options_.eigenvectors ? out_->eigenvectors.data() : nullptr, info_.data());
  }

  void analyze_points() override {
    cpu::analyze(program_, options_, points_, count_, fx_.data(), g_.data(), H_.data(), w_.data(), info_.data(),
                 hess_err_.data(), grad_err_.data(), status_.data(), out_->points.data());
  }

  void evaluate_gradient_steps(const Objective& f) override {
    cpu::evaluate_gradient_steps(f, points_, g_.data(), count_, out_->points.data());
  }

  void finish_chunk() override {
    if (options_.keep_gradient) std::copy(g_.begin(), g_.end(), out_->gradient.begin());
    if (options_.keep_hessian) std::copy(H_.begin(), H_.end(), out_->hessian.begin());
    if (options_.keep_eigenvalues) std::copy(w_.begin(), w_.end(), out_->eigenvalues.begin());
    out_ = nullptr;
  }

  void evaluate_jacobians(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                          const double* points, std::size_t count, JacobianResult& out) override {
    jacobians_.compute(functions, mode, step_scale, points, count, out);
  }

 private:
  static std::string threads() {
    return std::to_string(omp_get_max_threads()) + (omp_get_max_threads() == 1 ? " thread" : " threads");
  }

  // The chunk in progress (begin_chunk .. finish_chunk).
  int n_ = 0;
  AnalysisOptions options_;
  const double* points_ = nullptr;
  std::size_t count_ = 0;
  ChunkResult* out_ = nullptr;
  detail::ProgramView program_{nullptr, 0, 0};  // no program: analyze_points leaves the gradient steps pending
  std::vector<double> evals_, fx_, g_, H_, w_, hess_err_, grad_err_;
  std::vector<int> info_;
  std::vector<PointStatus> status_;
  cpu::Jacobians jacobians_;
};

}  // namespace

std::unique_ptr<Backend> detail::new_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace hessa
