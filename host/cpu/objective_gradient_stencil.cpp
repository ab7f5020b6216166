// CPU gradient and exact stencils for objectives that are not a plain expression (affine subspaces of expressions,
// model losses): the Gradient and Exact layouts of detail/stencil.hpp in the analyzed coordinates y. Each stencil
// point is materialized in the function's own coordinates x = origin + sum_a y_a d_a; gradients there come from the
// expression's tape or the model's backpropagation and are projected, g_y = D g_x; exact columns seed the
// directions d_l as tangents (forward-over-reverse), H_y = D H_x D^T column by column.
#include <algorithm>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/detail/tangent.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::cpu {
namespace {

// Stencil points per block: as objective_stencil.cpp's value blocks.
constexpr std::int64_t kBlockPoints = 32;

struct RowPoint {
  const double* x;
  double operator()(int k) const { return x[k]; }
};

}  // namespace

void project_gradient(const Objective& f, const double* v, double* out) {
  const int k = f.dimension();
  if (f.subspace == nullptr) {
    std::copy(v, v + k, out);
    return;
  }
  const int n = f.subspace->n;
  for (int a = 0; a < k; ++a) {
    const double* d = f.subspace->directions.data() + std::int64_t(a) * n;
    double s = 0.0;
    for (int m = 0; m < n; ++m) s += d[m] * v[m];
    out[a] = s;
  }
}

void evaluate_objective_gradients(const Objective& f, const double* x, std::size_t count, double* values,
                                  double* gradients, std::vector<double>& scratch) {
  const auto n = std::size_t(f.inner_dimension());
  if (f.model != nullptr) {
    mlp_loss_gradient(*f.model, x, count, values, gradients, scratch);
    return;
  }
  const detail::TapeView tape = f.expression->tape_view();
  scratch.resize(2 * std::size_t(tape.size));
  double* v = scratch.data();
  double* adj = v + tape.size;
  for (std::size_t i = 0; i < count; ++i) {
    double* g = gradients + i * n;
    std::fill(g, g + n, 0.0);
    values[i] = detail::tape_forward<double>(tape, RowPoint{x + i * n}, v, 1);
    detail::tape_reverse<double>(tape, v, adj, 1, [g](int c, double gc) { g[c] = gc; });
  }
}

namespace {

void objective_gradient_stencil(const Objective& f, double step_scale, const double* points, std::size_t count,
                                double* evals) {
  use_single_threaded_blas();
  const int k = f.dimension();
  const auto n = std::size_t(f.inner_dimension());
  const std::int64_t per_point = detail::stencil_size(StencilKind::Gradient, k);
  const int per_eval = detail::values_per_evaluation(StencilKind::Gradient, k);
  const std::int64_t total = std::int64_t(count) * per_point;
  const std::int64_t blocks = (total + kBlockPoints - 1) / kBlockPoints;
#pragma omp parallel
  {
    std::vector<double> x(std::size_t(kBlockPoints) * n), y(static_cast<std::size_t>(k)), values(kBlockPoints);
    std::vector<double> gradients(std::size_t(kBlockPoints) * n), scratch;
#pragma omp for schedule(dynamic)
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t first = block * kBlockPoints;
      const std::int64_t lanes = std::min(kBlockPoints, total - first);
      for (std::int64_t l = 0; l < lanes; ++l) {
        const std::int64_t p = (first + l) / per_point, e = (first + l) % per_point;
        const detail::PerturbedPoint view =
            detail::perturbed_point(points + p * k, detail::gradient_offset(k, e), step_scale);
        materialize(f, view, y.data(), x.data() + std::size_t(l) * n);
      }
      evaluate_objective_gradients(f, x.data(), std::size_t(lanes), values.data(), gradients.data(), scratch);
      for (std::int64_t l = 0; l < lanes; ++l) {
        double* out = evals + (first + l) * per_eval;
        out[0] = values[std::size_t(l)];
        project_gradient(f, gradients.data() + std::size_t(l) * n, out + 1);
      }
    }
  }
}

