// Jacobians of f: R^m -> R^k on every backend and in every mode, the hyper-dual type they (and exact Hessians)
// rest on, and `hessa jacobian` end to end.
//
// Tolerances, for the polar map (r cos t, r sin t) at |r| <= 3, |t| <= 4 (h_j = s max(|x_j|, 1)):
//   central, s = eps^(1/3) = 6.1e-6: truncation h^2 |f'''| / 6 <= (2.4e-5)^2 * 3 / 6 = 3e-10 and rounding
//     ~eps |f| / h ~ 2.2e-16 * 3 / 6.1e-6 = 1.1e-10 per entry: assert 1e-9 of max(|J|, 1); measured 9.8e-11.
//   richardson, s = eps^(1/5) = 7.4e-4: truncation ~h^4 |f^(5)| / 120 ~ 1e-13 and rounding ~eps |f| / h ~ 1e-12
//     (x3 from the combination): assert 5e-12; measured 2.0e-13.
//   dual: exact up to the rounding of a few operations: assert 1e-14 (measured 0: every entry to the last bit).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "backend_fixture.hpp"
#include "cli_support.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/jacobian.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

using detail::HyperDual;

// |a - b| / max(|b|, 1).
double scaled_error(double a, double b) { return std::fabs(a - b) / std::fmax(std::fabs(b), 1.0); }

// --- HyperDual itself ----------------------------------------------------------------------------------------

// Value, first and second derivative: x = a + 1 e1 + 1 e2 gives g(a) + g'(a) e1 + g'(a) e2 + g''(a) e1e2.
struct Elementary {
  const char* name;
  std::function<HyperDual(const HyperDual&)> g;
  std::function<double(double)> value, first, second;
  std::vector<double> points;
};

