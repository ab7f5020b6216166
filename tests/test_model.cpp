// Model losses against independent computations: linear least squares (exact g and H), small MLPs against a
// forward pass and a 4th-order finite-difference Hessian written here in long double, restricted Hessians
// D H D^T on affine subspaces, the gradient step's f(x - step g), data-set checks, and what hyper-duals refuse.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backend_fixture.hpp"
#include "hessa/errors.hpp"
#include "hessa/model.hpp"
#include "hessa/objective.hpp"
#include "model_support.hpp"
#include "test_support.hpp"

namespace hessa::test {

using Real = long double;

// The loss of `model` (widths, activation, loss, data) at `theta`, computed here with plain loops in long
// double: the layout (per layer W as out x in row-major, then b), the activations and the losses are written
// from the specification, not taken from hessa's detail/mlp.hpp. Also used by test_model_jobs.cpp.
namespace {
Real reference_activation(Activation a, Real z) {
  switch (a) {
    case Activation::Tanh: return std::tanh(z);
    case Activation::Relu: return z > 0 ? z : Real(0);
    case Activation::Sigmoid: return Real(1) / (Real(1) + std::exp(-z));
    case Activation::Gelu: return Real(0.5) * z * (Real(1) + std::erf(z / std::sqrt(Real(2))));
  }
  return std::numeric_limits<Real>::quiet_NaN();
}
}  // namespace

// `min_hidden_abs`, when given, receives min |pre-activation| over every hidden unit and sample (relu's kinks).
Real reference_loss(const MlpModel& model, const std::vector<Real>& theta, Real* min_hidden_abs = nullptr) {
  const std::vector<std::int32_t>& w = model.widths;
  const std::size_t layers = w.size() - 1;
  const Dataset& d = model.data;
  const int k = w.back();
  Real total = 0;
  if (min_hidden_abs) *min_hidden_abs = std::numeric_limits<Real>::infinity();
  for (std::size_t s = 0; s < d.samples; ++s) {
    std::vector<Real> a(static_cast<std::size_t>(w[0]));
    for (int i = 0; i < w[0]; ++i) a[std::size_t(i)] = d.x[s * std::size_t(d.features) + std::size_t(i)];
    std::size_t offset = 0;
    for (std::size_t l = 0; l < layers; ++l) {
      const std::size_t in = std::size_t(w[l]), out = std::size_t(w[l + 1]);
      std::vector<Real> z(out);
      for (std::size_t o = 0; o < out; ++o) {
        Real v = theta[offset + in * out + o];  // bias after the whole weight matrix
        for (std::size_t i = 0; i < in; ++i) v += theta[offset + o * in + i] * a[i];
        if (l + 1 < layers) {
          if (min_hidden_abs) *min_hidden_abs = std::min(*min_hidden_abs, std::fabs(v));
          v = reference_activation(model.activation, v);
        }
        z[o] = v;
      }
      offset += in * out + out;
      a = z;
    }
    const double* y = d.y.data() + s * std::size_t(d.targets);
    if (model.loss == LossKind::Mse) {
      for (int j = 0; j < k; ++j) total += (a[std::size_t(j)] - y[j]) * (a[std::size_t(j)] - y[j]);
    } else if (model.loss == LossKind::CrossEntropy) {
      Real zmax = a[0];
      for (Real v : a) zmax = std::max(zmax, v);
      Real sum = 0;
      for (Real v : a) sum += std::exp(v - zmax);
      total += zmax + std::log(sum) - a[std::size_t(y[0])];
    } else {  // logistic: softplus(z) - y z, softplus(z) = max(z, 0) + log1p(exp(-|z|))
      total += std::max(a[0], Real(0)) + std::log1p(std::exp(-std::fabs(a[0]))) - Real(y[0]) * a[0];
    }
  }
  return total / (Real(d.samples) * (model.loss == LossKind::Mse ? Real(k) : Real(1)));
}

}  // namespace hessa::test