// One exact sweep block of an expression on a subspace: tangents seeded with directions first .. first + L - 1.
template <int L>
void subspace_exact_block(const Objective& f, const double* x, int first, double* point_evals,
                          std::vector<detail::Tangent<L>>& v, std::vector<detail::Tangent<L>>& adj,
                          std::vector<double>& g, std::vector<double>& gy, std::vector<double>& columns) {
  const int k = f.dimension();
  const int n = f.inner_dimension();
  const int last = std::min(k, first + L);
  const double* D = f.subspace->directions.data();
  const detail::TapeView tape = f.expression->tape_view();
  const auto seeded = [&](int m) {
    detail::Tangent<L> t(x[m]);
    for (int l = 0; l < last - first; ++l) t.d[l] = D[std::int64_t(first + l) * n + m];
    return t;
  };
  const double value = detail::tape_forward<detail::Tangent<L>>(tape, seeded, v.data(), 1).v;
  std::fill(g.begin(), g.end(), 0.0);
  std::fill(columns.begin(), columns.end(), 0.0);  // (H_x d_l)_m at columns[l n + m]
  detail::tape_reverse<detail::Tangent<L>>(tape, v.data(), adj.data(), 1, [&](int m, const detail::Tangent<L>& a) {
    g[std::size_t(m)] = a.v;
    for (int l = 0; l < last - first; ++l) columns[std::size_t(l) * n + m] = a.d[l];
  });
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, k);
  project_gradient(f, g.data(), gy.data());
  for (int l = 0; l < last - first; ++l) {
    double* out = point_evals + std::int64_t(first + l) * per_eval;
    out[0] = value;
    out[1] = gy[std::size_t(first) + std::size_t(l)];
    project_gradient(f, columns.data() + std::size_t(l) * n, out + 2);  // column first + l of D H D^T
  }
}

constexpr int kSubspaceLanes = 8;

// The model's exact stencil: per point, the full Hessian (unit directions, one-hot R W) or the k subspace
// directions' Hessian-vector products, projected. OpenMP runs inside the model's sweeps (over direction blocks).
void mlp_exact_stencil(const Objective& f, const double* points, std::size_t count, double* evals) {
  const MlpModel& model = *f.model;
  const int k = f.dimension();
  const auto P = std::size_t(model.parameter_count());
  const int per_eval = detail::values_per_evaluation(StencilKind::Exact, k);
  std::vector<double> theta(P), gradient(P), products, gy(static_cast<std::size_t>(k)), scratch;
  products.resize(f.subspace == nullptr ? P * P : std::size_t(k) * P);
  for (std::size_t p = 0; p < count; ++p) {
    const double* y = points + p * std::size_t(k);
    double loss = 0.0;
    if (f.subspace == nullptr) {
      mlp_full_hessian(model, y, &loss, gradient.data(), products.data(), scratch);  // column j = H e_j
    } else {
      f.subspace->map(y, theta.data());
      mlp_loss_hvp(model, theta.data(), f.subspace->directions.data(), std::size_t(k), &loss, gradient.data(),
                   products.data(), scratch);  // row l = H d_l
    }
    project_gradient(f, gradient.data(), gy.data());
    double* point_evals = evals + p * std::size_t(k) * std::size_t(per_eval);
    for (int l = 0; l < k; ++l) {
      double* out = point_evals + std::int64_t(l) * per_eval;
      out[0] = loss;
      out[1] = gy[std::size_t(l)];
      project_gradient(f, products.data() + std::size_t(l) * P, out + 2);
    }
  }
}

void objective_exact_stencil(const Objective& f, const double* points, std::size_t count, double* evals) {
  const int k = f.dimension();
  const int n = f.inner_dimension();
  const std::int64_t per_point = std::int64_t(k) * detail::values_per_evaluation(StencilKind::Exact, k);
  if (f.model != nullptr) {
    // Exact Hessian-vector products of the loss by backpropagation's R-operator: the directions are the
    // subspace's (H_y = D H D^T) or every unit vector (the full Hessian).
    mlp_exact_stencil(f, points, count, evals);
    return;
  }
  const int blocks = (k + kSubspaceLanes - 1) / kSubspaceLanes;
  const std::int64_t tasks = std::int64_t(count) * blocks;
  const std::size_t nodes = f.expression->tape().size();
#pragma omp parallel
  {
    std::vector<detail::Tangent<kSubspaceLanes>> v(nodes), adj(nodes);
    std::vector<double> x(static_cast<std::size_t>(n)), g(static_cast<std::size_t>(n)), gy(static_cast<std::size_t>(k));
    std::vector<double> columns(std::size_t(kSubspaceLanes) * n);
#pragma omp for schedule(dynamic)
    for (std::int64_t t = 0; t < tasks; ++t) {
      const std::int64_t p = t / blocks;
      f.subspace->map(points + p * k, x.data());
      subspace_exact_block<kSubspaceLanes>(f, x.data(), int(t % blocks) * kSubspaceLanes, evals + p * per_point, v, adj,
                                           g, gy, columns);
    }
  }
}

}  // namespace

void evaluate_objective_gradient_stencil(const Objective& f, StencilKind kind, double step_scale, const double* points,
                                         std::size_t count, double* evals) {
  if (kind == StencilKind::Gradient) {
    objective_gradient_stencil(f, step_scale, points, count, evals);
  } else {
    objective_exact_stencil(f, points, count, evals);
  }
}

}  // namespace hessa::cpu
