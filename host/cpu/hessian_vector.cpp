// Backend::hessian_vector_products on the host: exact H d for given directions, never forming H. Model losses by
// the R-operator (model_gradient.cpp's mlp_loss_hvp); expressions by forward-over-reverse on the tape, the
// directions in the tangent lanes (kHvpLanes a sweep). OpenMP over points (for a model with fewer points than
// threads, over its blocks of directions).
#include <omp.h>

#include <algorithm>
#include <vector>

#include "cpu/avx2_clone.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/detail/tangent.hpp"
#include "hessa/detail/tape.hpp"
#include "hessa/errors.hpp"

namespace hessa::cpu {
namespace {

constexpr int kHvpLanes = 4;  // directions per tape sweep

// One point x of an expression: f, g (n) and hv (r x n) for directions (r x n), kHvpLanes directions a sweep.
HESSA_CPU_AVX512_CLONE
void tape_hvp_point(const detail::TapeView& tape, int n, const double* x, const double* directions, int r, double* f,
                    double* g, double* hv, std::vector<detail::Tangent<kHvpLanes>>& v,
                    std::vector<detail::Tangent<kHvpLanes>>& adj) {
  using T = detail::Tangent<kHvpLanes>;
  std::fill(g, g + n, 0.0);
  std::fill(hv, hv + std::int64_t(r) * n, 0.0);  // coordinates f never reads keep zeros
  for (int first = 0; first < std::max(r, 1); first += kHvpLanes) {
    const int lanes = std::min(kHvpLanes, r - first);
    const auto seeded = [&](int k) {
      T t(x[k]);
      for (int l = 0; l < lanes; ++l) t.d[l] = directions[std::int64_t(first + l) * n + k];
      return t;
    };
    *f = detail::tape_forward<T>(tape, seeded, v.data(), 1).v;
    detail::tape_reverse<T>(tape, v.data(), adj.data(), 1, [&](int k, const T& gk) {
      g[k] = gk.v;
      for (int l = 0; l < lanes; ++l) hv[std::int64_t(first + l) * n + k] = gk.d[l];
    });
  }
}

}  // namespace

void objective_hessian_vector_products(const Objective& objective, const double* points, std::size_t count,
                                       const double* directions, std::size_t directions_stride, int r, double* f,
                                       double* g, double* hv) {
  const int n = objective.inner_dimension();
  const std::int64_t rn = std::int64_t(r) * n;
  if (objective.model != nullptr) {
    const MlpModel& model = *objective.model;
    use_single_threaded_blas();
    if (std::int64_t(count) < omp_get_max_threads() && mlp_hvp_blocks(model, std::size_t(r)) > 1) {
      // Fewer points than threads (one model, trace probes, Ritz residuals): the threads share each point's blocks
      // of directions instead. The same bits: a block is one thread's work either way.
      std::vector<double> scratch;
      for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
        mlp_loss_hvp(model, points + p * n, directions + std::size_t(p) * directions_stride, std::size_t(r), f + p,
                     g + p * n, hv + p * rn, scratch);
      }
      return;
    }
#pragma omp parallel
    {
      std::vector<double> scratch;
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
        mlp_loss_hvp(model, points + p * n, directions + std::size_t(p) * directions_stride, std::size_t(r), f + p,
                     g + p * n, hv + p * rn, scratch);
      }
    }
    return;
  }
  if (objective.batch != nullptr) {
    batch_function_hessian_vector_products(objective, points, count, directions, directions_stride, r, f, g, hv);
    return;
  }
  const CompiledFunction& expression = *objective.expression;
  if (!expression.has_tape()) {
    throw InputError("Hessian-vector products need the expression's tape: " + expression.why_no_tape());
  }
  const detail::TapeView tape = expression.tape_view();
#pragma omp parallel
  {
    std::vector<detail::Tangent<kHvpLanes>> v(std::size_t(tape.size)), adj(std::size_t(tape.size));
#pragma omp for schedule(dynamic, 16)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      tape_hvp_point(tape, n, points + p * n, directions + std::size_t(p) * directions_stride, r, f + p, g + p * n,
                     hv + p * rn, v, adj);
    }
  }
}

}  // namespace hessa::cpu