namespace hessa {
namespace {

using test::Real;
using test::reference_loss;

constexpr double kEps = std::numeric_limits<double>::epsilon();

using test::make_model;
using test::Uniform;

std::vector<Real> to_real(const std::vector<double>& v) { return {v.begin(), v.end()}; }

std::vector<double> random_vector(std::size_t n, double lo, double hi, std::uint32_t seed) {
  Uniform u(seed);
  std::vector<double> v(n);
  for (double& x : v) x = u(lo, hi);
  return v;
}

// Independent derivatives by 4th-order central stencils at h = 2^-10 (not hessa's 2^-13 / 2^-9 steps, not its
// 3-point formulas), in long double:
//   g_i  = sum_a c_a f(x + a h e_i) / h,                 c = (1, -8, 0, 8, -1) / 12 at a = -2..2
//   H_ii = sum_a q_a f(x + a h e_i) / h^2,               q = (-1, 16, -30, 16, -1) / 12
//   H_ij = sum_ab c_a c_b f(x + a h e_i + b h e_j) / h^2  (the tensor product of the first-derivative stencil)
// Truncation ~h^4 f^(6) / 30 ~ 3e-14 f^(6); rounding ~2.25 eps_ld |f| / h^2 ~ 2.5e-13 |f| (x86 long double,
// eps_ld = 1.1e-19); both far below every tolerance hessa's Hessians are held to here. x + a h is exact: a
// double plus a multiple of 2^-10 fits in long double's 64-bit significand.
using RealFunction = std::function<Real(const std::vector<Real>&)>;
constexpr Real kRefStep = 0x1.0p-10L;
constexpr Real kFirst[5] = {1.0L / 12, -8.0L / 12, 0, 8.0L / 12, -1.0L / 12};
constexpr Real kSecond[5] = {-1.0L / 12, 16.0L / 12, -30.0L / 12, 16.0L / 12, -1.0L / 12};

std::vector<Real> reference_gradient(const RealFunction& f, const std::vector<Real>& x) {
  const std::size_t n = x.size();
  std::vector<Real> g(n, 0), y = x;
  for (std::size_t i = 0; i < n; ++i) {
    for (int a = -2; a <= 2; ++a) {
      if (a == 0) continue;
      y[i] = x[i] + a * kRefStep;
      g[i] += kFirst[a + 2] * f(y);
    }
    y[i] = x[i];
    g[i] /= kRefStep;
  }
  return g;
}

// Column-major n x n (symmetric).
std::vector<Real> reference_hessian(const RealFunction& f, const std::vector<Real>& x) {
  const std::size_t n = x.size();
  std::vector<Real> H(n * n, 0), y = x;
  for (std::size_t i = 0; i < n; ++i) {
    Real s = 0;
    for (int a = -2; a <= 2; ++a) {
      y[i] = x[i] + a * kRefStep;
      s += kSecond[a + 2] * f(y);
    }
    y[i] = x[i];
    H[i * n + i] = s / (kRefStep * kRefStep);
    for (std::size_t j = i + 1; j < n; ++j) {
      Real m = 0;
      for (int a = -2; a <= 2; ++a) {
        for (int b = -2; b <= 2; ++b) {
          if (a == 0 || b == 0) continue;
          y[i] = x[i] + a * kRefStep;
          y[j] = x[j] + b * kRefStep;
          m += kFirst[a + 2] * kFirst[b + 2] * f(y);
        }
      }
      y[i] = x[i];
      y[j] = x[j];
      H[i * n + j] = H[j * n + i] = m / (kRefStep * kRefStep);
    }
  }
  return H;
}

// Eigenvalues (ascending) of a symmetric matrix by cyclic Jacobi rotations in long double.
std::vector<Real> jacobi_eigenvalues(std::vector<Real> A, std::size_t n) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    Real off = 0;
    for (std::size_t p = 0; p < n; ++p)
      for (std::size_t q = p + 1; q < n; ++q) off += A[p * n + q] * A[p * n + q];
    if (off == 0) break;
    for (std::size_t p = 0; p < n; ++p) {
      for (std::size_t q = p + 1; q < n; ++q) {
        if (A[p * n + q] == 0) continue;
        const Real theta = (A[q * n + q] - A[p * n + p]) / (2 * A[p * n + q]);
        const Real t = (theta >= 0 ? 1 : -1) / (std::fabs(theta) + std::sqrt(theta * theta + 1));
        const Real c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (std::size_t r = 0; r < n; ++r) {  // A <- J^T A J
          const Real arp = A[r * n + p], arq = A[r * n + q];
          A[r * n + p] = c * arp - s * arq;
          A[r * n + q] = s * arp + c * arq;
        }
        for (std::size_t r = 0; r < n; ++r) {
          const Real apr = A[p * n + r], aqr = A[q * n + r];
          A[p * n + r] = c * apr - s * aqr;
          A[q * n + r] = s * apr + c * aqr;
        }
      }
    }
  }
  std::vector<Real> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = A[i * n + i];
  std::sort(w.begin(), w.end());
  return w;
}

// max_ij |A_ij - B_ij| / max(max_ij |B_ij|, 1), as test::scaled_max_error, with a long double reference.
double scaled_error(const double* a, const std::vector<Real>& b) {
  Real scale = 1, err = 0;
  for (std::size_t k = 0; k < b.size(); ++k) {
    scale = std::max(scale, std::fabs(b[k]));
    err = std::max(err, std::fabs(Real(a[k]) - b[k]));
  }
  return double(err / scale);
}

// D M D^T for directions D (k x n, row-major) and M (n x n, symmetric): the Hessian of y -> f(origin + D^T y).
std::vector<Real> restrict_matrix(const std::vector<double>& D, int k, const std::vector<Real>& M, std::size_t n) {
  std::vector<Real> R(std::size_t(k) * std::size_t(k), 0);
  for (int a = 0; a < k; ++a)
    for (int b = 0; b < k; ++b)
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = 0; j < n; ++j)
          R[std::size_t(a) * std::size_t(k) + std::size_t(b)] +=
              Real(D[std::size_t(a) * n + i]) * M[i * n + j] * Real(D[std::size_t(b) * n + j]);
  return R;
}

std::vector<Real> restrict_vector(const std::vector<double>& D, int k, const std::vector<Real>& v) {
  const std::size_t n = v.size();
  std::vector<Real> r(std::size_t(k), 0);
  for (int a = 0; a < k; ++a)
    for (std::size_t i = 0; i < n; ++i) r[std::size_t(a)] += Real(D[std::size_t(a) * n + i]) * v[i];
  return r;
}

// origin + sum_a y_a d_a, in long double.
std::vector<Real> map_point(const AffineSubspace& s, const double* y) {
  std::vector<Real> x = to_real(s.origin);
  for (int a = 0; a < s.k; ++a)
    for (int i = 0; i < s.n; ++i) x[std::size_t(i)] += Real(y[a]) * Real(s.directions[std::size_t(a * s.n + i)]);
  return x;
}

// k random directions in R^n, Gaussian-free (uniform entries), each scaled to unit 2-norm.
AffineSubspace random_subspace(const std::vector<double>& origin, int k, std::uint32_t seed) {
  AffineSubspace s;
  s.k = k;
  s.n = int(origin.size());
  s.origin = origin;
  s.directions = random_vector(std::size_t(k) * origin.size(), -1, 1, seed);
  for (int a = 0; a < k; ++a) {
    double norm = 0;
    for (int i = 0; i < s.n; ++i) norm += std::pow(s.directions[std::size_t(a * s.n + i)], 2);
    for (int i = 0; i < s.n; ++i) s.directions[std::size_t(a * s.n + i)] /= std::sqrt(norm);
  }
  return s;
}

