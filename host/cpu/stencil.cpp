// CPU stencil evaluation: f at every perturbed point of every point. The flattened (point, evaluation) index
// is cut into blocks of kBlockLanes lanes, each run by the lane-batched interpreter; OpenMP over blocks.
// Hyper-dual evaluations (4 doubles each) run the scalar interpreter on hyper-dual numbers, as kernels/stencil.cu.
#include <type_traits>

#include <algorithm>
#include <memory>
#include <vector>

#include "cpu/batch_interpreter.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"

namespace hessa::cpu {
namespace {

// Fastest of 16..256 lanes with the AVX2 copy of the interpreter; without AVX2, 32 would be ~15% faster.
constexpr int kBlockLanes = 64;
using Interpreter = BatchInterpreter<kBlockLanes>;
// Offsets are tabulated once per call up to this many evaluations per point (pair_from_number's sqrt per lane
// was a third of the stage at n = 2); beyond it they are computed per lane, where the program's length hides them.
constexpr std::int64_t kMaxTabulatedOffsets = 1 << 16;

// Evaluation e of a point seeds x_i with e1 and x_j with e2 (pair e, i <= j): exact second derivatives.
void evaluate_hyperdual(const detail::ProgramView& f, const double* points, std::size_t count, double* evals) {
  const int n = f.n;
  const std::int64_t per_point = detail::stencil_size(StencilKind::HyperDual, n);
  const std::int64_t total = std::int64_t(count) * per_point;
#pragma omp parallel for schedule(static)
  for (std::int64_t k = 0; k < total; ++k) {
    int i = 0;
    int j = 0;
    detail::hyperdual_pair(n, k % per_point, &i, &j);
    const detail::HyperDualPoint<detail::HyperDual> seeded{points + (k / per_point) * n, i, j};
    const detail::HyperDual v = detail::evaluate<detail::HyperDual>(f, seeded);
    evals[4 * k + 0] = v.a;
    evals[4 * k + 1] = v.b;
    evals[4 * k + 2] = v.c;
    evals[4 * k + 3] = v.d;
  }
}

}  // namespace

void evaluate_stencil(const detail::ProgramView& f, StencilKind kind, double step_scale, const double* points,
                      std::size_t count, double* evals) {
  if (kind == StencilKind::HyperDual) {
    evaluate_hyperdual(f, points, count, evals);
    return;
  }
  const detail::TapeView tape{f.tape, f.tape_size};
  if (kind == StencilKind::Gradient) {
    evaluate_gradient_stencil(tape, f.n, step_scale, points, count, evals);
    return;
  }
  if (kind == StencilKind::Exact) {
    evaluate_exact_stencil(tape, f.n, points, count, evals);
    return;
  }
  const int n = f.n;
  const std::int64_t per_point = detail::stencil_size(kind, n);
  const std::int64_t total = std::int64_t(count) * per_point;
  const std::int64_t blocks = (total + kBlockLanes - 1) / kBlockLanes;
  const bool tabulated = per_point <= kMaxTabulatedOffsets;
  std::vector<detail::StencilOffset> offsets(tabulated ? std::size_t(per_point) : 0);
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (std::int64_t e = 0; e < std::int64_t(offsets.size()); ++e) offsets[e] = detail::stencil_offset(kind, n, e);

    const auto interpreter = std::make_unique<Interpreter>();
    // Blocks of the flattened (point, evaluation) index: a few points of large n and many of small n both fill
    // every thread.
#pragma omp for schedule(static)
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t first = block * kBlockLanes;
      const int lanes = int(std::min<std::int64_t>(kBlockLanes, total - first));
      std::int64_t p = first / per_point;
      std::int64_t e = first % per_point;
      for (int l = 0; l < lanes; ++l) {
        const detail::StencilOffset off = tabulated ? offsets[e] : detail::stencil_offset(kind, n, e);
        interpreter->set_lane(l, detail::perturbed_point(points + p * n, off, step_scale));
        if (++e == per_point) {
          e = 0;
          ++p;
        }
      }
      interpreter->run(f, lanes, evals + first);
    }
  }
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(evaluate_stencil), detail::EvaluateStencilStage<>>);

}  // namespace hessa::cpu
