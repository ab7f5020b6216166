// CPU stencils from reverse-mode sweeps over the function's tape (detail/tape.hpp): the gradient stencil (f and g
// at the point and at x +- h_j e_j; 16 stencil points per sweep as a LanePack) and the exact stencil
// (forward-over-reverse on Tangent<L>: L columns of H per sweep, or L colors of columns when H is sparse:
// hessian_coloring.cpp; for a small dense H, 8 points per sweep, all their columns at once). Layouts in
// detail/stencil.hpp. OpenMP over (point, evaluation) tasks, one scratch of values and adjoints per thread.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "cpu/avx2_clone.hpp"
#include "cpu/cpu_stages.hpp"
#include "cpu/lane_pack.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/detail/tangent.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::cpu {
namespace {

// The exact stencil's scratch per thread stays under this: L is halved until 2 (L + 1) doubles per node fit.
constexpr std::size_t kExactScratchBytes = std::size_t(8) << 20;

// Sweep `block` of point x: directions e_j for j in [block L, block L + L), written as evaluations j.
template <int L>
HESSA_CPU_AVX512_CLONE void exact_block(const detail::TapeView& tape, int n, const double* x, int block,
                                        double* point_evals, detail::Tangent<L>* v, detail::Tangent<L>* adj) {
  const int first = block * L;
  const int last = std::min(n, first + L);
  const auto seeded = [&](int k) {
    detail::Tangent<L> t(x[k]);
    if (k >= first && k < last) t.d[k - first] = 1.0;
    return t;
  };
  const double f = detail::tape_forward<detail::Tangent<L>>(tape, seeded, v, 1).v;
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, n);
  for (int j = first; j < last; ++j) {
    double* out = point_evals + std::int64_t(j) * per_eval;
    out[0] = f;
    std::fill(out + 1, out + per_eval, 0.0);  // coordinates f never reads keep g_j = 0 and a zero column
  }
  detail::tape_reverse<detail::Tangent<L>>(tape, v, adj, 1, [&](int k, const detail::Tangent<L>& g) {
    if (k >= first && k < last) point_evals[std::int64_t(k) * per_eval + 1] = g.v;
    for (int j = first; j < last; ++j) point_evals[std::int64_t(j) * per_eval + 2 + k] = g.d[j - first];
  });
}

// A colored point: tangent lane c (of colors first .. first + L - 1) seeds every coordinate of color c, so the
// adjoint of input k carries, in lane c, H_kj for the one column j of color c in row k's pattern.
template <int L>
HESSA_CPU_AVX512_CLONE void exact_colored_block(const detail::TapeView& tape, int n, const double* x,
                                                const HessianColoring& coloring, int first, double* point_evals,
                                                detail::Tangent<L>* v, detail::Tangent<L>* adj) {
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, n);
  const auto seeded = [&](int k) {
    detail::Tangent<L> t(x[k]);
    const int lane = coloring.color_of[std::size_t(k)] - first;
    if (lane >= 0 && lane < L) t.d[lane] = 1.0;
    return t;
  };
  const double f = detail::tape_forward<detail::Tangent<L>>(tape, seeded, v, 1).v;
  if (first == 0) {
    for (int j = 0; j < n; ++j) {
      double* out = point_evals + std::int64_t(j) * per_eval;
      out[0] = f;
      std::fill(out + 1, out + per_eval, 0.0);  // entries outside the pattern are zero
    }
  }
  detail::tape_reverse<detail::Tangent<L>>(tape, v, adj, 1, [&](int k, const detail::Tangent<L>& g) {
    point_evals[std::int64_t(k) * per_eval + 1] = g.v;
    for (int j : coloring.row_columns[std::size_t(k)]) {
      const int lane = coloring.color_of[std::size_t(j)] - first;
      if (lane >= 0 && lane < L) point_evals[std::int64_t(j) * per_eval + 2 + k] = g.d[lane];
    }
  });
}

template <int L>
void evaluate_exact_colored(const detail::TapeView& tape, int n, const HessianColoring& coloring, const double* points,
                            std::size_t count, double* evals) {
  const std::int64_t per_point = std::int64_t(n) * detail::values_per_evaluation(StencilKind::Exact, n);
#pragma omp parallel
  {
    std::vector<detail::Tangent<L>> v(std::size_t(tape.size));
    std::vector<detail::Tangent<L>> adj(std::size_t(tape.size));
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      for (int first = 0; first < coloring.colors; first += L) {  // in order: block 0 fills the point's zeros
        exact_colored_block<L>(tape, n, points + p * n, coloring, first, evals + p * per_point, v.data(), adj.data());
      }
    }
  }
}

