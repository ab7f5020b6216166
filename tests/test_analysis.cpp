// The second-derivative test and step quantities: hand-computed cases, analytic spectra, failures.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend_fixture.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

using detail::classify;

PointAnalysis classified(std::vector<double> lambda, double grad_norm, Thresholds t = {1e-4, 1e-6, 1e-6}) {
  PointAnalysis a = detail::failed_point(0.0, PointStatus::Ok);
  a.grad_norm = grad_norm;
  classify(lambda.data(), int(lambda.size()), t, 0.0, 0.0, &a);
  return a;
}

TEST(Classify, SignsOfEigenvaluesDecideTheClass) {
  EXPECT_EQ(classified({1, 2}, 0).point_class, PointClass::Minimum);
  EXPECT_EQ(classified({-2, -1}, 0).point_class, PointClass::Maximum);
  EXPECT_EQ(classified({-2, 1}, 0).point_class, PointClass::Saddle);
  EXPECT_EQ(classified({-2, 0, 1}, 0).point_class, PointClass::Saddle);  // mixed signs decide despite a zero
  EXPECT_EQ(classified({0, 1}, 0).point_class, PointClass::Degenerate);  // x^2 + y^4 at 0: inconclusive
  EXPECT_EQ(classified({-1, 0}, 0).point_class, PointClass::Degenerate);
  EXPECT_EQ(classified({0, 0}, 0).point_class, PointClass::Degenerate);
  EXPECT_EQ(classified({1, 2}, 1e-3).point_class, PointClass::Noncritical);
  EXPECT_EQ(classified({1, 2}, 5e-5).point_class, PointClass::Minimum);  // inside the default gtol
  EXPECT_EQ(classified({-3, -2, 1, 4}, 0).morse_index, 2);
}

TEST(Classify, ZeroBandIsAbsolutePlusRelative) {
  // tol = 1e-6 + 1e-6 * 1000 = 1.001e-3: 5e-4 counts as zero, 2e-3 does not.
  EXPECT_EQ(classified({5e-4, 1000}, 0).point_class, PointClass::Degenerate);
  EXPECT_EQ(classified({2e-3, 1000}, 0).point_class, PointClass::Minimum);
  EXPECT_EQ(classified({1, 2}, 2e-6, {1e-6, 1e-6, 1e-6}).point_class, PointClass::Noncritical);  // --gtol 1e-6
}

class AnalysisOnBackend : public test::OnBackend {};

TEST_P(AnalysisOnBackend, StepQuantitiesMatchHandComputedValues) {
  // f = x^2 + 4 y^2 at (1, 1): g = (2, 8), H = diag(2, 8); g'g = 68, g'Hg = 2*4 + 8*64 = 520.
  // lr_max = 1/8, step_opt = 68/520; f is quadratic, so the Taylor prediction is exact: f_step == taylor_pred.
  // FD of a quadratic is exact up to rounding (~1e-16 |f| / h^2 ~ 1e-7 relative worst case): tolerance 1e-6.
  const ChunkResult r = test::analyze_points(*backend_, test::compile("x0^2 + 4*x1^2", 2), {{1, 1}});
  const PointAnalysis& a = r.points[0];
  EXPECT_NEAR(a.f, 5.0, 1e-15);
  EXPECT_NEAR(a.grad_norm, std::sqrt(68.0), 1e-6);
  EXPECT_NEAR(a.lambda_min, 2.0, 1e-6);
  EXPECT_NEAR(a.lambda_max, 8.0, 1e-6);
  EXPECT_NEAR(a.lr_max, 0.125, 1e-6);
  EXPECT_NEAR(a.gHg, 520.0, 520.0 * 1e-6);
  EXPECT_NEAR(a.step_opt, 68.0 / 520.0, 1e-6);
  EXPECT_EQ(a.step, a.step_opt);
  const double expected_pred = 5.0 - 0.5 * 68.0 * 68.0 / 520.0;
  EXPECT_NEAR(a.taylor_pred, expected_pred, 1e-6);
  EXPECT_NEAR(a.f_step, expected_pred, 1e-6);
  EXPECT_EQ(a.uphill, 0);
  EXPECT_EQ(a.point_class, PointClass::Noncritical);
}

