// Lanczos extremes and Hutchinson traces (host/lanczos/lanczos.cpp) against dense eigendecompositions of Hessians
// formed independently (hyper-dual stencils for a model, the exact stencil for an expression), on the CPU backend.
// Tolerances: Lanczos runs to a residual of 1e-11 max|lambda|, and an eigenvalue is within its residual of the
// true one (symmetric H), so 1e-8 of max|lambda| leaves a wide margin and still catches a missed or wrong
// eigenvalue. The dense side is exact to rounding (~1e-14).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"
#include "hessa/lanczos.hpp"
#include "model_support.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

struct Dense {
  std::vector<double> eigenvalues;  // count x N, ascending
  std::vector<double> hessian;      // count x N x N
};

Dense dense_analysis(Backend& backend, const Objective& objective, StencilKind stencil,
                     const std::vector<double>& points, std::size_t count) {
  AnalysisOptions options;
  options.stencil = stencil;
  options.step_scale = default_step_scale(stencil);
  options.keep_eigenvalues = options.keep_hessian = true;
  ChunkResult r;
  backend.analyze(objective, options, points.data(), count, r);
  return {r.eigenvalues, r.hessian};
}

void expect_extremes_match(const LanczosResult& lz, const Dense& dense, std::size_t count, int n, int k,
                           const char* what) {
  for (std::size_t p = 0; p < count; ++p) {
    const double* w = dense.eigenvalues.data() + p * std::size_t(n);
    const double scale = std::max(std::fabs(w[0]), std::fabs(w[n - 1]));
    EXPECT_EQ(lz.converged[p], 1) << what << " point " << p << " after " << lz.steps[p] << " steps";
    for (int i = 0; i < k; ++i) {
      EXPECT_NEAR(lz.lowest[p * std::size_t(k) + std::size_t(i)], w[i], 1e-8 * scale) << what << " point " << p;
      EXPECT_NEAR(lz.highest[p * std::size_t(k) + std::size_t(i)], w[n - k + i], 1e-8 * scale)
          << what << " point " << p;
      EXPECT_LE(lz.lowest_residual[p * std::size_t(k) + std::size_t(i)], 1e-11 * scale);
      EXPECT_LE(lz.highest_residual[p * std::size_t(k) + std::size_t(i)], 1e-11 * scale);
    }
  }
}

class Lanczos : public ::testing::Test {
 protected:
  // An MLP 4-12-8-3, tanh, cross-entropy on 60 samples: P = 191, small enough for a dense Hessian.
  MlpModel model_ = test::make_model({4, 12, 8, 3}, Activation::Tanh, LossKind::CrossEntropy, 60, 17);
  std::unique_ptr<Backend> backend_ = make_cpu_backend();

  std::vector<double> parameter_sets(std::size_t count) const {
    test::Uniform u(5);
    std::vector<double> theta(count * model_.parameter_count());
    for (double& v : theta) v = u(-0.8, 0.8);
    return theta;
  }
};

TEST_F(Lanczos, ModelExtremesEqualTheDenseSpectrumAtBothEnds) {
  const int n = int(model_.parameter_count());
  const std::size_t count = 3;
  const std::vector<double> theta = parameter_sets(count);
  Objective objective;
  objective.model = &model_;
  const Dense dense = dense_analysis(*backend_, objective, StencilKind::HyperDual, theta, count);
  LanczosOptions options;
  options.k = 3;
  options.tol = 1e-11;
  options.max_steps = n;
  LanczosResult lz;
  lanczos_analysis(*backend_, objective, theta.data(), count, 0, options, lz);
  expect_extremes_match(lz, dense, count, n, 3, "mlp");
  for (std::size_t p = 0; p < count; ++p) EXPECT_LT(lz.steps[p], n) << "Lanczos should need fewer steps than P";
}