std::vector<Elementary> elementary_functions() {
  using std::cos, std::sin, std::tan, std::cosh, std::sinh, std::tanh, std::exp, std::log, std::sqrt, std::cbrt;
  using std::pow;
  const std::vector<double> reals = {-2.5, -0.7, 0.3, 1.0, 3.2};
  const std::vector<double> unit = {-0.9, -0.3, 0.2, 0.75};
  const std::vector<double> positive = {0.05, 0.5, 1.0, 7.5};
  return {
      {"sin", [](const HyperDual& x) { return detail::s_sin(x); }, [](double a) { return sin(a); },
       [](double a) { return cos(a); }, [](double a) { return -sin(a); }, reals},
      {"cos", [](const HyperDual& x) { return detail::s_cos(x); }, [](double a) { return cos(a); },
       [](double a) { return -sin(a); }, [](double a) { return -cos(a); }, reals},
      {"tan",
       [](const HyperDual& x) { return detail::s_tan(x); },
       [](double a) { return tan(a); },
       [](double a) { return 1 / (cos(a) * cos(a)); },
       [](double a) { return 2 * sin(a) / pow(cos(a), 3); },
       {-1.2, -0.3, 0.4, 1.1}},
      {"asin", [](const HyperDual& x) { return detail::s_asin(x); }, [](double a) { return std::asin(a); },
       [](double a) { return 1 / sqrt(1 - a * a); }, [](double a) { return a / pow(1 - a * a, 1.5); }, unit},
      {"acos", [](const HyperDual& x) { return detail::s_acos(x); }, [](double a) { return std::acos(a); },
       [](double a) { return -1 / sqrt(1 - a * a); }, [](double a) { return -a / pow(1 - a * a, 1.5); }, unit},
      {"atan", [](const HyperDual& x) { return detail::s_atan(x); }, [](double a) { return std::atan(a); },
       [](double a) { return 1 / (1 + a * a); }, [](double a) { return -2 * a / ((1 + a * a) * (1 + a * a)); }, reals},
      {"sinh", [](const HyperDual& x) { return detail::s_sinh(x); }, [](double a) { return sinh(a); },
       [](double a) { return cosh(a); }, [](double a) { return sinh(a); }, reals},
      {"cosh", [](const HyperDual& x) { return detail::s_cosh(x); }, [](double a) { return cosh(a); },
       [](double a) { return sinh(a); }, [](double a) { return cosh(a); }, reals},
      {"tanh", [](const HyperDual& x) { return detail::s_tanh(x); }, [](double a) { return tanh(a); },
       [](double a) { return 1 / (cosh(a) * cosh(a)); }, [](double a) { return -2 * sinh(a) / pow(cosh(a), 3); },
       reals},
      {"exp", [](const HyperDual& x) { return detail::s_exp(x); }, [](double a) { return exp(a); },
       [](double a) { return exp(a); }, [](double a) { return exp(a); }, reals},
      {"expm1", [](const HyperDual& x) { return detail::s_expm1(x); }, [](double a) { return std::expm1(a); },
       [](double a) { return exp(a); }, [](double a) { return exp(a); }, reals},
      {"log", [](const HyperDual& x) { return detail::s_log(x); }, [](double a) { return log(a); },
       [](double a) { return 1 / a; }, [](double a) { return -1 / (a * a); }, positive},
      {"log1p",
       [](const HyperDual& x) { return detail::s_log1p(x); },
       [](double a) { return std::log1p(a); },
       [](double a) { return 1 / (1 + a); },
       [](double a) { return -1 / ((1 + a) * (1 + a)); },
       {-0.5, 0.0, 0.3, 4.0}},
      {"sqrt", [](const HyperDual& x) { return detail::s_sqrt(x); }, [](double a) { return sqrt(a); },
       [](double a) { return 0.5 / sqrt(a); }, [](double a) { return -0.25 / pow(a, 1.5); }, positive},
      {"cbrt",
       [](const HyperDual& x) { return detail::s_cbrt(x); },
       [](double a) { return cbrt(a); },
       [](double a) { return 1 / (3 * cbrt(a) * cbrt(a)); },
       [](double a) { return -2 / (9 * pow(cbrt(a), 5)); },
       {-8.0, -0.4, 0.4, 27.0}},
      {"abs", [](const HyperDual& x) { return detail::s_abs(x); }, [](double a) { return std::fabs(a); },
       [](double a) { return a >= 0 ? 1.0 : -1.0; }, [](double) { return 0.0; }, reals},
      {"x^2.5", [](const HyperDual& x) { return detail::s_pow(x, HyperDual(2.5)); },
       [](double a) { return pow(a, 2.5); }, [](double a) { return 2.5 * pow(a, 1.5); },
       [](double a) { return 3.75 * pow(a, 0.5); }, positive},
      {"x^-3 (pow)",
       [](const HyperDual& x) { return detail::s_pow(x, HyperDual(-3.0)); },
       [](double a) { return pow(a, -3); },
       [](double a) { return -3 * pow(a, -4); },
       [](double a) { return 12 * pow(a, -5); },
       {-2.0, -0.5, 0.5, 3.0}},
      {"1/x",
       [](const HyperDual& x) { return HyperDual(1.0) / x; },
       [](double a) { return 1 / a; },
       [](double a) { return -1 / (a * a); },
       [](double a) { return 2 / (a * a * a); },
       {-3.0, -0.2, 0.7, 5.0}},
      {"x*x*x", [](const HyperDual& x) { return x * x * x; }, [](double a) { return a * a * a; },
       [](double a) { return 3 * a * a; }, [](double a) { return 6 * a; }, reals},
  };
}

// Library and formula round differently (e.g. tan' as 1 + tan^2 against 1 / cos^2): a few ulps, 4e-15.
constexpr double kHyperDualTolerance = 4e-15;

