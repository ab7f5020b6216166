// The install test's consumer: compiles two expressions with the installed hessa, analyzes points of known class
// on the CPU backend and checks classes and eigenvalues; exits 1 on any wrong answer.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/backend.hpp"
#include "hessa/expression.hpp"

namespace {

struct Expected {
  double x, y;
  hessa::PointClass point_class;
  double lambda_min, lambda_max;
};

// Analyzes each expected point of `source` (variables x, y) and returns the number of wrong answers. Tolerance
// 1e-4 relative: the central stencil's O(h^2) error on these quartics is ~1e-6 of the eigenvalues.
int check(hessa::Backend& backend, const std::string& source, const std::vector<Expected>& cases) {
  hessa::ExpressionOptions expression_options;
  expression_options.dimension = 2;
  expression_options.variable_names = {"x", "y"};
  const hessa::CompiledFunction f = hessa::compile_expression(source, expression_options);
  hessa::AnalysisOptions options;
  options.keep_eigenvalues = true;
  std::vector<double> points;
  for (const Expected& c : cases) points.insert(points.end(), {c.x, c.y});
  hessa::ChunkResult result;
  backend.analyze(f, options, points.data(), cases.size(), result);

  int wrong = 0;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Expected& c = cases[i];
    const double lambda_min = result.eigenvalues[2 * i], lambda_max = result.eigenvalues[2 * i + 1];
    const auto close = [](double a, double b) { return std::abs(a - b) <= 1e-4 * std::max(1.0, std::abs(b)); };
    const bool ok = result.points[i].point_class == c.point_class && close(lambda_min, c.lambda_min) &&
                    close(lambda_max, c.lambda_max);
    std::printf("%s  %s at (%g, %g): %s, eigenvalues %.8g %.8g (expected %s, %.8g %.8g)\n", ok ? "ok   " : "WRONG",
                source.c_str(), c.x, c.y, hessa::class_name(result.points[i].point_class), lambda_min, lambda_max,
                hessa::class_name(c.point_class), c.lambda_min, c.lambda_max);
    wrong += ok ? 0 : 1;
  }
  return wrong;
}

}  // namespace

int main() {
  using hessa::PointClass;
  const auto backend = hessa::make_cpu_backend();
  std::printf("backend: %s; CUDA backend compiled: %s\n", backend->name().c_str(),
              hessa::cuda_backend_compiled() ? "yes" : "no");
  // x^2 - y^2: H = diag(2, -2) everywhere; (0, 0) is its one critical point.
  int wrong =
      check(*backend, "x^2 - y^2", {{0, 0, PointClass::Saddle, -2, 2}, {1, 0.5, PointClass::Noncritical, -2, 2}});
  // Himmelblau's minimum (3, 2): both residuals vanish, so H = 2 (J^T J) = [[74, 20], [20, 34]], eigenvalues
  // 54 -+ 20 sqrt(2).
  wrong += check(*backend, "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
                 {{3, 2, PointClass::Minimum, 54 - 20 * std::sqrt(2.0), 54 + 20 * std::sqrt(2.0)}});
  if (wrong != 0) std::printf("%d wrong answers\n", wrong);
  return wrong == 0 ? 0 : 1;
}