TEST_F(Lanczos, ExpressionExtremesEqualTheDenseSpectrum) {
  const CatalogueEntry* e = find_catalogue_entry("styblinski_tang");
  ASSERT_NE(e, nullptr);
  const int n = 40;
  const CompiledFunction f = test::compile_entry(*e, n);
  // rastrigin-like separable: a diagonal H; add a coupled one too.
  const CompiledFunction coupled =
      compile_expression("sum(i, 0, n - 2, (x[i] - x[i+1])^2 * (1 + x[i]^2)) + sum(i, 0, n - 1, 0.1 * x[i]^4)", [] {
        ExpressionOptions o;
        o.dimension = 40;
        return o;
      }());
  test::Uniform u(9);
  std::vector<double> points(2 * std::size_t(n));
  for (double& v : points) v = u(-2, 2);
  for (const CompiledFunction* fn : {&f, &coupled}) {
    Objective objective;
    objective.expression = fn;
    const Dense dense = dense_analysis(*backend_, objective, StencilKind::Exact, points, 2);
    LanczosOptions options;
    options.k = 2;
    options.tol = 1e-11;
    options.max_steps = n;
    LanczosResult lz;
    lanczos_analysis(*backend_, objective, points.data(), 2, 0, options, lz);
    expect_extremes_match(lz, dense, 2, n, 2, fn == &f ? "styblinski_tang" : "coupled chain");
  }
}

// Hutchinson with 400 Rademacher probes: the estimate is within 3 of its standard errors of tr H (deterministic
// for the fixed seed; the statistical claim is what 3 SE means), and the SE is of the size theory gives:
// Var(z'Hz) = 2 sum_{i != j} H_ij^2, so SE = sqrt(2 sum_{i!=j} H_ij^2 / 400) within a factor 2.
TEST_F(Lanczos, HutchinsonTraceIsWithinThreeStandardErrorsOfTheExactTrace) {
  const int n = int(model_.parameter_count());
  const std::vector<double> theta = parameter_sets(2);
  Objective objective;
  objective.model = &model_;
  const Dense dense = dense_analysis(*backend_, objective, StencilKind::HyperDual, theta, 2);
  LanczosOptions options;
  options.trace_probes = 400;
  options.max_steps = 5;
  LanczosResult lz;
  lanczos_analysis(*backend_, objective, theta.data(), 2, 0, options, lz);
  for (std::size_t p = 0; p < 2; ++p) {
    const double* H = dense.hessian.data() + p * std::size_t(n) * std::size_t(n);
    double trace = 0.0, off = 0.0;
    for (int c = 0; c < n; ++c) {
      trace += H[std::size_t(c) * std::size_t(n) + std::size_t(c)];
      for (int r = 0; r < n; ++r)
        off += r != c ? H[std::size_t(c) * std::size_t(n) + std::size_t(r)] *
                            H[std::size_t(c) * std::size_t(n) + std::size_t(r)]
                      : 0.0;
    }
    EXPECT_LE(std::fabs(lz.trace[p] - trace), 3.0 * lz.trace_se[p]) << "point " << p;
    const double theory = std::sqrt(2.0 * off / 400.0);
    EXPECT_GT(lz.trace_se[p], 0.5 * theory);
    EXPECT_LT(lz.trace_se[p], 2.0 * theory);
  }
}

// A point's answer depends on the point and its index alone: the same bits alone or in a batch (lock step changes
// nothing per point), and a capped run reports its best values, unconverged, with their residuals.
TEST_F(Lanczos, BatchingDoesNotChangeAPointAndUnconvergedPointsAreFlagged) {
  const std::size_t count = 3;
  const std::vector<double> theta = parameter_sets(count);
  const std::size_t P = model_.parameter_count();
  Objective objective;
  objective.model = &model_;
  LanczosOptions options;
  options.k = 2;
  options.trace_probes = 3;
  LanczosResult batch, alone;
  lanczos_analysis(*backend_, objective, theta.data(), count, 10, options, batch);
  lanczos_analysis(*backend_, objective, theta.data() + 2 * P, 1, 12, options, alone);
  EXPECT_EQ(std::memcmp(&batch.highest[4], alone.highest.data(), 2 * sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&batch.lowest[4], alone.lowest.data(), 2 * sizeof(double)), 0);
  EXPECT_EQ(std::memcmp(&batch.trace[2], alone.trace.data(), sizeof(double)), 0);
  EXPECT_EQ(batch.steps[2], alone.steps[0]);

  options.max_steps = 3;
  options.tol = 1e-12;
  LanczosResult capped;
  lanczos_analysis(*backend_, objective, theta.data(), count, 0, options, capped);
  for (std::size_t p = 0; p < count; ++p) {
    EXPECT_EQ(capped.converged[p], 0);
    EXPECT_EQ(capped.steps[p], 3);
    EXPECT_TRUE(std::isfinite(capped.highest[p * 2 + 1]));
    EXPECT_GT(capped.highest_residual[p * 2 + 1], 1e-12 * std::fabs(capped.highest[p * 2 + 1]));
  }
}