class ModelOnBackend : public test::OnBackend {
 protected:
  ChunkResult analyze(const Objective& f, const std::vector<std::vector<double>>& points, AnalysisOptions options) {
    ChunkResult r;
    const std::vector<double> flat = test::flatten(points);
    backend_->analyze(f, options, flat.data(), points.size(), r);
    EXPECT_EQ(r.count, points.size());
    EXPECT_EQ(r.n, f.dimension());
    return r;
  }
  ChunkResult analyze_model(const MlpModel& model, const std::vector<std::vector<double>>& points,
                            AnalysisOptions options, const AffineSubspace* subspace = nullptr) {
    Objective f;
    f.model = &model;
    f.subspace = subspace;
    return analyze(f, points, options);
  }
};

AnalysisOptions keep_all(StencilKind stencil) {
  AnalysisOptions options;
  options.stencil = stencil;
  options.step_scale = default_step_scale(stencil);
  options.keep_gradient = options.keep_hessian = options.keep_eigenvalues = true;
  return options;
}

// widths {d, 1} with mse is linear least squares, f = (1/m) |A theta - y|^2 with A = [X, 1] (columns in layout
// order w_1..w_d, b): g = (2/m) A^T (A theta - y), H = (2/m) A^T A exactly. Central differences of a quadratic have
// no truncation error (f''' = 0), so only rounding remains: hessa's f carries a few ulps (8, say) of the largest
// intermediate F = max_s (sum_j |A_sj theta_j| + |y_s|)^2, df = 8 eps F, and with steps h >= scale (h_i = scale
// max(|theta_i|, 1)):  |f - f*| <= df;  |g - g*| <= 2 df / (2h);  |H - H*| <= 4 df / h^2 (diagonal; mixed:
// 4 df / (4 h^2)). Richardson (4 D(h/2) - D(h)) / 3 at h = 2^-9: (4 * 4 df / (h/2)^2 + 4 df / h^2) / 3 = 68/3 df/h^2
// for H and (4 df / (h/2) + df / h) / 3 = 3 df / h for g. Eigenvalues: Weyl, |lambda - lambda*| <= ||E||_2 <=
// n max|E_ij|, plus the eigensolver's own ~n eps ||H||.
TEST_P(ModelOnBackend, LinearLeastSquaresGradientAndHessianAreExact) {
  const int d = 3, m = 25;
  const MlpModel model = make_model({d, 1}, Activation::Tanh, LossKind::Mse, m, 11);
  ASSERT_EQ(model.parameter_count(), d + 1);
  const std::size_t n = std::size_t(d) + 1;
  // A (m x n), and A^T A in long double.
  std::vector<Real> A;
  for (int s = 0; s < m; ++s) {
    for (int j = 0; j < d; ++j) A.push_back(model.data.x[std::size_t(s * d + j)]);
    A.push_back(1);
  }
  std::vector<Real> H_exact(n * n, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = 0; j < n; ++j)
      for (int s = 0; s < m; ++s) H_exact[i * n + j] += 2 * A[std::size_t(s) * n + i] * A[std::size_t(s) * n + j] / m;
  const std::vector<Real> lambda_exact = jacobi_eigenvalues(H_exact, n);
  Real H_max = 0;
  for (Real v : H_exact) H_max = std::max(H_max, std::fabs(v));

  const std::vector<std::vector<double>> thetas = {
      {0, 0, 0, 0}, random_vector(n, -1, 1, 12), {2.5, -3.0, 0.75, 4.0}};  // the last: steps scale with |theta|
  for (StencilKind stencil : {StencilKind::Central, StencilKind::Richardson}) {
    SCOPED_TRACE(stencil_name(stencil));
    const ChunkResult r = analyze_model(model, thetas, keep_all(stencil));
    const double h = default_step_scale(stencil);
    for (std::size_t p = 0; p < thetas.size(); ++p) {
      SCOPED_TRACE("theta #" + std::to_string(p));
      const std::vector<double>& theta = thetas[p];
      std::vector<Real> residual(static_cast<std::size_t>(m));
      Real f_exact = 0, F = 0;
      for (int s = 0; s < m; ++s) {
        Real ax = 0, magnitude = std::fabs(model.data.y[std::size_t(s)]);
        for (std::size_t j = 0; j < n; ++j) {
          ax += A[std::size_t(s) * n + j] * theta[j];
          magnitude += std::fabs(A[std::size_t(s) * n + j] * theta[j]);
        }
        residual[std::size_t(s)] = ax - model.data.y[std::size_t(s)];
        f_exact += residual[std::size_t(s)] * residual[std::size_t(s)] / m;
        F = std::max(F, magnitude * magnitude);
      }
      const double df = 8 * kEps * double(F);
      const bool richardson = stencil == StencilKind::Richardson;
      const double g_tol = richardson ? 3 * df / h : df / h;
      const double H_tol = richardson ? 68.0 / 3 * df / (h * h) : 4 * df / (h * h);
      const double lambda_tol = double(n) * H_tol + 10 * double(n) * kEps * double(H_max);

      EXPECT_NEAR(r.points[p].f, double(f_exact), df);
      EXPECT_NEAR(r.points[p].f, double(reference_loss(model, to_real(theta))), df) << "f = mean squared residual";
      for (std::size_t i = 0; i < n; ++i) {
        Real g_exact = 0;
        for (int s = 0; s < m; ++s) g_exact += 2 * A[std::size_t(s) * n + i] * residual[std::size_t(s)] / m;
        EXPECT_NEAR(r.gradient[p * n + i], double(g_exact), g_tol) << "g_" << i;
        for (std::size_t j = 0; j < n; ++j)
          EXPECT_NEAR(r.hessian[p * n * n + j * n + i], double(H_exact[i * n + j]), H_tol) << "H_" << i << j;
      }
      for (std::size_t i = 0; i < n; ++i)
        EXPECT_NEAR(r.eigenvalues[p * n + i], double(lambda_exact[i]), lambda_tol) << "lambda_" << i;
      // H is positive definite: the least-squares problem is convex, its Hessian the same everywhere.
      EXPECT_GT(r.points[p].lambda_min, 0.0);
    }
  }
}

struct MlpCase {
  const char* name;
  std::vector<std::int32_t> widths;
  Activation activation;
  LossKind loss;
  std::uint32_t seed;
};

