// CPU stencil evaluation: f at every perturbed point of every point, one OpenMP loop over (point, evaluation).
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"
#include "cpu/cpu_stages.hpp"

namespace hessa::cpu {

void evaluate_stencil(const detail::ProgramView& f, StencilKind kind, double step_scale, const double* points,
                      std::size_t count, double* evals) {
  const int n = f.n;
  const std::int64_t per_point = detail::stencil_size(kind, n);
  const std::int64_t total = std::int64_t(count) * per_point;
  // Flattened so that a few points of large n and many points of small n both fill every thread.
#pragma omp parallel for schedule(static)
  for (std::int64_t k = 0; k < total; ++k) {
    const std::int64_t p = k / per_point;
    const std::int64_t e = k % per_point;
    const double* x = points + p * n;
    const detail::StencilOffset off = detail::stencil_offset(kind, n, e);
    evals[k] = detail::evaluate<double>(f, detail::perturbed_point(x, off, step_scale));
  }
}

}  // namespace hessa::cpu
