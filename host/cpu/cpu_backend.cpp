// The CPU backend: runs the four stages over a chunk with OpenMP; workspaces persist across chunks.
#include <omp.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/backend.hpp"
#include "hessa/detail/small_eigen.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa {

std::size_t bytes_per_point(int n, const AnalysisOptions& options) {
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  const std::size_t doubles = std::size_t(detail::stencil_size(options.stencil, n) *
                                          detail::values_per_evaluation(options.stencil))  // stencil values
                              + std::size_t(n)                                             // the point
                              + 3 + std::size_t(n)                                         // f, g, error norms
                              + 2 * nn          // H and the eigensolver's copy
                              + std::size_t(n)  // eigenvalues
                              + (options.eigenvectors ? nn : 0);
  return doubles * sizeof(double) + sizeof(PointAnalysis) + sizeof(int) + sizeof(PointStatus);
}

std::size_t host_bytes_per_point(int n, const AnalysisOptions& options) {
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  const std::size_t kept = std::size_t(n)                                  // the point as read
                           + (options.keep_gradient ? std::size_t(n) : 0)  // ChunkResult's copies
                           + (options.keep_hessian ? nn : 0) + (options.keep_eigenvalues ? std::size_t(n) : 0);
  return bytes_per_point(n, options) + kept * sizeof(double);
}

namespace {

class CpuBackend final : public Backend {
 public:
  std::string name() const override {
    return "cpu (OpenMP, " + std::to_string(omp_get_max_threads()) +
           (omp_get_max_threads() == 1 ? " thread" : " threads") +
           "; eigen: Jacobi for n <= " + std::to_string(detail::kSmallEigenMaxN) + ", else LAPACK dsyevd)";
  }

  std::size_t chunk_capacity(int n, const AnalysisOptions& options) const override {
    // The host's memory budget (cgroup-aware; the CLI's --memory narrows it further through plan_chunk), and at
    // most 65536 points so results stream out steadily.
    const std::size_t fit = host_memory_budget(0).chunk_bytes / host_bytes_per_point(n, options);
    return std::clamp<std::size_t>(fit, 1, 65536);
  }

  void analyze(const CompiledFunction& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out) override {
    const detail::ProgramView program = f.view();
    run_stages(f.dimension(), program, options, points, count, out, [&](double* evals) {
      cpu::evaluate_stencil(program, options.stencil, options.step_scale, points, count, evals);
    });
  }

  void analyze(const Objective& f, const AnalysisOptions& options, const double* points, std::size_t count,
               ChunkResult& out) override {
    if (f.plain_expression()) {
      analyze(*f.expression, options, points, count, out);
      return;
    }
    const int n = f.dimension();
    // No program: analyze() leaves f(x - step g) pending, evaluated below in blocks like the stencil.
    run_stages(n, detail::ProgramView{nullptr, 0, n}, options, points, count, out, [&](double* evals) {
      cpu::evaluate_objective_stencil(f, options.stencil, options.step_scale, points, count, evals);
    });
    cpu::evaluate_gradient_steps(f, points, g_.data(), count, out.points.data());
  }

 private:
  // stencil (given) -> assemble -> eigen -> analyze over one chunk of n-dimensional points.
  template <class EvaluateStencil>
  void run_stages(int n, const detail::ProgramView& program, const AnalysisOptions& options, const double* points,
                  std::size_t count, ChunkResult& out, EvaluateStencil evaluate_stencil) {
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    out.resize(count, n, options);
    evals_.resize(
        count * std::size_t(detail::stencil_size(options.stencil, n) * detail::values_per_evaluation(options.stencil)));
    fx_.resize(count);
    hess_err_.resize(count);
    grad_err_.resize(count);
    g_.resize(count * std::size_t(n));
    H_.resize(count * nn);
    w_.resize(count * std::size_t(n));
    info_.resize(count);
    status_.resize(count);

    evaluate_stencil(evals_.data());
    cpu::assemble(options.stencil, n, options.step_scale, points, count, evals_.data(), fx_.data(), g_.data(),
                  H_.data(), hess_err_.data(), grad_err_.data(), status_.data());
    cpu::eigensolve(n, count, H_.data(), status_.data(), w_.data(),
                    options.eigenvectors ? out.eigenvectors.data() : nullptr, info_.data());
    cpu::analyze(program, options, points, count, fx_.data(), g_.data(), H_.data(), w_.data(), info_.data(),
                 hess_err_.data(), grad_err_.data(), status_.data(), out.points.data());

    if (options.keep_gradient) std::copy(g_.begin(), g_.end(), out.gradient.begin());
    if (options.keep_hessian) std::copy(H_.begin(), H_.end(), out.hessian.begin());
    if (options.keep_eigenvalues) std::copy(w_.begin(), w_.end(), out.eigenvalues.begin());
  }

  std::vector<double> evals_, fx_, g_, H_, w_, hess_err_, grad_err_;
  std::vector<int> info_;
  std::vector<PointStatus> status_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace hessa