const MlpCase kMlpCases[] = {
    {"tanh_cross_entropy", {2, 3, 2}, Activation::Tanh, LossKind::CrossEntropy, 21},
    {"gelu_logistic", {2, 3, 1}, Activation::Gelu, LossKind::Logistic, 22},
    {"sigmoid_mse", {3, 4, 2}, Activation::Sigmoid, LossKind::Mse, 23},
    {"relu_mse", {3, 4, 2}, Activation::Relu, LossKind::Mse, 24},
    {"tanh_two_hidden_mse", {2, 3, 3, 2}, Activation::Tanh, LossKind::Mse, 25},
};

// Parameters in [-1, 1) for `c`. For relu, drawn again until every hidden pre-activation of every sample is at
// least 0.05 from relu's kink: the widest perturbation of any stencil here (two coordinates by <= 2^-9 each, times
// |features| <= 1, plus the bias) moves a first-layer pre-activation by < 0.01, so no stencil point crosses a kink
// and the loss is smooth (piecewise polynomial) on every stencil. (Only for one hidden layer, as in the table.)
std::vector<double> parameters_for(const MlpCase& c, const MlpModel& model, std::uint32_t seed) {
  for (std::uint32_t attempt = 0; attempt < 10000; ++attempt) {
    std::vector<double> theta = random_vector(std::size_t(model.parameter_count()), -1, 1, seed + 7919 * attempt);
    if (c.activation != Activation::Relu) return theta;
    Real margin = 0;
    reference_loss(model, to_real(theta), &margin);
    if (margin >= 0.05L) return theta;
  }
  ADD_FAILURE() << "no relu parameters away from the kinks";
  return {};
}

// Each small MLP at two parameter vectors: f equals the long-double forward pass (a few ulps of sums of m = 20
// sample losses over <= 3 layers: 1e-12 relative to max(|f|, 1) leaves a wide margin); g within 1e-7 of the
// reference 4th-order gradient (hessa's central g has truncation h^2 f'''/6 ~ 2.5e-9 |f'''|, rounding
// ~8 eps |f| / h ~ 1.5e-11); H entrywise, relative to max(max|H|, 1):
//   central (h = 2^-13): truncation h^2 f''''/12 ~ 1.2e-9 |f''''| and rounding 4 df / h^2 with df ~ 8 eps |f|
//     ~ 5e-7 |f| (a worst case; the errors of neighbouring evaluations are correlated and mostly cancel) -> 1e-6,
//     the bar the catalogue's central Hessians are held to.
//   richardson (h = 2^-9, then h/2): truncation ~h^4 f^(6) / 360 ~ 4e-14 |f^(6)|, rounding 68/3 df / h^2 ~ 1e-8 |f|
//     (worst case) -> 2e-8.
//   hyperdual (the direct forward pass on hyper-dual numbers) and exact (backpropagation's R-operator): exact up to
//     their own rounding, ~1e-15 -> 1e-10, which leaves room only for the reference's error.
//   gradient (central differences of backpropagated gradients, h = 2^-17): truncation h^2 g^(3)/6 ~ 1e-11 |g^(3)|,
//     rounding ~4 eps |g| / h ~ 1.2e-10 |g| -> 1e-8.
// The reference's own error (~1e-12, see reference_hessian) is negligible against both.
TEST_P(ModelOnBackend, SmallMlpHessiansMatchAnIndependentForwardPassAndStencil) {
  for (const MlpCase& c : kMlpCases) {
    SCOPED_TRACE(c.name);
    const MlpModel model = make_model(c.widths, c.activation, c.loss, 20, c.seed);
    const std::size_t n = std::size_t(model.parameter_count());
    const std::vector<std::vector<double>> thetas = {parameters_for(c, model, c.seed * 100),
                                                     parameters_for(c, model, c.seed * 100 + 1)};
    const RealFunction loss = [&](const std::vector<Real>& x) { return reference_loss(model, x); };
    std::vector<std::vector<Real>> g_ref, H_ref;
    for (const auto& theta : thetas) {
      g_ref.push_back(reference_gradient(loss, to_real(theta)));
      H_ref.push_back(reference_hessian(loss, to_real(theta)));
    }
    for (StencilKind stencil : {StencilKind::Central, StencilKind::Richardson, StencilKind::HyperDual,
                                StencilKind::Exact, StencilKind::Gradient}) {
      SCOPED_TRACE(stencil_name(stencil));
      const double bar = stencil == StencilKind::Central      ? 1e-6
                         : stencil == StencilKind::Richardson ? 2e-8
                         : stencil == StencilKind::Gradient   ? 1e-8
                                                              : 1e-10;
      const ChunkResult r = analyze_model(model, thetas, keep_all(stencil));
      for (std::size_t p = 0; p < thetas.size(); ++p) {
        SCOPED_TRACE("theta #" + std::to_string(p));
        const double f_ref = double(reference_loss(model, to_real(thetas[p])));
        EXPECT_NEAR(r.points[p].f, f_ref, 1e-12 * std::max(std::fabs(f_ref), 1.0));
        EXPECT_EQ(r.points[p].status, PointStatus::Ok);
        EXPECT_LE(scaled_error(&r.gradient[p * n], g_ref[p]), 1e-7) << "gradient";
        const double err = scaled_error(&r.hessian[p * n * n], H_ref[p]);
        EXPECT_LE(err, bar) << "Hessian";
        RecordProperty(std::string(c.name) + "_" + stencil_name(stencil) + "_" + std::to_string(p) + "_error",
                       test::scientific(err));
      }
    }
  }
}

