// What every backend shares: the pipeline's sequence (stencil -> assemble -> eigen -> analyze -> gradient steps ->
// copy out) written once over the stage primitives, and the memory a point needs on any backend. (The one factory
// is host/backend/backend_factory.cpp.)
#include "hessa/backend.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessa/detail/jacobian.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/errors.hpp"
#include "hessa/jacobian.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa {

// --- the pipeline ------------------------------------------------------------------------------------------------

template <class Run>
void Backend::stage(Stage which, Run&& run) {
  if (stage_times_ == nullptr) {
    run();
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  run();
  wait_for_stage();
  stage_times_->seconds[int(which)] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Backend::analyze(const CompiledFunction& f, const AnalysisOptions& options, const double* points,
                      std::size_t count, ChunkResult& out) {
  if (detail::uses_gradients(options.stencil) && !f.has_tape()) {
    throw InputError(std::string("the ") + stencil_name(options.stencil) +
                     " stencil needs reverse-mode gradients, and this function has none: " + f.why_no_tape());
  }
  out.resize(count, f.dimension(), options);
  if (count == 0) return;
  stage(Stage::Upload, [&] { begin_chunk(f.dimension(), options, points, count, out); });
  stage(Stage::Stencil, [&] { evaluate_stencil(f); });
  stage(Stage::Assemble, [&] { assemble(); });
  stage(Stage::Eigen, [&] { eigensolve(); });
  stage(Stage::Analyze, [&] { analyze_points(); });  // f(x - step g) included: f is a program the stages run
  stage(Stage::Download, [&] { finish_chunk(); });
}

void BatchFunction::gradients(const double* /*x*/, std::size_t /*m*/, double* /*values*/, double* /*g*/) const {
  throw std::logic_error("BatchFunction::gradients called on a function without gradients");
}

void check_host_function_backend(BackendKind backend) {
  if (backend != BackendKind::Cpu)
    throw InputError(
        "a caller's own function runs on the CPU backend (its values are computed on the host): use "
        "backend 'cpu' or 'auto'");
}

void check_batch_function(const BatchFunction& f, StencilKind stencil, BackendKind backend) {
  check_host_function_backend(backend);
  if (stencil == StencilKind::HyperDual || stencil == StencilKind::Exact)
    throw InputError(std::string("the ") + stencil_name(stencil) +
                     " stencil evaluates the function on dual numbers or its tape, which a caller's own function "
                     "does not have: use central, compact, richardson, or gradient (with a gradient function)");
  if (stencil == StencilKind::Gradient && !f.has_gradient())
    throw InputError(
        "the gradient stencil differences gradients: give the function's gradient (grad=) or use "
        "central, compact or richardson");
}

void Backend::analyze(const Objective& f, const AnalysisOptions& options, const double* points, std::size_t count,
                      ChunkResult& out) {
  if (f.plain_expression()) {
    analyze(*f.expression, options, points, count, out);
    return;
  }
  if (f.batch != nullptr) check_batch_function(*f.batch, options.stencil, kind());
  if (detail::uses_gradients(options.stencil) && f.expression != nullptr && !f.expression->has_tape()) {
    throw InputError(
        std::string("the ") + stencil_name(options.stencil) +
        " stencil needs reverse-mode gradients, and this function has none: " + f.expression->why_no_tape());
  }
  out.resize(count, f.dimension(), options);
  if (count == 0) return;
  stage(Stage::Upload, [&] { begin_chunk(f.dimension(), options, points, count, out); });
  stage(Stage::Stencil, [&] { evaluate_objective_stencil(f); });
  stage(Stage::Assemble, [&] { assemble(); });
  stage(Stage::Eigen, [&] { eigensolve(); });
  stage(Stage::Analyze, [&] {
    analyze_points();            // leaves f(x - step g) pending: only the objective can evaluate it ...
    evaluate_gradient_steps(f);  // ... in batches of materialized points, like the stencil
  });
  stage(Stage::Download, [&] { finish_chunk(); });
}

void Backend::jacobians(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                        const double* points, std::size_t count, JacobianResult& out) {
  if (functions.empty()) throw std::invalid_argument("Backend::jacobians: no functions");
  const int m = functions[0].dimension();
  for (const CompiledFunction& f : functions) {
    if (f.dimension() != m || m < 1)
      throw std::invalid_argument("Backend::jacobians: the functions must share one dimension m >= 1");
  }
  out.resize(count, m, int(functions.size()));
  if (count == 0) return;
  evaluate_jacobians(functions, mode, step_scale, points, count, out);
}

// --- memory per point, on any backend ----------------------------------------------------------------------------

std::size_t bytes_per_point(int n, const AnalysisOptions& options) {
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  const std::size_t doubles = std::size_t(detail::stencil_size(options.stencil, n) *
                                          detail::values_per_evaluation(options.stencil, n))  // stencil values
                              + std::size_t(n)                                                // the point
                              + 3 + std::size_t(n)                                            // f, g, error norms
                              + 2 * nn          // H and the eigensolver's copy
                              + std::size_t(n)  // eigenvalues
                              + (options.eigenvectors ? nn : 0);
  return doubles * sizeof(double) + sizeof(PointAnalysis) + sizeof(int) + sizeof(PointStatus);
}

std::size_t host_bytes_per_point(int n, const AnalysisOptions& options, std::size_t chunks_in_flight) {
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  const std::size_t kept = std::size_t(n)                                  // the point as read
                           + (options.keep_gradient ? std::size_t(n) : 0)  // ChunkResult's copies
                           + (options.keep_hessian ? nn : 0) + (options.keep_eigenvalues ? std::size_t(n) : 0);
  // Each further chunk in flight (read ahead, or waiting to be written) holds its points and whole ChunkResult.
  const std::size_t slot = (kept + (options.eigenvectors ? nn : 0)) * sizeof(double) + sizeof(PointAnalysis);
  const std::size_t further = chunks_in_flight > 1 ? (chunks_in_flight - 1) * slot : 0;
  return bytes_per_point(n, options) + kept * sizeof(double) + further;
}

std::size_t jacobian_bytes_per_point(int m, int k, JacobianMode mode) {
  const std::size_t evals = std::size_t(k) * std::size_t(detail::jacobian_evals_per_output(mode, m));
  const std::size_t doubles = evals * (mode == JacobianMode::Dual ? 2 : 1)  // values (+ derivatives)
                              + std::size_t(m)                              // the point
                              + std::size_t(k) * (1 + std::size_t(m))       // f, J
                              + 1;                                          // error
  return doubles * sizeof(double) + sizeof(PointStatus);
}

std::size_t host_chunk_limit(int n, const AnalysisOptions& options) {
  return std::max<std::size_t>(1, host_memory_budget(0).chunk_bytes / host_bytes_per_point(n, options));
}

}  // namespace hessa