template <int L>
void evaluate_exact(const detail::TapeView& tape, int n, const double* points, std::size_t count, double* evals) {
  const int blocks = (n + L - 1) / L;
  const std::int64_t tasks = std::int64_t(count) * blocks;
  const std::int64_t per_point = std::int64_t(n) * detail::values_per_evaluation(StencilKind::Exact, n);
#pragma omp parallel
  {
    std::vector<detail::Tangent<L>> v(std::size_t(tape.size));
    std::vector<detail::Tangent<L>> adj(std::size_t(tape.size));
#pragma omp for schedule(static)
    for (std::int64_t t = 0; t < tasks; ++t) {
      const std::int64_t p = t / blocks;
      exact_block<L>(tape, n, points + p * n, int(t % blocks), evals + p * per_point, v.data(), adj.data());
    }
  }
}

// Small dense n: kExactPackPoints points per sweep, each a Tangent<L> lane seeded with all n <= L columns, so each
// tape node is dispatched once for the pack (one point a sweep spent most of its time in the dispatch at n = 2).
// A partial last pack repeats its last point. Each lane is the unpacked exact_block's sweep, bit for bit.
constexpr int kExactPackPoints = 8;
constexpr int kExactPackMaxN = 4;

template <int L>
HESSA_CPU_AVX512_CLONE void exact_pack(const detail::TapeView& tape, int n, const double* points, std::int64_t first,
                                       int count, double* evals, PointPack<detail::Tangent<L>, kExactPackPoints>* v,
                                       PointPack<detail::Tangent<L>, kExactPackPoints>* adj) {
  using Pack = PointPack<detail::Tangent<L>, kExactPackPoints>;
  const double* x[kExactPackPoints];
  for (int l = 0; l < kExactPackPoints; ++l) x[l] = points + (first + std::min(l, count - 1)) * n;
  const auto seeded = [&](int k) {
    Pack t;
    for (int l = 0; l < kExactPackPoints; ++l) {
      t.p[l] = detail::Tangent<L>(x[l][k]);
      t.p[l].d[k] = 1.0;
    }
    return t;
  };
  const Pack f = detail::tape_forward<Pack>(tape, seeded, v, 1);
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, n);
  const std::int64_t per_point = std::int64_t(n) * per_eval;
  for (int l = 0; l < count; ++l) {
    double* point_evals = evals + (first + l) * per_point;
    for (int j = 0; j < n; ++j) {
      double* out = point_evals + std::int64_t(j) * per_eval;
      out[0] = f.p[l].v;
      std::fill(out + 1, out + per_eval, 0.0);  // coordinates f never reads keep g_j = 0 and a zero column
    }
  }
  detail::tape_reverse<Pack>(tape, v, adj, 1, [&](int k, const Pack& g) {
    for (int l = 0; l < count; ++l) {
      double* point_evals = evals + (first + l) * per_point;
      point_evals[std::int64_t(k) * per_eval + 1] = g.p[l].v;
      for (int j = 0; j < n; ++j) point_evals[std::int64_t(j) * per_eval + 2 + k] = g.p[l].d[j];
    }
  });
}

template <int L>
void evaluate_exact_packed(const detail::TapeView& tape, int n, const double* points, std::size_t count,
                           double* evals) {
  using Pack = PointPack<detail::Tangent<L>, kExactPackPoints>;
  const std::int64_t packs = (std::int64_t(count) + kExactPackPoints - 1) / kExactPackPoints;
#pragma omp parallel
  {
    std::vector<Pack> v(std::size_t(tape.size)), adj(std::size_t(tape.size));
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < packs; ++b) {
      const std::int64_t first = b * kExactPackPoints;
      const int size = int(std::min<std::int64_t>(kExactPackPoints, std::int64_t(count) - first));
      exact_pack<L>(tape, n, points, first, size, evals, v.data(), adj.data());
    }
  }
}

// The gradient stencil's lanes per sweep: 16 stencil points through each node dispatch (AVX-512: two vectors).
constexpr int kGradientLanes = 16;