// k = 2 and 3 random unit directions through a parameter vector of a [2, 3, 1] tanh logistic MLP. At each point y
// hessa's k x k Hessian must equal D H D^T of the full Hessian at the mapped point x = origin + D^T y: against the
// independent 4th-order reference (bar 1e-6: the restricted function y -> f(x(y)) is as smooth as f, its
// derivatives along unit directions of the same size, and the central stencil's error analysis above holds for it)
// and against hessa's own full Hessian there (both carry central-stencil error ~1e-8: 2e-6). f equals the loss at
// the mapped point (1e-12 relative: same formula, different rounding of x and of the sums); g = D g_full (1e-7).
TEST_P(ModelOnBackend, RestrictedHessianIsTheFullHessianSeenThroughTheDirections) {
  const MlpModel model = make_model({2, 3, 1}, Activation::Tanh, LossKind::Logistic, 30, 31);
  const std::size_t n = std::size_t(model.parameter_count());
  const std::vector<double> origin = random_vector(n, -1, 1, 32);
  const RealFunction loss = [&](const std::vector<Real>& x) { return reference_loss(model, x); };
  for (int k : {2, 3}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    const AffineSubspace subspace = random_subspace(origin, k, 33 + std::uint32_t(k));
    const std::size_t k_size = std::size_t(k);
    const std::vector<std::vector<double>> ys = {std::vector<double>(k_size, 0.0), random_vector(k_size, -1, 1, 34),
                                                 random_vector(k_size, -1.5, 1.5, 35)};
    const ChunkResult r = analyze_model(model, ys, keep_all(StencilKind::Central), &subspace);
    ASSERT_EQ(r.n, k);
    std::vector<std::vector<double>> mapped;
    for (const auto& y : ys) {
      std::vector<double> x(n);
      subspace.map(y.data(), x.data());
      mapped.push_back(x);
    }
    const ChunkResult full = analyze_model(model, mapped, keep_all(StencilKind::Central));
    for (std::size_t p = 0; p < ys.size(); ++p) {
      SCOPED_TRACE("point #" + std::to_string(p));
      const std::vector<Real> x = map_point(subspace, ys[p].data());
      const double f_ref = double(reference_loss(model, x));
      EXPECT_NEAR(r.points[p].f, f_ref, 1e-12 * std::max(std::fabs(f_ref), 1.0));
      const std::vector<Real> H_r_ref = restrict_matrix(subspace.directions, k, reference_hessian(loss, x), n);
      const std::size_t kk = std::size_t(k) * std::size_t(k);
      EXPECT_LE(scaled_error(&r.hessian[p * kk], H_r_ref), 1e-6) << "vs D H_reference D^T";
      const std::vector<Real> H_full(full.hessian.begin() + std::ptrdiff_t(p * n * n),
                                     full.hessian.begin() + std::ptrdiff_t((p + 1) * n * n));
      EXPECT_LE(scaled_error(&r.hessian[p * kk], restrict_matrix(subspace.directions, k, H_full, n)), 2e-6)
          << "vs D H_hessa D^T";
      EXPECT_LE(scaled_error(&r.gradient[p * std::size_t(k)],
                             restrict_vector(subspace.directions, k, reference_gradient(loss, x))),
                1e-7)
          << "gradient";
      const std::vector<Real> lambda = jacobi_eigenvalues(H_r_ref, std::size_t(k));
      for (int a = 0; a < k; ++a)
        EXPECT_NEAR(r.eigenvalues[p * std::size_t(k) + std::size_t(a)], double(lambda[std::size_t(a)]),
                    1e-6 * std::max(1.0L, std::fabs(lambda.back())) * k);
    }
  }
}