TEST(HyperDual, ElementaryFunctionsGiveValueFirstAndSecondDerivative) {
  for (const Elementary& g : elementary_functions()) {
    for (double a : g.points) {
      const HyperDual r = g.g(HyperDual(a, 1.0, 1.0, 0.0));
      EXPECT_LE(scaled_error(r.a, g.value(a)), kHyperDualTolerance) << g.name << " value at " << a;
      EXPECT_LE(scaled_error(r.b, g.first(a)), kHyperDualTolerance) << g.name << " e1 part at " << a;
      EXPECT_LE(scaled_error(r.c, g.first(a)), kHyperDualTolerance) << g.name << " e2 part at " << a;
      EXPECT_LE(scaled_error(r.d, g.second(a)), kHyperDualTolerance) << g.name << " e1e2 part at " << a;
    }
  }
}

// Two-argument functions: x seeded e1 and y seeded e2 give the mixed partial in e1e2; seeding one argument with
// both gives its pure second partial.
struct Binary {
  const char* name;
  std::function<HyperDual(const HyperDual&, const HyperDual&)> g;
  // value, d/dx, d/dy, d2/dx2, d2/dxdy, d2/dy2
  std::function<std::array<double, 6>(double, double)> exact;
  std::vector<std::pair<double, double>> points;
};

TEST(HyperDual, BinaryFunctionsGiveAllFirstAndSecondPartials) {
  const std::vector<std::pair<double, double>> points = {{1.5, 0.5}, {-0.7, 2.0}, {3.0, -1.25}, {-2.0, -0.3}};
  const std::vector<Binary> cases = {
      {"x*y", [](const HyperDual& x, const HyperDual& y) { return x * y; },
       [](double x, double y) { return std::array<double, 6>{x * y, y, x, 0, 1, 0}; }, points},
      {"x/y", [](const HyperDual& x, const HyperDual& y) { return x / y; },
       [](double x, double y) {
         return std::array<double, 6>{x / y, 1 / y, -x / (y * y), 0, -1 / (y * y), 2 * x / (y * y * y)};
       },
       points},
      {"atan2(x, y)", [](const HyperDual& x, const HyperDual& y) { return detail::s_atan2(x, y); },
       [](double x, double y) {
         const double r2 = x * x + y * y, r4 = r2 * r2;
         return std::array<double, 6>{std::atan2(x, y),     y / r2,        -x / r2, -2 * x * y / r4,
                                      (x * x - y * y) / r4, 2 * x * y / r4};
       },
       points},
      {"hypot", [](const HyperDual& x, const HyperDual& y) { return detail::s_hypot(x, y); },
       [](double x, double y) {
         const double r = std::hypot(x, y), r3 = r * r * r;
         return std::array<double, 6>{r, x / r, y / r, y * y / r3, -x * y / r3, x * x / r3};
       },
       points},
      {"pow(x, y)",
       [](const HyperDual& x, const HyperDual& y) { return detail::s_pow(x, y); },
       [](double x, double y) {
         const double v = std::pow(x, y), l = std::log(x);
         return std::array<double, 6>{v, y * v / x, v * l, y * (y - 1) * v / (x * x), v / x * (1 + y * l), v * l * l};
       },
       {{1.5, 0.5}, {0.7, 2.0}, {3.0, -1.25}, {2.0, -0.3}, {10.0, 20.0}}},  // exp(y log x) lost 8e-15 at (10, 20)
      {"min", [](const HyperDual& x, const HyperDual& y) { return detail::s_min(x, y); },
       [](double x, double y) {
         return x <= y ? std::array<double, 6>{x, 1, 0, 0, 0, 0} : std::array<double, 6>{y, 0, 1, 0, 0, 0};
       },
       points},
      {"max", [](const HyperDual& x, const HyperDual& y) { return detail::s_max(x, y); },
       [](double x, double y) {
         return x >= y ? std::array<double, 6>{x, 1, 0, 0, 0, 0} : std::array<double, 6>{y, 0, 1, 0, 0, 0};
       },
       points},
  };
  for (const Binary& c : cases) {
    for (const auto& [x, y] : c.points) {
      const std::array<double, 6> e = c.exact(x, y);
      const HyperDual mixed = c.g(HyperDual(x, 1, 0, 0), HyperDual(y, 0, 1, 0));
      EXPECT_LE(scaled_error(mixed.a, e[0]), kHyperDualTolerance) << c.name << " at " << x << ", " << y;
      EXPECT_LE(scaled_error(mixed.b, e[1]), kHyperDualTolerance) << c.name << " d/dx at " << x << ", " << y;
      EXPECT_LE(scaled_error(mixed.c, e[2]), kHyperDualTolerance) << c.name << " d/dy at " << x << ", " << y;
      EXPECT_LE(scaled_error(mixed.d, e[4]), kHyperDualTolerance) << c.name << " d2/dxdy at " << x << ", " << y;
      const HyperDual xx = c.g(HyperDual(x, 1, 1, 0), HyperDual(y));
      EXPECT_LE(scaled_error(xx.d, e[3]), kHyperDualTolerance) << c.name << " d2/dx2 at " << x << ", " << y;
      const HyperDual yy = c.g(HyperDual(x), HyperDual(y, 1, 1, 0));
      EXPECT_LE(scaled_error(yy.d, e[5]), kHyperDualTolerance) << c.name << " d2/dy2 at " << x << ", " << y;
    }
  }
}