// Stochastic Lanczos quadrature: for each probe v (lanczos_probe), the m-point Gauss quadrature of its spectral
// measure is exact for polynomials of degree < 2m, so sum_i tau_i theta_i^j = v'H^j v for j = 0 .. 3 at m = 4
// (H^j v from the dense hyper-dual Hessian; 1e-10 of max|lambda|^j: rounding only, amplified by the Lanczos
// recurrence). j = 0: the weights of each probe sum to 1.
TEST_F(Lanczos, DensityQuadratureIsExactForLowDegreeMoments) {
  const int n = int(model_.parameter_count());
  const auto un = std::size_t(n);
  const std::vector<double> theta = parameter_sets(2);
  Objective objective;
  objective.model = &model_;
  const Dense dense = dense_analysis(*backend_, objective, StencilKind::HyperDual, theta, 2);
  LanczosOptions options;
  options.max_steps = 3;
  options.density_probes = 3;
  options.density_steps = 4;
  LanczosResult lz;
  lanczos_analysis(*backend_, objective, theta.data(), 2, 7, options, lz);
  ASSERT_EQ(lz.density_m, 4);
  ASSERT_EQ(lz.density_nodes.size(), 2u * 3u * 4u);
  for (std::size_t p = 0; p < 2; ++p) {
    const double* H = dense.hessian.data() + p * un * un;
    const double* w = dense.eigenvalues.data() + p * un;
    const double scale = std::max(std::fabs(w[0]), std::fabs(w[n - 1]));
    for (int v = 0; v < 3; ++v) {
      std::vector<double> probe(un), power(un), next(un);
      lanczos_probe(options.seed, 7 + p, v, n, probe.data());
      power = probe;
      for (int j = 0; j <= 3; ++j) {
        double exact = 0.0, quadrature = 0.0;
        for (std::size_t i = 0; i < un; ++i) exact += probe[i] * power[i];
        for (int i = 0; i < 4; ++i) {
          const std::size_t at = (p * 3 + std::size_t(v)) * 4 + std::size_t(i);
          quadrature += lz.density_weights[at] * std::pow(lz.density_nodes[at], j);
        }
        EXPECT_NEAR(quadrature, exact, 1e-10 * std::pow(std::max(scale, 1.0), j))
            << "point " << p << ", probe " << v << ", moment " << j;
        for (std::size_t r = 0; r < un; ++r) {  // power <- H power
          next[r] = 0.0;
          for (std::size_t c = 0; c < un; ++c) next[r] += H[c * un + r] * power[c];
        }
        power = next;
      }
    }
  }
}

TEST_F(Lanczos, BadOptionsAreInputErrors) {
  const std::vector<double> theta = parameter_sets(1);
  Objective objective;
  objective.model = &model_;
  LanczosResult lz;
  for (int which = 0; which < 6; ++which) {
    LanczosOptions o;
    if (which == 0) o.k = 0;
    if (which == 1) o.max_steps = 0;
    if (which == 2) o.tol = 0.0;
    if (which == 3) o.trace_probes = -1;
    if (which == 4) o.density_probes = -1;
    if (which == 5) o.density_probes = 1, o.density_steps = 0;
    EXPECT_THROW(lanczos_analysis(*backend_, objective, theta.data(), 1, 0, o, lz), InputError) << which;
  }
}

// The memory bound the run prints and the README states: steps + 23 + 4k vectors of N doubles per point, the basis
// capped at N, and the density's steps counted when they exceed the extremes'.
TEST(LanczosMemory, VectorsPerPointAreTheStatedBound) {
  LanczosOptions o;
  o.k = 1;
  o.max_steps = 40;
  EXPECT_EQ(lanczos_vectors_per_point(1076010, o), std::size_t(40 + 23 + 4));
  o.k = 3;
  EXPECT_EQ(lanczos_vectors_per_point(1076010, o), std::size_t(40 + 23 + 12));
  EXPECT_EQ(lanczos_vectors_per_point(10, o), std::size_t(10 + 23 + 12));  // at most n steps
  o.density_probes = 2;
  o.density_steps = 90;
  EXPECT_EQ(lanczos_vectors_per_point(1076010, o), std::size_t(90 + 23 + 12));
  const std::size_t bytes = lanczos_bytes_per_point(1076010, o);
  EXPECT_GE(bytes, lanczos_vectors_per_point(1076010, o) * 1076010 * sizeof(double));
  EXPECT_LT(bytes, (lanczos_vectors_per_point(1076010, o) + 1) * 1076010 * sizeof(double));
}

}  // namespace
}  // namespace hessa
