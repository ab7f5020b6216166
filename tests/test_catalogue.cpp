// Every catalogue function's FD gradient and Hessian against its analytic values, on every backend.
// Tolerance: central differences with h = 2^-13 max(|x|,1) have truncation ~h^2 f'''' / 12 ~ 1e-8 relative
// and rounding ~eps |f| / h^2 ~ 1.5e-8 |f|; 1e-6 of the matrix scale leaves a margin of ~50x for the
// functions' steep terms (rosenbrock's 100x, rastrigin's 40 pi^2).
#include <gtest/gtest.h>

#include "backend_fixture.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

class CatalogueOnBackend : public test::OnBackend {};

void check_derivatives(Backend& backend, const CatalogueEntry& e, int n, StencilKind stencil, double tol) {
  const CompiledFunction f = test::compile_entry(e, n);
  AnalysisOptions options;
  options.stencil = stencil;
  options.keep_gradient = options.keep_hessian = true;
  const auto points = e.sample_points(n);
  const ChunkResult r = test::analyze_points(backend, f, points, options);
  for (std::size_t p = 0; p < points.size(); ++p) {
    std::vector<double> g(static_cast<std::size_t>(n)), H(static_cast<std::size_t>(n * n));
    e.gradient(points[p].data(), n, g.data());
    e.hessian(points[p].data(), n, H.data());
    EXPECT_LE(test::scaled_max_error(&r.gradient[p * n], g.data(), g.size()), tol)
        << e.name << " n=" << n << " gradient at sample " << p << " (" << stencil_name(stencil) << ")";
    EXPECT_LE(test::scaled_max_error(&r.hessian[p * n * n], H.data(), H.size()), tol)
        << e.name << " n=" << n << " Hessian at sample " << p << " (" << stencil_name(stencil) << ")";
  }
}

// The dimensions each entry is checked at: its fixed n, or a few for dimension-generic functions.
std::vector<int> dimensions_of(const CatalogueEntry& e, std::vector<int> generic) {
  return e.dimension > 0 ? std::vector<int>{e.dimension} : generic;
}

TEST_P(CatalogueOnBackend, CentralStencilMatchesAnalyticDerivativesTo1e6) {
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e, {1, 2, 5})) {
      if (!e.accepts_dimension(n)) continue;
      check_derivatives(*backend_, e, n, StencilKind::Central, 1e-6);
    }
  }
}

TEST_P(CatalogueOnBackend, CompactStencilMatchesAnalyticDerivativesTo1e6) {
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e, {4})) check_derivatives(*backend_, e, n, StencilKind::Compact, 1e-6);
  }
}

TEST_P(CatalogueOnBackend, KnownStationaryPointsGetTheirType) {
  // The listed coordinates are stationary to ~1e-14; FD gradients there are <= ~5e-6 (truncation), below gtol = 1e-4.
  int checked = 0;
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e, {2, 3})) {
      const auto stationary = e.stationary_points(n);
      if (stationary.empty()) continue;
      std::vector<std::vector<double>> points;
      for (const auto& s : stationary) points.push_back(s.x);
      const ChunkResult r = test::analyze_points(*backend_, test::compile_entry(e, n), points);
      for (std::size_t p = 0; p < stationary.size(); ++p, ++checked) {
        EXPECT_EQ(r.points[p].status, PointStatus::Ok);
        EXPECT_STREQ(class_name(r.points[p].point_class), class_name(stationary[p].type))
            << e.name << " n=" << n << " point " << p << " grad_norm=" << r.points[p].grad_norm << " lambda=["
            << r.points[p].lambda_min << ", " << r.points[p].lambda_max << "]";
      }
    }
  }
  EXPECT_GE(checked, 9 + 15 + 9 + 27);  // himmelblau, six-hump camel, styblinski-tang n=2 and n=3, ...
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, CatalogueOnBackend);

}  // namespace
}  // namespace hessa
