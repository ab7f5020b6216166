// CPU assembly: f, g and H of each point from its stencil values (formulas in detail/stencil.hpp).
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"
#include "cpu/cpu_stages.hpp"

namespace hessa::cpu {

void assemble(StencilKind kind, int n, double step_scale, const double* points, std::size_t count,
              const double* evals, double* f, double* g, double* H, PointStatus* status) {
  const std::int64_t per_point = detail::stencil_size(kind, n);
  const std::int64_t nn = std::int64_t(n) * n;
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
    const double* e = evals + p * per_point;
    const double* x = points + p * n;
    f[p] = e[0];
    status[p] = detail::all_finite(e, per_point) ? PointStatus::Ok : PointStatus::NonfiniteF;
    for (int i = 0; i < n; ++i) g[p * n + i] = detail::assemble_gradient(e, x, step_scale, i);
    double* Hp = H + p * nn;
    for (int c = 0; c < n; ++c) {
      for (int r = c; r < n; ++r) {
        const double v = detail::assemble_hessian_entry(kind, n, e, x, step_scale, r, c);
        Hp[std::int64_t(c) * n + r] = v;
        Hp[std::int64_t(r) * n + c] = v;
      }
    }
  }
}

}  // namespace hessa::cpu