TEST(HyperDual, PowerRuleAtZeroHasTheDerivativesThatExist) {
  // x^1 at 0: derivatives 1 and 0 (this was 0 * pow(0, -1) = NaN); x^2: 0 and 2; x^3: 0 and 0.
  const HyperDual zero(0.0, 1.0, 1.0, 0.0);
  for (const auto& [p, first, second] : std::vector<std::array<double, 3>>{{1, 1, 0}, {2, 0, 2}, {3, 0, 0}}) {
    const HyperDual r = detail::s_pow(zero, HyperDual(p));
    EXPECT_EQ(r.a, 0.0) << "p=" << p;
    EXPECT_EQ(r.b, first) << "p=" << p;
    EXPECT_EQ(r.d, second) << "p=" << p;
  }
  EXPECT_EQ(detail::s_pow(zero, HyperDual(0.0)).a, 1.0);
}

TEST(HyperDual, InterpreterGivesExactSecondDerivativesOfAnExpression) {
  // f = x0^3 x1 + sum_{i=0}^{1} sin(x[i]) + exp(x0 / x1): every op kind the interpreter maps onto HyperDual.
  const CompiledFunction f = test::compile("x0^3*x1 + sum(i, 0, 1, sin(x[i])) + exp(x0/x1)", 2);
  const double x[2] = {0.7, 1.9};
  struct Seeded {
    const double* x;
    int i, j;
    HyperDual operator()(int k) const { return HyperDual(x[k], k == i ? 1.0 : 0.0, k == j ? 1.0 : 0.0, 0.0); }
  };
  const double u = x[0] / x[1], E = std::exp(u);
  const double f00 = 6 * x[0] * x[1] - std::sin(x[0]) + E / (x[1] * x[1]);
  const double f01 = 3 * x[0] * x[0] - E * (1 / (x[1] * x[1]) + x[0] / (x[1] * x[1] * x[1]));
  const double f0 = 3 * x[0] * x[0] * x[1] + std::cos(x[0]) + E / x[1];
  const HyperDual r00 = detail::evaluate<HyperDual>(f.view(), Seeded{x, 0, 0});
  const HyperDual r01 = detail::evaluate<HyperDual>(f.view(), Seeded{x, 0, 1});
  EXPECT_NEAR(r00.a, f(x), 1e-15 * std::fabs(f(x)));
  EXPECT_NEAR(r00.b, f0, 4e-15 * std::fabs(f0));
  EXPECT_NEAR(r00.d, f00, 4e-15 * std::fabs(f00));
  EXPECT_NEAR(r01.d, f01, 4e-15 * std::fabs(f01));
}

