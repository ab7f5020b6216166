// The CPU backend's pipeline stages (one file each): stencil -> assemble -> eigen -> analyze.
// Each is an OpenMP loop over the shared HESSA_HD math in include/hessa/detail/.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/stages.hpp"
#include "hessa/detail/tape.hpp"
#include "hessa/jacobian.hpp"
#include "hessa/objective.hpp"

namespace hessa::cpu {

// The contracts (and their comments) are in hessa/detail/stages.hpp, shared with kernels/cuda_stages.cuh.
detail::EvaluateStencilStage<> evaluate_stencil;  // stencil.cpp
detail::AssembleStage<> assemble;                 // assemble.cpp
detail::AnalyzeStage<> analyze;                   // analyze.cpp

// The gradient-based layouts of evaluate_stencil (tape_stencil.cpp), from the function's reverse-mode tape:
// Gradient (f and g at the point and at x +- h_j e_j) and Exact (f, g_j and column j of H per coordinate j).
void evaluate_gradient_stencil(const detail::TapeView& tape, int n, double step_scale, const double* points,
                               std::size_t count, double* evals);
void evaluate_exact_stencil(const detail::TapeView& tape, int n, const double* points, std::size_t count,
                            double* evals);

// The exact stencil's column coloring (hessian_coloring.cpp): H's structural pattern from the tape's nonlinear
// interactions (row_columns[i]: the columns j with H_ij possibly nonzero) and a color per column such that no
// two columns of a color share a row; nullopt when H is not sparse enough for it to pay.
struct HessianColoring {
  int colors = 0;
  std::vector<int> color_of;
  std::vector<std::vector<int>> row_columns;
};
std::optional<HessianColoring> color_hessian(const detail::TapeView& tape, int n);

// Ascending eigenvalues w (count x n) of each H; eigenvectors into V (count x n x n) when V != nullptr.
// Points whose status is not Ok are skipped (w = NaN). info[p] = LAPACK's info (0 = converged).
void eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V, int* info);

// The two solvers eigensolve() chooses between by n (exposed for the cut-over benchmark):
// the shared cyclic Jacobi (n <= detail::kSmallEigenMaxN only) and LAPACK dsyevd.
void small_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                      int* info);
void lapack_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                       int* info);

// OpenBLAS's own threads inside our OpenMP loops made dsyevd 20x slower at n = 32: BLAS calls made from
// OpenMP threads (LAPACK here, dgemm in model_loss.cpp) run single-threaded, and its idle pool is stopped.
// Idempotent; the CPU backend calls it when it is made.
void use_single_threaded_blas();

// --- Objectives evaluated at materialized points (model losses, affine subspaces): objective_stencil.cpp ---

// The evaluate_stencil layout for an objective (finite-difference kinds only): every stencil point is written
// out in the function's own coordinates (mapped through f.subspace when set) and evaluated in blocks.
void evaluate_objective_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                                std::size_t count, double* evals);

// Writes point y (f.dimension() coordinates, read through `view`) in the function's coordinates into x (y is
// scratch of f.dimension() doubles): the materialized points of objective_stencil.cpp and
// objective_gradient_stencil.cpp.
template <class View>
void materialize(const Objective& f, const View& view, double* y, double* x) {
  const int k = f.dimension();
  if (f.subspace == nullptr) {
    for (int c = 0; c < k; ++c) x[c] = view(c);
    return;
  }
  for (int c = 0; c < k; ++c) y[c] = view(c);
  f.subspace->map(y, x);
}

// The Gradient and Exact layouts for an objective (objective_gradient_stencil.cpp): gradients at materialized
// points (an expression's tape, a model's backpropagation) projected onto the subspace's directions; exact
// columns by forward-over-reverse (tangents seeded with the directions) or the model's R-operator.
void evaluate_objective_gradient_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                                         std::size_t count, double* evals);
// out[a] = sum_m D[a][m] v[m] for the k directions of f's subspace (a gradient in the function's coordinates seen
// in the analyzed ones), or out = v without one.
void project_gradient(const Objective& f, const double* v, double* out);
// f and its gradient in the function's own coordinates at `count` rows of x (count x f.inner_dimension()), on the
// calling thread.
void evaluate_objective_gradients(const Objective& f, const double* x, std::size_t count, double* values,
                                  double* gradients, std::vector<double>& scratch);

// The points of out[0, count) whose step analyze_points left pending (detail::step_pending), in order.
std::vector<std::int64_t> pending_steps(const PointAnalysis* out, std::size_t count);
// f(x - step g) for every point whose step is pending (detail::step_pending), then detail::set_step_value.
void evaluate_gradient_steps(const Objective& f, const double* points, const double* g, std::size_t count,
                             PointAnalysis* out);

// The objective at `count` points given in its own coordinates (count x f.inner_dimension(), row-major), on
// the calling thread. `scratch` is resized as needed and may be reused across calls.
void evaluate_objective_points(const Objective& f, const double* x, std::size_t count, double* values,
                               std::vector<double>& scratch);

// --- a caller's vectorized function (f.batch): batch_function_stencil.cpp ---