// rosenbrock in 3 coordinates on a plane: H(x) is analytic, so the restricted Hessian D H(x) D^T is exact.
// f is a quartic: the central stencil's truncation is exactly h^2/12 f_iiii on the diagonal and h^2/6 (f_iiij +
// f_ijjj) off it, and along unit directions every 4th derivative is <= 2400 (from the 100 x_i^4 terms), so
// <= 2 * 2400 h^2 / 6; rounding adds 4 df / h^2 with df = 8 eps |f|. Richardson removes the h^2 term exactly (a
// quartic has no 6th derivative), leaving rounding 68/3 df / h^2. Here h = scale max(|y_a|, 1).
TEST_P(ModelOnBackend, ExpressionRestrictedToAPlaneMatchesTheAnalyticRestrictedHessian) {
  const CompiledFunction f = test::compile("100*(x1 - x0^2)^2 + (1 - x0)^2 + 100*(x2 - x1^2)^2 + (1 - x1)^2", 3);
  const auto value = [](const std::vector<Real>& x) {
    return 100 * (x[1] - x[0] * x[0]) * (x[1] - x[0] * x[0]) + (1 - x[0]) * (1 - x[0]) +
           100 * (x[2] - x[1] * x[1]) * (x[2] - x[1] * x[1]) + (1 - x[1]) * (1 - x[1]);
  };
  const auto hessian = [](const std::vector<Real>& x) {  // column-major 3 x 3
    std::vector<Real> H(9, 0);
    for (std::size_t i = 0; i < 2; ++i) {  // term i: 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2
      H[i * 3 + i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      H[i * 3 + i + 1] += -400 * x[i];
      H[(i + 1) * 3 + i] += -400 * x[i];
      H[(i + 1) * 3 + i + 1] += 200;
    }
    return H;
  };
  const auto gradient = [](const std::vector<Real>& x) {
    std::vector<Real> g(3, 0);
    for (std::size_t i = 0; i < 2; ++i) {
      const Real r = x[i + 1] - x[i] * x[i];
      g[i] += -400 * x[i] * r - 2 * (1 - x[i]);
      g[i + 1] += 200 * r;
    }
    return g;
  };
  const AffineSubspace plane = random_subspace({0.5, -0.3, 0.8}, 2, 41);
  const std::vector<std::vector<double>> ys = {{0, 0}, {0.2, -0.1}, {-1.5, 0.5}, {1.25, 2.0}};
  Objective objective;
  objective.expression = &f;
  objective.subspace = &plane;
  ASSERT_EQ(objective.dimension(), 2);
  for (StencilKind stencil : {StencilKind::Central, StencilKind::Richardson}) {
    SCOPED_TRACE(stencil_name(stencil));
    const ChunkResult r = analyze(objective, ys, keep_all(stencil));
    for (std::size_t p = 0; p < ys.size(); ++p) {
      SCOPED_TRACE("point #" + std::to_string(p));
      const std::vector<Real> x = map_point(plane, ys[p].data());
      const double fx = double(value(x));
      const double df = 8 * kEps * std::max(fx, 1.0);
      const double h = default_step_scale(stencil) * std::max({std::fabs(ys[p][0]), std::fabs(ys[p][1]), 1.0});
      const double h_min = default_step_scale(stencil);
      const double tol = stencil == StencilKind::Central ? 2 * 2400 * h * h / 6 + 4 * df / (h_min * h_min)
                                                         : 68.0 / 3 * df / (h_min * h_min);
      EXPECT_NEAR(r.points[p].f, fx, df);
      const std::vector<Real> H = restrict_matrix(plane.directions, 2, hessian(x), 3);
      for (std::size_t e = 0; e < 4; ++e) EXPECT_NEAR(r.hessian[p * 4 + e], double(H[e]), tol) << "entry " << e;
      const std::vector<Real> g = restrict_vector(plane.directions, 2, gradient(x));
      // g: central truncation h^2/6 f''' (exactly; Richardson removes it, f^(5) = 0), where along unit directions
      // |f'''| <= sum_i (2400 |x_i| + 3 * 400) over the two terms; plus rounding <= 3 df / h.
      const double f3 = double(2400 * (std::fabs(x[0]) + std::fabs(x[1])) + 2400);
      const double g_tol = (stencil == StencilKind::Central ? h * h / 6 * f3 : 0.0) + 3 * df / h_min;
      for (std::size_t a = 0; a < 2; ++a) EXPECT_NEAR(r.gradient[p * 2 + a], double(g[a]), g_tol) << "g_" << a;
    }
  }
}

// f_step is f(x - step g) at the point's own coordinates: recomputed here from the returned x, g and step with the
// independent forward pass (1e-12 relative: the same point, the same formula summed in another order). uphill says
// whether it exceeds f. With lr, the step is lr itself. Full parameters and a restricted plane alike.
TEST_P(ModelOnBackend, GradientStepValueIsTheLossAtTheStep) {
  const MlpModel model = make_model({2, 3, 2}, Activation::Tanh, LossKind::CrossEntropy, 20, 51);
  const std::size_t n = std::size_t(model.parameter_count());
  const std::vector<std::vector<double>> thetas = {random_vector(n, -1, 1, 52), random_vector(n, -2, 2, 53),
                                                   random_vector(n, -0.5, 0.5, 54)};
  const AffineSubspace plane = random_subspace(thetas[0], 2, 55);
  const std::vector<std::vector<double>> ys = {{0, 0}, {0.5, -0.25}, {-1, 1}};
  int steps_checked = 0;
  for (double lr : {0.0, 0.05}) {
    for (const AffineSubspace* subspace : {static_cast<const AffineSubspace*>(nullptr), &plane}) {
      SCOPED_TRACE(std::string(subspace ? "restricted" : "full") + ", lr = " + std::to_string(lr));
      AnalysisOptions options;
      options.keep_gradient = true;
      options.lr = lr;
      const auto& points = subspace ? ys : thetas;
      const ChunkResult r = analyze_model(model, points, options, subspace);
      const std::size_t dim = std::size_t(r.n);
      for (std::size_t p = 0; p < points.size(); ++p) {
        const PointAnalysis& a = r.points[p];
        if (lr > 0) {
          EXPECT_EQ(a.step, lr);
        }
        if (!std::isfinite(a.step)) {  // g'Hg <= 0: no step is taken
          EXPECT_EQ(a.uphill, -1);
          EXPECT_TRUE(std::isnan(a.f_step));
          continue;
        }
        std::vector<double> stepped(dim);
        for (std::size_t i = 0; i < dim; ++i) stepped[i] = points[p][i] - a.step * r.gradient[p * dim + i];
        const std::vector<Real> x = subspace ? map_point(*subspace, stepped.data()) : to_real(stepped);
        const double expected = double(reference_loss(model, x));
        EXPECT_NEAR(a.f_step, expected, 1e-12 * std::max(std::fabs(expected), 1.0)) << "point #" << p;
        EXPECT_EQ(a.uphill, a.f_step > a.f ? 1 : 0) << "point #" << p;
        ++steps_checked;
      }
    }
  }
  EXPECT_GE(steps_checked, 9) << "most points must take a step";
}

// Hyper-dual numbers through a model on a subspace and an expression on a subspace: the k x k Hessian is exact,
// so it equals D H D^T of the independent reference Hessian (whose own error, ~1e-12, sets the bar 1e-10) and, for
// rosenbrock on a plane, the analytic D H D^T to rounding (1e-12 of its scale). f is the double path's value at the
// same point (the direct forward pass sums in another order: 1e-12 relative).
// Restricted exact Hessians are D H D^T of the full exact Hessian at the mapped point: the model's R-operator along
// the k directions against its P unit directions, both exact to rounding (1e-12 of the matrix scale); g = D g_full.
TEST_P(ModelOnBackend, RestrictedExactHessianIsDHDtOfTheFullExactHessian) {
  const MlpModel model = make_model({2, 4, 3}, Activation::Gelu, LossKind::CrossEntropy, 25, 71);
  const std::size_t n = std::size_t(model.parameter_count());
  const AffineSubspace subspace = random_subspace(random_vector(n, -1, 1, 72), 3, 73);
  const std::vector<std::vector<double>> ys = {{0.0, 0.0, 0.0}, {0.4, -0.2, 0.9}};
  const ChunkResult r = analyze_model(model, ys, keep_all(StencilKind::Exact), &subspace);
  std::vector<std::vector<double>> mapped;
  for (const auto& y : ys) {
    std::vector<double> x(n);
    subspace.map(y.data(), x.data());
    mapped.push_back(x);
  }
  const ChunkResult full = analyze_model(model, mapped, keep_all(StencilKind::Exact));
  for (std::size_t p = 0; p < ys.size(); ++p) {
    const std::vector<Real> H_full(full.hessian.begin() + std::ptrdiff_t(p * n * n),
                                   full.hessian.begin() + std::ptrdiff_t((p + 1) * n * n));
    const std::vector<Real> g_full(full.gradient.begin() + std::ptrdiff_t(p * n),
                                   full.gradient.begin() + std::ptrdiff_t((p + 1) * n));
    EXPECT_LE(scaled_error(&r.hessian[p * 9], restrict_matrix(subspace.directions, 3, H_full, n)), 1e-12);
    EXPECT_LE(scaled_error(&r.gradient[p * 3], restrict_vector(subspace.directions, 3, g_full)), 1e-12);
  }
}

// The exact stencil (R-operator for the model, forward-over-reverse on the tape for the expression) is held to the
// same bars; the gradient stencil (differences of exact gradients: ~1e-10, see above) to 1e-8 for both.
TEST_P(ModelOnBackend, HyperDualExactAndGradientStencilsGiveExactHessiansOnSubspaces) {
  for (StencilKind stencil : {StencilKind::HyperDual, StencilKind::Exact, StencilKind::Gradient}) {
    SCOPED_TRACE(stencil_name(stencil));
    const double bar = stencil == StencilKind::Gradient ? 1e-8 : 1e-10;
    const double analytic_bar = stencil == StencilKind::Gradient ? 1e-8 : 1e-12;
    const MlpModel model = make_model({2, 3, 1}, Activation::Tanh, LossKind::Logistic, 20, 61);
    const std::size_t n = std::size_t(model.parameter_count());
    const std::vector<double> theta = random_vector(n, -1, 1, 62);
    const AffineSubspace on_model = random_subspace(theta, 2, 63);
    const RealFunction loss = [&](const std::vector<Real>& x) { return reference_loss(model, x); };
    const std::vector<std::vector<double>> ys = {{0.0, 0.0}, {0.3, -0.7}};
    const ChunkResult exact = analyze_model(model, ys, keep_all(stencil), &on_model);
    const ChunkResult central = analyze_model(model, ys, keep_all(StencilKind::Central), &on_model);
    for (std::size_t p = 0; p < ys.size(); ++p) {
      SCOPED_TRACE("point #" + std::to_string(p));
      const std::vector<Real> x = map_point(on_model, ys[p].data());
      EXPECT_LE(
          scaled_error(&exact.hessian[p * 4], restrict_matrix(on_model.directions, 2, reference_hessian(loss, x), n)),
          bar);
      EXPECT_LE(
          scaled_error(&exact.gradient[p * 2], restrict_vector(on_model.directions, 2, reference_gradient(loss, x))),
          1e-10);  // g is exact in all three
      EXPECT_NEAR(exact.points[p].f, central.points[p].f, 1e-12 * std::fabs(central.points[p].f));
    }

    const CompiledFunction rosenbrock = test::compile("100*(x1 - x0^2)^2 + (1 - x0)^2", 2);
    const AffineSubspace line = {1, 2, {0.5, 0.2}, {0.6, 0.8}};  // x(t) = (0.5 + 0.6 t, 0.2 + 0.8 t)
    Objective g;
    g.expression = &rosenbrock;
    g.subspace = &line;
    const ChunkResult r = analyze(g, {{0.25}}, keep_all(stencil));
    const double x0 = 0.5 + 0.6 * 0.25, x1 = 0.2 + 0.8 * 0.25;
    const double h00 = 1200 * x0 * x0 - 400 * x1 + 2, h01 = -400 * x0, h11 = 200;
    const double restricted = 0.6 * 0.6 * h00 + 2 * 0.6 * 0.8 * h01 + 0.8 * 0.8 * h11;
    EXPECT_NEAR(r.hessian[0], restricted, analytic_bar * std::fabs(restricted));
  }
}

HESSA_INSTANTIATE_ON_BACKENDS(ModelBackends, ModelOnBackend);

// make_dataset: what does not fit the model is a message; what fits is "", split into features and targets.
TEST(ModelDataset, MakeDatasetExplainsWhatDoesNotFitTheModel) {
  MlpModel ce;
  ce.widths = {2, 4, 3};
  ce.loss = LossKind::CrossEntropy;
  Dataset d;
  EXPECT_NE(make_dataset({0.1, 0.2, 1, 0.3}, 4, ce, &d), "") << "4 columns for 2 features + 1 label";
  EXPECT_NE(make_dataset({0.1, 0.2, 3}, 3, ce, &d), "") << "class 3 with 3 outputs";
  EXPECT_NE(make_dataset({0.1, 0.2, -1}, 3, ce, &d), "") << "class -1";
  EXPECT_NE(make_dataset({0.1, 0.2, 0, 0.3, 0.4, 1.5}, 3, ce, &d), "") << "class 1.5 in the second sample";
  ASSERT_EQ(make_dataset({0.1, 0.2, 0, 0.3, 0.4, 2}, 3, ce, &d), "");
  EXPECT_EQ(d.samples, 2u);
  EXPECT_EQ(d.features, 2);
  EXPECT_EQ(d.targets, 1);
  EXPECT_EQ(d.x, (std::vector<double>{0.1, 0.2, 0.3, 0.4}));
  EXPECT_EQ(d.y, (std::vector<double>{0, 2}));

  MlpModel logistic;
  logistic.widths = {1, 1};
  logistic.loss = LossKind::Logistic;
  EXPECT_NE(make_dataset({0.5, 1.2}, 2, logistic, &d), "") << "label 1.2";
  EXPECT_NE(make_dataset({0.5, -0.1}, 2, logistic, &d), "") << "label -0.1";
  EXPECT_NE(make_dataset({0.5, 1, 0.25}, 3, logistic, &d), "") << "3 columns for 1 feature + 1 label";
  EXPECT_EQ(make_dataset({0.5, 0, 0.6, 1, 0.7, 0.25}, 2, logistic, &d), "") << "soft labels are fine";
  EXPECT_EQ(d.samples, 3u);

  MlpModel mse;
  mse.widths = {2, 3, 2};
  mse.loss = LossKind::Mse;
  EXPECT_NE(make_dataset({1, 2, 3}, 3, mse, &d), "") << "mse with 2 outputs needs 2 target columns";
  ASSERT_EQ(make_dataset({1, 2, 3, 4, 5, 6, 7, 8}, 4, mse, &d), "");
  EXPECT_EQ(d.samples, 2u);
  EXPECT_EQ(d.targets, 2);
  EXPECT_EQ(d.y, (std::vector<double>{3, 4, 7, 8}));
}

TEST(ModelDataset, ParameterCountAndLayoutFollowTorchLinear) {
  MlpModel m;
  m.widths = {2, 16, 16, 1};
  EXPECT_EQ(m.parameter_count(), 337);  // (2*16 + 16) + (16*16 + 16) + (16*1 + 1)
  m.widths = {3, 4, 2};
  EXPECT_EQ(m.parameter_count(), 26);
  EXPECT_EQ(detail::layer_bias_offset(m.widths.data(), 0), 12);
  EXPECT_EQ(detail::layer_weight_offset(m.widths.data(), 1), 16);
  EXPECT_EQ(detail::layer_bias_offset(m.widths.data(), 1), 24);
}

// MlpModel::loss_at (hessa's plain reference) against the one here, on every case of the table.
TEST(ModelDataset, LossAtAgreesWithTheIndependentForwardPass) {
  for (const MlpCase& c : kMlpCases) {
    const MlpModel model = make_model(c.widths, c.activation, c.loss, 20, c.seed);
    const std::vector<double> theta = random_vector(std::size_t(model.parameter_count()), -1, 1, c.seed + 1);
    const double ref = double(reference_loss(model, to_real(theta)));
    EXPECT_NEAR(model.loss_at(theta.data()), ref, 1e-13 * std::max(std::fabs(ref), 1.0)) << c.name;
  }
}

TEST(ModelDataset, NamesRoundTrip) {
  for (Activation a : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu}) {
    Activation back = Activation::Tanh;
    EXPECT_TRUE(activation_from_name(activation_name(a), &back));
    EXPECT_EQ(back, a);
  }
  for (LossKind l : {LossKind::Mse, LossKind::CrossEntropy, LossKind::Logistic}) {
    LossKind back = LossKind::Mse;
    EXPECT_TRUE(loss_from_name(loss_name(l), &back));
    EXPECT_EQ(back, l);
  }
  Activation a;
  LossKind l;
  EXPECT_FALSE(activation_from_name("softmax", &a));
  EXPECT_FALSE(loss_from_name("hinge", &l));
}

}  // namespace
}  // namespace hessa