// --- layout --------------------------------------------------------------------------------------------------

TEST(JacobianLayout, EvaluationIndicesRoundTrip) {
  for (int m : {1, 2, 7}) {
    EXPECT_EQ(detail::jacobian_evals_per_output(JacobianMode::Central, m), 2 * m + 1);
    EXPECT_EQ(detail::jacobian_evals_per_output(JacobianMode::Richardson, m), 4 * m + 1);
    EXPECT_EQ(detail::jacobian_evals_per_output(JacobianMode::Dual, m), m);
    for (JacobianMode mode : {JacobianMode::Central, JacobianMode::Richardson}) {
      EXPECT_EQ(detail::jacobian_eval(mode, m, 0).coordinate, -1);
      for (int64_t e = 1; e < detail::jacobian_evals_per_output(mode, m); ++e) {
        const detail::JacobianEval ev = detail::jacobian_eval(mode, m, e);
        ASSERT_EQ(detail::jacobian_eval_index(m, ev.coordinate, ev.sign, ev.level), e) << "m=" << m << " e=" << e;
      }
    }
  }
}

TEST(JacobianLayout, RichardsonCombinationIsExactForQuadraticErrorAndUsesTheActualSteps) {
  // D(h) = 1 + 5 h^2 exactly: the combination recovers 1 whatever the ratio of the steps.
  double err = 0;
  EXPECT_DOUBLE_EQ(detail::richardson_combine(1 + 5 * 0.04, 0.2, 1 + 5 * 0.01, 0.1, &err), 1.0);
  EXPECT_NEAR(err, 5 * 0.01, 1e-15);  // the h2^2 term removed: |D2 - D1| / 3 for a ratio of 2
  EXPECT_NEAR(detail::richardson_combine(1 + 5 * 0.04, 0.2, 1 + 5 * 0.09, 0.3, &err), 1.0, 1e-15);
}

// --- backends ------------------------------------------------------------------------------------------------

class JacobianOnBackend : public test::OnBackend {
 protected:
  JacobianResult run(const std::vector<CompiledFunction>& f, JacobianMode mode, const std::vector<double>& points,
                     double step = 0) {
    JacobianResult r;
    const std::size_t m = std::size_t(f[0].dimension());
    backend_->jacobians(f, mode, step > 0 ? step : default_jacobian_step(mode), points.data(), points.size() / m, r);
    return r;
  }
};

const JacobianMode kModes[] = {JacobianMode::Central, JacobianMode::Richardson, JacobianMode::Dual};

double polar_tolerance(JacobianMode mode) {
  switch (mode) {
    case JacobianMode::Central: return 1e-9;
    case JacobianMode::Richardson: return 5e-12;
    case JacobianMode::Dual: break;
  }
  return 1e-14;
}

