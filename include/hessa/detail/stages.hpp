// The pipeline stages' contracts, declared once for both backends: each is a function type whose trailing
// parameters are the backend's queue (none on the CPU, a cudaStream_t in kernels/). host/cpu/cpu_stages.hpp
// declares `detail::AssembleStage<> assemble;`, kernels/cuda_stages.cuh `detail::AssembleStage<cudaStream_t>
// assemble;`: a function declared through a function type has exactly its signature, so a definition that
// drifts from the contract is a new overload that no one calls and the declared one fails to link, and the
// static_asserts in each stage's file fail to compile (decltype of an overloaded name is an error).
// Arrays are in the backend's memory (host or device); the CUDA stages enqueue on the stream and never synchronize.
// The eigen and objective stages are classes on CUDA (they own solver parameters and materialization buffers and
// the eigensolver is chosen per n), so their contracts are the Backend primitives (hessa/backend.hpp) instead.
#pragma once

#include <cstddef>

#include "hessa/analysis_options.hpp"
#include "hessa/detail/bytecode.hpp"
#include "hessa/types.hpp"

namespace hessa::detail {

// evals[p * E + e] = f at stencil point e of point p, E = stencil_size(kind, n); for the hyper-dual kind
// each evaluation is 4 doubles (a, b, c, d) at evals[4 (p * E + e)], for gradient and exact values_per_evaluation
// doubles (detail/stencil.hpp) from the tape f.tape. On CUDA `f.code` and `f.tape` are device memory.
template <class... Queue>
using EvaluateStencilStage = void(const ProgramView& f, StencilKind kind, double step_scale, const double* points,
                                  std::size_t count, double* evals, Queue... queue);

// f, g (count x n), H (count x n x n, column-major) and the error estimates ||E_H||_F, ||E_g||_2 (count)
// from the stencil values; status NonfiniteF when any stencil value is NaN/Inf.
template <class... Queue>
using AssembleStage = void(StencilKind kind, int n, double step_scale, const double* points, std::size_t count,
                           const double* evals, double* f, double* g, double* H, double* hess_err, double* grad_err,
                           PointStatus* status, Queue... queue);

// The second-derivative test and gradient-step quantities per point. With a program (f.code != nullptr) the
// step's f(x - step g) is evaluated here; without one it is left pending (detail::step_pending).
template <class... Queue>
using AnalyzeStage = void(const ProgramView& f, const AnalysisOptions& options, const double* points, std::size_t count,
                          const double* fx, const double* g, const double* H, const double* w, const int* info,
                          const double* hess_err, const double* grad_err, const PointStatus* status, PointAnalysis* out,
                          Queue... queue);

}  // namespace hessa::detail