TEST_P(AnalysisOnBackend, UserLearningRateAndUphillSteps) {
  // Same f; lr = 0.3 > 2/lambda_max = 0.25 overshoots along y: f(1 - 0.6, 1 - 2.4) = 0.16 + 4*1.96 = 8 > 5.
  AnalysisOptions options;
  options.lr = 0.3;
  const ChunkResult r = test::analyze_points(*backend_, test::compile("x0^2 + 4*x1^2", 2), {{1, 1}}, options);
  EXPECT_EQ(r.points[0].step, 0.3);
  EXPECT_NEAR(r.points[0].f_step, 0.16 + 4 * 1.96, 1e-5);
  EXPECT_EQ(r.points[0].uphill, 1);
}

TEST_P(AnalysisOnBackend, NegativeCurvatureAlongGradientHasNoOptimalStep) {
  // f = -x^2 at x = 1: g'Hg < 0, the quadratic model has no minimum along -g: step_opt and lr_max are NaN.
  const ChunkResult r = test::analyze_points(*backend_, test::compile("-x0^2", 1), {{1}});
  EXPECT_TRUE(std::isnan(r.points[0].step_opt));
  EXPECT_TRUE(std::isnan(r.points[0].lr_max));
  EXPECT_TRUE(std::isnan(r.points[0].f_step));
  EXPECT_EQ(r.points[0].uphill, -1);
}

TEST_P(AnalysisOnBackend, DegenerateMinimaAndSaddlesAreNotOverclaimed) {
  // x^4 + y^4 at 0: FD Hessian = 2 h^2 I ~ 3e-8 I, inside the zero band -> degenerate, never "minimum".
  const ChunkResult q = test::analyze_points(*backend_, test::compile("x0^4 + x1^4", 2), {{0, 0}});
  EXPECT_EQ(q.points[0].point_class, PointClass::Degenerate);
  const ChunkResult m = test::analyze_points(*backend_, test::compile("x0^3 - 3*x0*x1^2", 2), {{0, 0}});
  EXPECT_EQ(m.points[0].point_class, PointClass::Degenerate);
}

TEST_P(AnalysisOnBackend, NonfiniteValuesAreReportedInTheirRowOnly) {
  // log(x0) at x0 = -1 is NaN; at x0 = 1e-5 the stencil (h = 1.2e-4) reaches negative x0: also NaN;
  // the other points are analyzed normally.
  const ChunkResult r =
      test::analyze_points(*backend_, test::compile("log(x0) + x1^2", 2), {{2, 0}, {-1, 0}, {1e-5, 0}, {3, 1}});
  EXPECT_EQ(r.points[0].status, PointStatus::Ok);
  EXPECT_EQ(r.points[1].status, PointStatus::NonfiniteF);
  EXPECT_EQ(r.points[2].status, PointStatus::NonfiniteF);
  EXPECT_EQ(r.points[3].status, PointStatus::Ok);
  EXPECT_EQ(r.points[1].point_class, PointClass::Unknown);
  EXPECT_TRUE(std::isnan(r.points[1].lambda_min));
  EXPECT_NEAR(r.points[3].lambda_min, -1.0 / 9.0, 1e-6);
}

// A symmetric matrix with known spectrum: A = Q diag(lambda) Q', Q a Householder reflection I - 2 v v'/v'v.
std::vector<double> matrix_with_spectrum(const std::vector<double>& lambda, unsigned seed) {
  const int n = int(lambda.size());
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<double> v(static_cast<std::size_t>(n));
  double vv = 0;
  for (double& c : v) {
    c = normal(rng);
    vv += c * c;
  }
  std::vector<double> A(std::size_t(n) * n, 0.0);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c)
      for (int k = 0; k < n; ++k) {
        const double qrk = (r == k) - 2 * v[r] * v[k] / vv;
        const double qck = (c == k) - 2 * v[c] * v[k] / vv;
        A[std::size_t(r) * n + c] += qrk * lambda[std::size_t(k)] * qck;
      }
  for (int r = 0; r < n; ++r)  // exact symmetry
    for (int c = 0; c < r; ++c) A[std::size_t(r) * n + c] = A[std::size_t(c) * n + r];
  return A;
}