TEST_P(JacobianOnBackend, PolarToCartesianMatchesTheAnalyticMatrixInEveryMode) {
  const std::vector<std::string> vars = {"r", "t"};
  const std::vector<CompiledFunction> f = {test::compile("r*cos(t)", 2, vars), test::compile("r*sin(t)", 2, vars)};
  const std::vector<double> points = {1.0, 0.3, 2.0, 2.5, 0.5, -1.2, 3.0, 4.0, 0.25, -3.0, 1.5, 0.0};
  for (JacobianMode mode : kModes) {
    const JacobianResult res = run(f, mode, points);
    ASSERT_EQ(res.count, points.size() / 2);
    double worst = 0;
    double worst_estimate = 0;
    for (std::size_t p = 0; p < res.count; ++p) {
      const double r = points[2 * p], t = points[2 * p + 1];
      const double J[4] = {std::cos(t), -r * std::sin(t), std::sin(t), r * std::cos(t)};
      EXPECT_EQ(res.status[p], PointStatus::Ok);
      EXPECT_NEAR(res.f[2 * p], r * std::cos(t), 1e-15 * r);
      EXPECT_NEAR(res.f[2 * p + 1], r * std::sin(t), 1e-15 * r);
      const double e = test::scaled_max_error(&res.J[4 * p], J, 4);
      worst = std::max(worst, e);
      worst_estimate = std::max(worst_estimate, res.error[p]);
      EXPECT_LE(e, polar_tolerance(mode)) << jacobian_mode_name(mode) << " at r=" << r << " t=" << t;
      if (mode == JacobianMode::Richardson) {
        // The estimate (D(h/2)'s truncation error) bounds the extrapolated entries' error.
        double absolute = 0;
        for (int c = 0; c < 4; ++c) absolute = std::max(absolute, std::fabs(res.J[4 * p + std::size_t(c)] - J[c]));
        EXPECT_GE(res.error[p], absolute) << "r=" << r << " t=" << t;
        EXPECT_LE(res.error[p], 1e-6) << "r=" << r << " t=" << t;
      } else {
        EXPECT_EQ(res.error[p], 0.0);
      }
    }
    std::printf("[ measured ] polar map, %-10s on %s: max error %.2e of max(|J|, 1); largest jac_err %.2e\n",
                jacobian_mode_name(mode), GetParam().c_str(), worst, worst_estimate);
  }
}

// The Jacobian of rosenbrock's gradient (written out as n expressions) is rosenbrock's Hessian.
std::vector<std::string> rosenbrock_gradient(int n) {
  std::vector<std::string> g;
  for (int i = 0; i < n; ++i) {
    const std::string xi = "x[" + std::to_string(i) + "]";
    std::string text = "0";
    if (i < n - 1) {
      const std::string next = "x[" + std::to_string(i + 1) + "]";
      text += " - 400*" + xi + "*(" + next + " - " + xi + "^2) - 2*(1 - " + xi + ")";
    }
    if (i > 0) text += " + 200*(" + xi + " - x[" + std::to_string(i - 1) + "]^2)";
    g.push_back(text);
  }
  return g;
}

TEST_P(JacobianOnBackend, JacobianOfRosenbrocksGradientIsItsHessian) {
  const CatalogueEntry* rosenbrock = find_catalogue_entry("rosenbrock");
  ASSERT_NE(rosenbrock, nullptr);
  // Central: g is cubic; truncation h^2 * 2400 / 6 with h = 6e-6 max(|x|, 1) and rounding eps |g| / h, both
  // ~1e-10 of the Hessian's scale (~1e3). Richardson removes a cubic's h^2 term exactly: rounding only. Dual: exact.
  const double tolerance[] = {1e-9, 2e-12, 1e-14};  // measured 7e-11, 1.5e-13, 4e-16
  double worst[] = {0, 0, 0};
  for (int n = 2; n <= 5; ++n) {
    std::vector<CompiledFunction> g;
    for (const std::string& text : rosenbrock_gradient(n)) g.push_back(test::compile(text, n));
    const auto samples = rosenbrock->sample_points(n);
    const std::vector<double> points = test::flatten(samples);
    for (JacobianMode mode : kModes) {
      const JacobianResult res = run(g, mode, points);
      for (std::size_t p = 0; p < samples.size(); ++p) {
        std::vector<double> H(std::size_t(n * n)), grad(static_cast<std::size_t>(n));
        rosenbrock->hessian(samples[p].data(), n, H.data());  // column-major; J is row-major: compare transposed
        rosenbrock->gradient(samples[p].data(), n, grad.data());
        std::vector<double> Ht(H.size());
        for (int r = 0; r < n; ++r)
          for (int c = 0; c < n; ++c) Ht[std::size_t(r * n + c)] = H[std::size_t(c * n + r)];
        EXPECT_EQ(res.status[p], PointStatus::Ok);
        EXPECT_LE(test::scaled_max_error(&res.f[p * n], grad.data(), grad.size()), 1e-14) << "n=" << n;
        const double e = test::scaled_max_error(&res.J[p * n * n], Ht.data(), Ht.size());
        worst[int(mode)] = std::max(worst[int(mode)], e);
        EXPECT_LE(e, tolerance[int(mode)]) << jacobian_mode_name(mode) << " n=" << n << " sample " << p;
      }
    }
  }
  std::printf(
      "[ measured ] rosenbrock gradient's Jacobian vs Hessian on %s: central %.2e, richardson %.2e, dual %.2e "
      "of max(|H|, 1)\n",
      GetParam().c_str(), worst[0], worst[1], worst[2]);
}