// Evaluations first .. first + lanes - 1 (of the flattened (point, evaluation) index) in one pack sweep; lanes past
// `lanes` repeat the last one, so every pack is full.
template <int K>
HESSA_CPU_AVX512_CLONE void gradient_block(const detail::TapeView& tape, int n, double step_scale, const double* points,
                                           std::int64_t first, int lanes, double* evals, LanePack<K>* v,
                                           LanePack<K>* adj) {
  const std::int64_t per_point = detail::stencil_size(StencilKind::Gradient, n);
  const int per_eval = detail::values_per_evaluation(StencilKind::Gradient, n);
  detail::PerturbedPoint x[K];
  for (int l = 0; l < K; ++l) {
    const std::int64_t k = first + std::min(l, lanes - 1);
    x[l] = detail::perturbed_point(points + (k / per_point) * n, detail::gradient_offset(n, k % per_point), step_scale);
  }
  const auto coordinate = [&](int c) {
    LanePack<K> r;
    for (int l = 0; l < K; ++l) r.v[l] = x[l](c);
    return r;
  };
  const LanePack<K> f = detail::tape_forward<LanePack<K>>(tape, coordinate, v, 1);
  for (int l = 0; l < lanes; ++l) {
    double* out = evals + (first + l) * per_eval;
    out[0] = f.v[l];
    std::fill(out + 1, out + per_eval, 0.0);  // coordinates f never reads keep g_c = 0
  }
  detail::tape_reverse<LanePack<K>>(tape, v, adj, 1, [&](int c, const LanePack<K>& g) {
    for (int l = 0; l < lanes; ++l) evals[(first + l) * per_eval + 1 + c] = g.v[l];
  });
}

template <int K>
void evaluate_gradient_packs(const detail::TapeView& tape, int n, double step_scale, const double* points,
                             std::size_t count, double* evals) {
  const std::int64_t total = std::int64_t(count) * detail::stencil_size(StencilKind::Gradient, n);
  const std::int64_t blocks = (total + K - 1) / K;
#pragma omp parallel
  {
    std::vector<LanePack<K>> v(std::size_t(tape.size)), adj(std::size_t(tape.size));
#pragma omp for schedule(static)
    for (std::int64_t b = 0; b < blocks; ++b) {
      const int lanes = int(std::min<std::int64_t>(K, total - b * K));
      gradient_block<K>(tape, n, step_scale, points, b * K, lanes, evals, v.data(), adj.data());
    }
  }
}

}  // namespace

void evaluate_gradient_stencil(const detail::TapeView& tape, int n, double step_scale, const double* points,
                               std::size_t count, double* evals) {
  if (std::size_t(tape.size) * sizeof(LanePack<kGradientLanes>) * 2 <= kExactScratchBytes) {
    evaluate_gradient_packs<kGradientLanes>(tape, n, step_scale, points, count, evals);
  } else {
    evaluate_gradient_packs<1>(tape, n, step_scale, points, count, evals);  // a huge tape: one lane per sweep
  }
}

void evaluate_exact_stencil(const detail::TapeView& tape, int n, const double* points, std::size_t count,
                            double* evals) {
  // A sparse H (a chain, a sum of few-coordinate terms) sweeps one tangent per color of its columns; a dense one
  // one per coordinate. Either way the widest L <= 32 needed and allowed by the scratch bound.
  const std::optional<HessianColoring> coloring = color_hessian(tape, n);
  const int needed = coloring ? coloring->colors : n;
  int lanes = 32;
  while (lanes > 1 && lanes / 2 >= needed) lanes /= 2;
  while (lanes > 1 && 2 * std::size_t(tape.size) * (lanes + 1) * sizeof(double) > kExactScratchBytes) lanes /= 2;
  // (Packs of small n: their scratch, 2 nodes x 8 points x (L + 1) doubles, is far below the bound.)
  if (!coloring && n <= kExactPackMaxN &&
      2 * std::size_t(tape.size) * kExactPackPoints * (kExactPackMaxN + 1) * sizeof(double) <= kExactScratchBytes) {
    if (n <= 2) {
      evaluate_exact_packed<2>(tape, n, points, count, evals);
    } else {
      evaluate_exact_packed<4>(tape, n, points, count, evals);
    }
    return;
  }
  const auto run = [&](auto lane_count) {
    constexpr int L = decltype(lane_count)::value;
    if (coloring) {
      evaluate_exact_colored<L>(tape, n, *coloring, points, count, evals);
    } else {
      evaluate_exact<L>(tape, n, points, count, evals);
    }
  };
  switch (lanes) {
    case 32: run(std::integral_constant<int, 32>{}); break;
    case 16: run(std::integral_constant<int, 16>{}); break;
    case 8: run(std::integral_constant<int, 8>{}); break;
    case 4: run(std::integral_constant<int, 4>{}); break;
    case 2: run(std::integral_constant<int, 2>{}); break;
    default: run(std::integral_constant<int, 1>{}); break;
  }
}

}  // namespace hessa::cpu