TEST_P(AnalysisOnBackend, EigenvaluesAndVectorsMatchAnalyticSpectraUpToN64) {
  // FD of a quadratic is exact but for rounding, ~eps |f| / h^2 with |f| ~ n |lambda| |x|^2: at n = 64
  // that is ~1e-8 * 64 * 10: tolerance 1e-5 of max|lambda| on eigenvalues, 1e-5 on the residual |Av - lambda v|.
  for (int n : {2, 8, 33, 64}) {
    std::vector<double> lambda(static_cast<std::size_t>(n));
    for (int k = 0; k < n; ++k) lambda[std::size_t(k)] = -3.0 + 13.0 * k / n + (k % 3) * 0.01;
    std::sort(lambda.begin(), lambda.end());
    const std::vector<double> A = matrix_with_spectrum(lambda, unsigned(n));
    const CatalogueEntry q = quadratic_form("q", A, n);
    AnalysisOptions options;
    options.keep_eigenvalues = options.eigenvectors = true;
    options.stencil = n > 16 ? StencilKind::Compact : StencilKind::Central;  // keep the test fast
    std::vector<double> x(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) x[std::size_t(i)] = std::sin(0.7 * i);
    const ChunkResult r = test::analyze_points(*backend_, test::compile_entry(q, n), {x}, options);
    ASSERT_EQ(r.points[0].status, PointStatus::Ok);
    EXPECT_LE(test::scaled_max_error(r.eigenvalues.data(), lambda.data(), lambda.size()), 1e-5) << "n=" << n;
    for (int k = 0; k < n; ++k) {
      const double* v = &r.eigenvectors[std::size_t(k) * n];
      double residual = 0, norm = 0;
      for (int row = 0; row < n; ++row) {
        double Av = 0;
        for (int c = 0; c < n; ++c) Av += A[std::size_t(row) * n + c] * v[c];
        residual = std::max(residual, std::fabs(Av - lambda[std::size_t(k)] * v[row]));
        norm += v[row] * v[row];
      }
      EXPECT_LE(residual, 1e-5) << "n=" << n << " k=" << k;
      EXPECT_NEAR(norm, 1.0, 1e-12) << "eigenvectors are unit vectors";
    }
  }
}

TEST_P(AnalysisOnBackend, ChunksOfManyPointsGiveTheSameRowsAsOnePointAtATime) {
  // Batching must not mix points: the per-point results of a 500-point chunk equal single-point runs, exactly.
  const CompiledFunction f = test::compile_entry(*find_catalogue_entry("himmelblau"), 2);
  std::vector<std::vector<double>> points;
  for (int k = 0; k < 500; ++k) points.push_back({-5 + 10.0 * ((k * 37) % 500) / 500, -5 + 10.0 * k / 500});
  const ChunkResult all = test::analyze_points(*backend_, f, points);
  for (int k : {0, 1, 250, 499}) {
    const ChunkResult one = test::analyze_points(*backend_, f, {points[std::size_t(k)]});
    const PointAnalysis& a = one.points[0];
    const PointAnalysis& b = all.points[std::size_t(k)];
    for (auto field :
         {&PointAnalysis::f, &PointAnalysis::grad_norm, &PointAnalysis::lambda_min, &PointAnalysis::lambda_max,
          &PointAnalysis::gHg, &PointAnalysis::step_opt, &PointAnalysis::f_step}) {
      EXPECT_TRUE(a.*field == b.*field || (std::isnan(a.*field) && std::isnan(b.*field)))
          << "point " << k << ": " << a.*field << " vs " << b.*field;
    }
    EXPECT_EQ(a.point_class, b.point_class);
  }
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, AnalysisOnBackend);

}  // namespace
}  // namespace hessa