TEST_P(JacobianOnBackend, NonfiniteEvaluationsFlagOnlyTheirPoint) {
  // log(x) at x = 0 is -Inf; at x = 1e-7 the FD steps (>= 6e-6) reach x < 0, so only the dual mode succeeds.
  const std::vector<CompiledFunction> f = {test::compile("log(x0)", 2), test::compile("x0*x1", 2)};
  const std::vector<double> points = {1.0, 2.0, 0.0, 1.0, 1e-7, 3.0, 4.0, -1.0};
  for (JacobianMode mode : kModes) {
    const JacobianResult res = run(f, mode, points);
    EXPECT_EQ(res.status[0], PointStatus::Ok) << jacobian_mode_name(mode);
    EXPECT_EQ(res.status[1], PointStatus::NonfiniteF) << jacobian_mode_name(mode);
    EXPECT_EQ(res.status[2], mode == JacobianMode::Dual ? PointStatus::Ok : PointStatus::NonfiniteF)
        << jacobian_mode_name(mode);
    EXPECT_EQ(res.status[3], PointStatus::Ok) << jacobian_mode_name(mode);
    EXPECT_NEAR(res.J[3 * 4 + 0], 0.25, 1e-9) << jacobian_mode_name(mode);  // d log(x0) / dx0 at x0 = 4
    EXPECT_NEAR(res.J[3 * 4 + 3], 4.0, 1e-9) << jacobian_mode_name(mode);   // d (x0 x1) / dx1
  }
}

TEST_P(JacobianOnBackend, EmptyChunkAndSingleOutputWork) {
  const std::vector<CompiledFunction> f = {test::compile("x0^2", 1)};
  JacobianResult res;
  backend_->jacobians(f, JacobianMode::Dual, 0.0, nullptr, 0, res);
  EXPECT_EQ(res.count, 0u);
  const JacobianResult one = run(f, JacobianMode::Dual, {3.0});
  EXPECT_EQ(one.J[0], 6.0);
  EXPECT_EQ(one.f[0], 9.0);
}

// The same inputs on the GPU give the CPU's numbers (the same HESSA_HD code; libm and CUDA's math may differ
// in the last bits).
TEST_P(JacobianOnBackend, AgreesWithTheCpuBackend) {
  if (GetParam() == "cpu") GTEST_SKIP() << "the reference itself";
  const std::vector<CompiledFunction> f = {test::compile("exp(x0)*sin(x1) + x2^3", 3),
                                           test::compile("atan2(x1, x0) * sqrt(x2)", 3)};
  const std::vector<double> points = {0.5, 1.0, 2.0, -1.0, 0.3, 0.7, 2.0, -2.0, 4.0};
  auto cpu = make_cpu_backend();
  for (JacobianMode mode : kModes) {
    JacobianResult a;
    cpu->jacobians(f, mode, default_jacobian_step(mode), points.data(), 3, a);
    const JacobianResult b = run(f, mode, points);
    EXPECT_LE(test::scaled_max_error(b.J.data(), a.J.data(), a.J.size()), 1e-9) << jacobian_mode_name(mode);
    EXPECT_LE(test::scaled_max_error(b.f.data(), a.f.data(), a.f.size()), 1e-14) << jacobian_mode_name(mode);
  }
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, JacobianOnBackend);

// --- the command -----------------------------------------------------------------------------------------------

