// Accuracy modes: Richardson extrapolation and exact hyper-dual Hessians on every catalogue function, and the
// error-aware classification that never labels a point more confidently than its error estimate allows.
#include <gtest/gtest.h>

#include <cmath>

#include "backend_fixture.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

class AccuracyOnBackend : public test::OnBackend {
 protected:
  // Largest scaled error of H over every catalogue function at its sample points (n = fixed, or 2 and 5).
  double worst_hessian_error(StencilKind stencil, std::string* where) {
    double worst = 0.0;
    for (const CatalogueEntry& e : catalogue()) {
      for (int n : e.dimension > 0 ? std::vector<int>{e.dimension} : std::vector<int>{2, 5}) {
        AnalysisOptions options;
        options.stencil = stencil;
        options.step_scale = default_step_scale(stencil);
        options.keep_hessian = options.keep_gradient = true;
        const auto points = e.sample_points(n);
        const ChunkResult r = test::analyze_points(*backend_, test::compile_entry(e, n), points, options);
        for (std::size_t p = 0; p < points.size(); ++p) {
          std::vector<double> H(std::size_t(n) * n);
          e.hessian(points[p].data(), n, H.data());
          const double err = test::scaled_max_error(&r.hessian[p * n * n], H.data(), H.size());
          if (err > worst) {
            worst = err;
            *where = e.name + " n=" + std::to_string(n) + " sample " + std::to_string(p);
          }
        }
      }
    }
    return worst;
  }
};

// Richardson (h = 2^-9 max(|x|,1), then h/2): truncation ~h^4 f^(6) and rounding ~eps |f| / (h/2)^2 are both
// ~1e-11 of the Hessian's scale on these functions; the bar is 1e-9.
TEST_P(AccuracyOnBackend, RichardsonHessiansReach1e9OnEveryCatalogueFunction) {
  std::string where;
  const double worst = worst_hessian_error(StencilKind::Richardson, &where);
  EXPECT_LE(worst, 1e-9) << "worst at " << where;
  RecordProperty("worst_richardson_error", test::scientific(worst));
}

// Hyper-dual derivatives are exact but for the rounding of the function's own arithmetic: a few ulps of
// the largest intermediate term, 1e-13 of the Hessian's scale.
TEST_P(AccuracyOnBackend, HyperDualHessiansReach1e13OnEveryCatalogueFunction) {
  std::string where;
  const double worst = worst_hessian_error(StencilKind::HyperDual, &where);
  EXPECT_LE(worst, 1e-13) << "worst at " << where;
  RecordProperty("worst_hyperdual_error", test::scientific(worst));
}

// The plain stencils, for the README's table (their bar, 1e-6, is asserted in test_catalogue.cpp).
TEST_P(AccuracyOnBackend, PlainStencilsStayBelow1e6) {
  for (StencilKind kind : {StencilKind::Central, StencilKind::Compact}) {
    std::string where;
    const double worst = worst_hessian_error(kind, &where);
    EXPECT_LE(worst, 1e-6) << "worst at " << where;
    RecordProperty(std::string("worst_") + stencil_name(kind) + "_error", test::scientific(worst));
  }
}

TEST_P(AccuracyOnBackend, RichardsonErrorEstimateBoundsTheActualError) {
  // The estimate |D(h/2) - D(h)|/3 (plus rounding) must not be smaller than the true error of H.
  const CatalogueEntry& e = *find_catalogue_entry("rastrigin");
  AnalysisOptions options;
  options.stencil = StencilKind::Richardson;
  options.step_scale = 1.0 / 64;  // a coarse step, so that truncation error is large enough to measure
  options.keep_hessian = true;
  const auto points = e.sample_points(3);
  const ChunkResult r = test::analyze_points(*backend_, test::compile_entry(e, 3), points, options);
  for (std::size_t p = 0; p < points.size(); ++p) {
    std::vector<double> H(9);
    e.hessian(points[p].data(), 3, H.data());
    double err2 = 0;
    for (int k = 0; k < 9; ++k) err2 += std::pow(r.hessian[p * 9 + k] - H[std::size_t(k)], 2);
    EXPECT_GE(r.points[p].hess_err, std::sqrt(err2)) << "sample " << p;
    // Useful, not merely safe: within a few times the level difference's own size (entries are ~400).
    EXPECT_LE(r.points[p].hess_err, 1.0) << "a useful estimate, not an arbitrary large one";
  }
}