// The evaluate_stencil layout of a value stencil, or of the gradient stencil (f.batch->has_gradient()), by calls of
// up to f.batch->block_points() materialized points each, on the calling thread.
void batch_function_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                            std::size_t count, double* evals);
// evaluate_gradient_steps for f.batch: the pending steps' points in calls of up to block_points().
void batch_function_gradient_steps(const Objective& f, const double* points, const double* g, std::size_t count,
                                   PointAnalysis* out);

// objective_hessian_vector_products for f.batch: H d_k ~ (g(x + h_k d_k) - g(x - h_k d_k)) / 2 h_k from its gradients
// (InputError without them), h_k = kGradientStepScale max(|x|_inf, 1) / |d_k|_inf; truncation ~h^2, rounding
// ~eps |g| / h: ~1e-10 relative.
void batch_function_hessian_vector_products(const Objective& f, const double* points, std::size_t count,
                                            const double* directions, std::size_t directions_stride, int r, double* fx,
                                            double* g, double* hv);

// --- model_loss.cpp ---

// The MLP's loss at `count` parameter vectors (count x P, row-major), on the calling thread: per vector and
// layer one BLAS dgemm over all samples, then bias + activation, then the mean loss (detail/mlp.hpp).
void mlp_loss(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
              std::vector<double>& scratch);

// Its parts, for model_stencil.cpp: one layer (Z = W_l A + b_l over all samples, activated when hidden; A is
// in x m and Z out x m, column-major), the mean loss of the output layer, the activation over `count` values.
void mlp_layer(const MlpModel& model, const double* theta, int layer, const double* a, double* z);
void mlp_preactivation(const MlpModel& model, const double* theta, int layer, const double* a,
                       double* z);  // no activation
double mlp_mean_loss(const MlpModel& model, const double* outputs);
void activate_layer(Activation activation, double* z, std::size_t count);

// --- model_gradient.cpp ---

// Backpropagation through the MLP loss (README.md "Model losses"; per-element math in detail/mlp.hpp, shared with
// kernels/model_gradient.cu). At `count` parameter vectors (count x P, row-major), on the calling thread: the mean
// loss (mlp_loss's forward code: the same value to the bit) and its exact gradient (count x P): per layer one dgemm
// forward, then dW_l = g_l A_{l-1}^T and g_{l-1} = (W_l^T g_l) (.) act'(z_{l-1}), one dgemm each.
void mlp_loss_gradient(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
                       double* gradients, std::vector<double>& scratch);

// Exact Hessian-vector products at one theta (P values), never forming H: the loss, the gradient (P; nullptr to
// skip) and hv = H v_i for r directions (directions and hv: r x P, row-major), by Pearlmutter's R-operator
// (forward-over-reverse) on one forward/backward pass. Directions go in blocks of about 3200 / samples (at most
// 64; kBlockColumns in the .cpp) so memory stays bounded whatever r is: per block and layer, W_l times the R-values
// of all (direction, sample) columns is one dgemm. OpenMP threads take blocks unless called inside a parallel region.
void mlp_loss_hvp(const MlpModel& model, const double* theta, const double* directions, std::size_t r, double* loss,
                  double* gradient, double* hv, std::vector<double>& scratch);
// The blocks of directions mlp_loss_hvp splits r directions into (its units of parallel work).
std::int64_t mlp_hvp_blocks(const MlpModel& model, std::size_t r);

// The full P x P Hessian at theta (column-major; column j = H e_j, by mlp_loss_hvp's blocks over the unit
// directions, whose R W_l is one-hot: the R-pass starts at e_j's layer and its R W terms are single rows), then
// symmetrized as (H + H^T) / 2. `asymmetry`, when given, receives max |H_ij - H_ji| before symmetrizing (rounding
// only: the products are exact). loss and gradient may be nullptr.
void mlp_full_hessian(const MlpModel& model, const double* theta, double* loss, double* gradient, double* H,
                      std::vector<double>& scratch, double* asymmetry = nullptr);

// --- hessian_vector.cpp ---

// Backend::hessian_vector_products for both backends (on the host): exact H d_k at `count` points of the
// objective's own coordinates (its subspace, if any, is not applied), models by mlp_loss_hvp, expressions by
// forward-over-reverse on the tape (InputError when the expression has none). f: count; g: count x N;
// hv: count x r x N.
void objective_hessian_vector_products(const Objective& objective, const double* points, std::size_t count,
                                       const double* directions, std::size_t directions_stride, int r, double* f,
                                       double* g, double* hv);

// --- model_stencil.cpp ---

// The evaluate_stencil layout for a model's loss on its own parameters (the full Hessian): per point, one
// forward pass is kept and each stencil point recomputes only from the first layer its perturbation touches.
void mlp_stencil(const MlpModel& model, StencilKind kind, double step_scale, const double* points, std::size_t count,
                 double* evals);

// --- jacobian.cpp ---

// Backend::evaluate_jacobians on the CPU: every (point, output, evaluation) of the shared interpreter, then f, J
// and the error estimate per point into `out` (resized by the caller). Buffers persist across chunks.
class Jacobians {
 public:
  void compute(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
               const double* points, std::size_t count, JacobianResult& out);

 private:
  std::vector<double> values_, derivs_;
  std::vector<detail::ProgramView> programs_;
};

}  // namespace hessa::cpu