namespace fs = std::filesystem;

using test::CliRun;
using test::run_hessa;

class JacobianCli : public test::ScratchDirTest {};

std::vector<std::string> split_csv(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  std::string cell;
  while (std::getline(in, cell, ',')) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

TEST_F(JacobianCli, PolarMapGivesTheDocumentedColumnsAndValues) {
  const std::string pts = write("pts.csv", "r,t\n2,0.5\n0,1\n");
  const CliRun r = run_hessa("jacobian --function \"r*cos(t)\" --function \"r*sin(t)\" --points " + pts + " --out " +
                             path("J.csv") + " --mode richardson --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("J.csv"));
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "r,t,f_0,f_1,J_0_0,J_0_1,J_1_0,J_1_1,jac_err,status");
  std::getline(in, row);
  const std::vector<std::string> cells = split_csv(row);
  ASSERT_EQ(cells.size(), 10u) << row;
  const double t = 0.5;
  const double expected[] = {
      2, t, 2 * std::cos(t), 2 * std::sin(t), std::cos(t), -2 * std::sin(t), std::sin(t), 2 * std::cos(t)};
  for (int c = 0; c < 8; ++c) EXPECT_NEAR(std::stod(cells[std::size_t(c)]), expected[c], 1e-10) << header;
  EXPECT_LT(std::stod(cells[8]), 1e-6);
  EXPECT_EQ(cells[9], "ok");
  EXPECT_TRUE(fs::exists(path("J.csv.meta.json")));
  std::ifstream meta(path("J.csv.meta.json"));
  const std::string meta_text((std::istreambuf_iterator<char>(meta)), std::istreambuf_iterator<char>());
  EXPECT_NE(meta_text.find("\"mode\": \"richardson\""), std::string::npos) << meta_text;
}

TEST_F(JacobianCli, DualModeJsonLinesMarksANonfinitePointAndGoesOn) {
  const std::string pts = write("pts.csv", "-1\n4\n");
  const CliRun r = run_hessa("jacobian -f \"sqrt(x0)\" -f \"x0^2\" -p " + pts + " -o " + path("J.jsonl") +
                             " --mode dual --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("J.jsonl"));
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  EXPECT_NE(first.find("\"status\":\"nonfinite_f\""), std::string::npos) << first;
  EXPECT_NE(first.find("\"f_0\":null"), std::string::npos) << first;
  EXPECT_NE(second.find("\"J_0_0\":0.25"), std::string::npos) << second;
  EXPECT_NE(second.find("\"J_1_0\":8.0"), std::string::npos) << second;
  EXPECT_NE(second.find("\"status\":\"ok\""), std::string::npos) << second;
}

struct BadJacobianInput {
  const char* name;
  const char* args;      // after --points and --out
  const char* expected;  // a fragment of the one error message
};

class JacobianCliBadInput : public JacobianCli, public ::testing::WithParamInterface<BadJacobianInput> {};

TEST_P(JacobianCliBadInput, OneClearMessageExitCode2AndNoOutputFile) {
  const BadJacobianInput& c = GetParam();
  const std::string pts = write("pts.csv", "r,t\n1,2\n");
  const CliRun r = run_hessa("jacobian --points " + pts + " --out " + path("out.csv") + " " + c.args);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find("out"), std::string::npos) << "left behind: " << entry.path();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, JacobianCliBadInput,
    ::testing::Values(BadJacobianInput{"unknown_variable", "-f \"r*cos(t)\" -f \"z\"", "unknown name 'z'"},
                      BadJacobianInput{"syntax_error_names_its_function", "-f r -f \"r +* t\"", "--function 2:1:4"},
                      BadJacobianInput{"bad_mode", "-f r --mode forward", "--mode"},
                      BadJacobianInput{"no_function", "", "--function"},
                      BadJacobianInput{"vars_count", "-f r --vars r,t,u", "--vars names 3 variables"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace hessa
