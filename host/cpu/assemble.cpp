// CPU assembly: f, g, H of each point and their error estimates from its stencil values
// (formulas in detail/stencil.hpp: central/compact O(h^2), Richardson O(h^4), hyper-dual exact).
#include <cmath>
#include <type_traits>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cpu {

void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count, const double* evals,
              double* f, double* g, double* H, double* hess_err, double* grad_err, PointStatus* status) {
  const std::int64_t values = detail::stencil_size(kind, n) * detail::values_per_evaluation(kind, n);
  const std::int64_t nn = std::int64_t(n) * n;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
    const double* e = evals + p * values;
    const double* x = points + p * n;
    f[p] = detail::center_value(e);
    status[p] = detail::all_finite(e, values) ? PointStatus::Ok : PointStatus::NonfiniteF;
    const double f_max = detail::error_scale(kind, n, e);
    for (int i = 0; i < n; ++i) g[p * n + i] = detail::gradient_estimate(kind, n, e, x, step_scale, i, f_max).value;
    double* Hp = H + p * nn;
    double h2 = 0.0;  // the squared error norm, summed as H is (the gradient kinds: one pass over the triangle)
    for (int c = 0; c < n; ++c) {
      for (int r = c; r < n; ++r) {
        const detail::Estimate est = detail::hessian_estimate(kind, n, e, x, step_scale, r, c, f_max);
        Hp[std::int64_t(c) * n + r] = est.value;
        Hp[std::int64_t(r) * n + c] = est.value;
        h2 += (r == c ? 1.0 : 2.0) * est.error * est.error;
      }
    }
    if (detail::uses_gradients(kind)) {
      double g2 = 0.0;
      for (int i = 0; i < n; ++i) {
        const double eg = detail::gradient_estimate(kind, n, e, x, step_scale, i, f_max).error;
        g2 += eg * eg;
      }
      hess_err[p] = std::sqrt(h2);
      grad_err[p] = std::sqrt(g2);
    } else {
      // The value stencils keep error_norms' order of summation, which the CUDA backend shares.
      detail::error_norms(kind, n, e, x, step_scale, &hess_err[p], &grad_err[p]);
    }
  }
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(assemble), detail::AssembleStage<>>);

}  // namespace hessa::cpu