namespace hessa {
namespace {

// The CPU's full-Hessian stencil reuses the centre's forward pass layer by layer (host/cpu/model_stencil.cpp).
// Through the identity subspace with origin 0 and y = theta, the materialized path evaluates the loss at the very
// same points (0 + sum_a theta_a e_a == theta, steps from the same coordinates) by whole forward passes, so the two
// differ only in the rounding of each loss: a few ulps of the largest stencil value (8 eps f_max, say), which the
// central Hessian divides by h^2 with h = 2^-13 max(|theta_i|, 1): |dH| <= 4 * 8 eps f_max / h^2 ~ 2e-7 f_max.
TEST(ModelLayerwiseStencil, EqualsWholeForwardPassesToRounding) {
  for (const auto& [widths, activation, loss] :
       {std::tuple{std::vector<std::int32_t>{3, 4, 3, 2}, Activation::Tanh, LossKind::CrossEntropy},
        std::tuple{std::vector<std::int32_t>{2, 5, 1}, Activation::Sigmoid, LossKind::Logistic},
        std::tuple{std::vector<std::int32_t>{2, 3, 3, 2}, Activation::Gelu, LossKind::Mse}}) {
    const MlpModel model = make_model(widths, activation, loss, 25, 41);
    const int P = int(model.parameter_count());
    const std::vector<double> theta = random_vector(std::size_t(P), -1.5, 1.5, 42);
    AffineSubspace identity{P, P, std::vector<double>(std::size_t(P), 0.0),
                            std::vector<double>(std::size_t(P) * P, 0.0)};
    for (int a = 0; a < P; ++a) identity.directions[std::size_t(a) * P + a] = 1.0;
    for (StencilKind kind : {StencilKind::Central, StencilKind::Compact, StencilKind::Richardson}) {
      SCOPED_TRACE(std::string(stencil_name(kind)) + ", P = " + std::to_string(P));
      const auto backend = make_cpu_backend();
      Objective layerwise, materialized;
      layerwise.model = materialized.model = &model;
      materialized.subspace = &identity;
      ChunkResult a, b;
      backend->analyze(layerwise, keep_all(kind), theta.data(), 1, a);
      backend->analyze(materialized, keep_all(kind), theta.data(), 1, b);
      EXPECT_EQ(a.points[0].f, b.points[0].f);  // the centre: the same forward pass
      const double f_max = std::max(std::fabs(a.points[0].f), 1.0);
      // h_i h_j >= scale^2; Richardson's (4 D(h/2) - D(h)) / 3 multiplies the rounding by 68/3 / 4 < 6.
      const double h2 = default_step_scale(kind) * default_step_scale(kind);
      const double bound = 4 * 8 * 2.220446049250313e-16 * f_max / h2 * (kind == StencilKind::Richardson ? 6 : 1);
      const double dH = test::scaled_max_error(a.hessian.data(), b.hessian.data(), a.hessian.size());
      EXPECT_LE(dH, bound);
      EXPECT_LE(test::scaled_max_error(a.gradient.data(), b.gradient.data(), a.gradient.size()), bound);
      char text[32];
      std::snprintf(text, sizeof text, "%.3g", dH);
      RecordProperty(std::string("dH_") + stencil_name(kind) + "_P" + std::to_string(P), text);
    }
  }
}

}  // namespace
}  // namespace hessa