// f = 1e8 + delta/2 x0^2 + 50 x1^2: the constant makes every central stencil value ~1e8, so each FD Hessian
// entry carries rounding noise ~eps 1e8 / h^2 ~ 1.5 and the model's band is ~8. delta = 0.5 lies inside it:
// the sign of the smaller eigenvalue is not knowable, and the point must be `degenerate` with confidence <= 1.
// delta = 100 lies far outside: `minimum` with confidence > 1.
TEST_P(AccuracyOnBackend, LabelsRespectTheErrorBand) {
  AnalysisOptions options;
  options.thresholds = {1e-4, 0.0, 0.0};  // the error estimate alone makes the band
  for (double delta : {0.5, 100.0}) {
    ExpressionOptions eo;
    eo.dimension = 2;
    eo.parameters = {{"delta", delta}};
    const CompiledFunction f = compile_expression("1e8 + delta/2*x0^2 + 50*x1^2", eo);
    const ChunkResult r = test::analyze_points(*backend_, f, {{0, 0}}, options);
    const PointAnalysis& a = r.points[0];
    EXPECT_GT(a.hess_err, 1.0) << "the rounding model must see the 1e8 offset";
    if (delta < 1) {
      EXPECT_EQ(a.point_class, PointClass::Degenerate) << "lambda_min = " << a.lambda_min << ", band " << a.hess_err;
      EXPECT_LE(a.confidence, 1.0);
    } else {
      EXPECT_EQ(a.point_class, PointClass::Minimum);
      EXPECT_GT(a.confidence, 1.0);
    }
  }
  // The exact hyper-dual Hessian has no such noise: the same delta = 0.5 point is a confident minimum.
  options.stencil = StencilKind::HyperDual;
  ExpressionOptions eo;
  eo.dimension = 2;
  eo.parameters = {{"delta", 0.5}};
  const ChunkResult r =
      test::analyze_points(*backend_, compile_expression("1e8 + delta/2*x0^2 + 50*x1^2", eo), {{0, 0}}, options);
  EXPECT_EQ(r.points[0].point_class, PointClass::Minimum);
  EXPECT_NEAR(r.points[0].lambda_min, 0.5, 1e-13);
  EXPECT_GT(r.points[0].confidence, 1e6);
}

TEST_P(AccuracyOnBackend, HyperDualGradientAndValueAreExact) {
  const CatalogueEntry& e = *find_catalogue_entry("beale");
  AnalysisOptions options;
  options.stencil = StencilKind::HyperDual;
  options.keep_gradient = true;
  const auto points = e.sample_points(2);
  const ChunkResult r = test::analyze_points(*backend_, test::compile_entry(e, 2), points, options);
  for (std::size_t p = 0; p < points.size(); ++p) {
    double g[2];
    e.gradient(points[p].data(), 2, g);
    EXPECT_LE(test::scaled_max_error(&r.gradient[p * 2], g, 2), 1e-14);
  }
}

TEST_P(AccuracyOnBackend, HyperDualAtAKinkGivesTheDocumentedOneSidedValues) {
  // abs(x) at 0 is differentiated as +x; min/max at a tie as their first argument.
  AnalysisOptions options;
  options.stencil = StencilKind::HyperDual;
  options.keep_gradient = options.keep_hessian = true;
  const ChunkResult r =
      test::analyze_points(*backend_, test::compile("abs(x0) + min(x1, 2*x1 - 1)^2", 2), {{0, 1}}, options);
  EXPECT_EQ(r.gradient[0], 1.0);  // d|x|/dx taken from the x >= 0 branch
  EXPECT_EQ(r.gradient[1], 2.0);  // min(x1, 2 x1 - 1) at x1 = 1 is a tie: the first argument, x1 -> 2 x1
  EXPECT_EQ(r.hessian[0], 0.0);
  EXPECT_EQ(r.hessian[3], 2.0);
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, AccuracyOnBackend);

}  // namespace
}  // namespace hessa
