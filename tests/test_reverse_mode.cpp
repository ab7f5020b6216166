// Reverse mode: the tape (host/expression/trace.cpp, detail/tape.hpp) and the stencils built on it, against the
// catalogue's analytic derivatives, hyper-dual numbers and the interpreter, on every backend (the CPU runs the same
// HESSA_HD sweeps the CUDA kernels run).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backend_fixture.hpp"
#include "cli_support.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/tangent.hpp"
#include "hessa/detail/tape.hpp"
#include "hessa/errors.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

struct Plain {
  const double* x;
  double operator()(int k) const { return x[k]; }
};

// f and the adjoint gradient at x by the double sweeps.
// The exact stencil's results at `points` and the hyper-dual stencil's (the reference), g and H kept: both exact
// up to rounding.
struct ExactAndHyperDual {
  ChunkResult exact, reference;
};
ExactAndHyperDual exact_and_hyperdual(Backend& backend, const CompiledFunction& f,
                                      const std::vector<std::vector<double>>& points) {
  AnalysisOptions options;
  options.keep_hessian = options.keep_gradient = true;
  options.stencil = StencilKind::HyperDual;
  ExactAndHyperDual r;
  r.reference = test::analyze_points(backend, f, points, options);
  options.stencil = StencilKind::Exact;
  r.exact = test::analyze_points(backend, f, points, options);
  return r;
}

double tape_gradient(const CompiledFunction& f, const std::vector<double>& x, std::vector<double>& g) {
  const detail::TapeView tape = f.tape_view();
  std::vector<double> v(std::size_t(tape.size)), adj(std::size_t(tape.size));
  g.assign(x.size(), 0.0);
  const double value = detail::tape_forward<double>(tape, Plain{x.data()}, v.data(), 1);
  detail::tape_reverse<double>(tape, v.data(), adj.data(), 1, [&](int k, double gk) { g[std::size_t(k)] = gk; });
  return value;
}

std::vector<int> dimensions_of(const CatalogueEntry& e) {
  return e.dimension > 0 ? std::vector<int>{e.dimension} : std::vector<int>{2, 5};
}

TEST(Tape, ForwardSweepGivesTheInterpretersValueBitForBit) {
  // The tracer folds constants with the interpreter's own arithmetic and keeps every operation in order.
  int checked = 0;
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e)) {
      if (!e.accepts_dimension(n)) continue;
      const CompiledFunction f = test::compile_entry(e, n);
      ASSERT_TRUE(f.has_tape()) << e.name << ": " << f.why_no_tape();
      for (const std::vector<double>& x : e.sample_points(n)) {
        std::vector<double> g;
        const double value = tape_gradient(f, x, g);
        EXPECT_EQ(value, f(x.data())) << e.name << " n=" << n;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 20);
}

TEST(Tape, AdjointGradientsMatchTheCataloguesAnalyticGradientsTo1e13) {
  // Reverse mode is exact up to the rounding of its own arithmetic (a few ulps of the largest partial); the
  // analytic formulas round too. 1e-13 of max(1, max |g|) leaves ~100 ulps of room.
  double worst = 0.0;
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e)) {
      if (!e.accepts_dimension(n)) continue;
      const CompiledFunction f = test::compile_entry(e, n);
      for (const std::vector<double>& x : e.sample_points(n)) {
        std::vector<double> g;
        std::vector<double> analytic(static_cast<std::size_t>(n));
        tape_gradient(f, x, g);
        e.gradient(x.data(), n, analytic.data());
        const double err = test::scaled_max_error(g.data(), analytic.data(), g.size());
        worst = std::max(worst, err);
        EXPECT_LE(err, 1e-13) << e.name << " n=" << n;
      }
    }
  }
  RecordProperty("worst_relative_error", test::scientific(worst));
}

TEST(Tape, TraceUnrollsLoopsFoldsConstantsAndDropsWhatFDoesNotUse) {
  // sum over 4 terms of x[i]^2 (4 inputs, 4 PowI, 4 Add, the identity 0): the unused binding and 2*3 leave nothing.
  const CompiledFunction f = test::compile("unused = sin(x[0]); k = 2 * 3; sum(i, 0, n - 1, x[i]^2) * k", 4);
  int inputs = 0, constants = 0, others = 0;
  for (const detail::TapeNode& node : f.tape()) {
    if (node.op == detail::Op::LoadX)
      ++inputs;
    else if (node.op == detail::Op::Const)
      ++constants;
    else
      ++others;
    EXPECT_NE(node.op, detail::Op::Sin) << "the unused binding was kept";
  }
  EXPECT_EQ(inputs, 4);
  EXPECT_EQ(constants, 2);  // the sum's identity 0 and the folded 6
  EXPECT_EQ(others, 4 + 4 + 1);
  std::vector<double> g;
  const std::vector<double> x = {1.0, -2.0, 0.5, 3.0};
  EXPECT_EQ(tape_gradient(f, x, g), 6.0 * (1.0 + 4.0 + 0.25 + 9.0));
  EXPECT_EQ(g, (std::vector<double>{12.0, -24.0, 6.0, 36.0}));  // 12 x_i, exact in binary
}

TEST(Tape, KinksTakeTheHyperDualBranchAndUnreadCoordinatesHaveZeroGradient) {
  // abs at 0 differentiates as +x; min/max at a tie take their first argument; x2 is never read.
  const CompiledFunction f = test::compile("abs(x0) + min(x0, x1) + 3 * max(x1, x0)", 3);
  std::vector<double> g;
  tape_gradient(f, {0.0, 0.0, 7.0}, g);
  EXPECT_EQ(g, (std::vector<double>{1.0 + 1.0, 3.0, 0.0}));
}

TEST(Tape, TooLongATraceHasNoTapeAndTheGradientStencilsSayWhy) {
  // 2^21 loop iterations unroll past kMaxTapeNodes (2^20); the value stencils still work.
  const CompiledFunction f = test::compile("sum(i, 1, 2097152, x0 * i)", 1);
  EXPECT_FALSE(f.has_tape());
  EXPECT_NE(f.why_no_tape().find("1048576"), std::string::npos) << f.why_no_tape();
  auto backend = make_cpu_backend();
  AnalysisOptions options;
  options.stencil = StencilKind::Exact;
  ChunkResult out;
  const std::vector<double> x = {0.5};
  try {
    backend->analyze(f, options, x.data(), 1, out);
    FAIL() << "expected InputError";
  } catch (const InputError& error) {
    EXPECT_NE(std::string(error.what()).find("exact stencil needs reverse-mode gradients"), std::string::npos)
        << error.what();
  }
}

TEST(Tangent, ReverseSweepOnTangentsGivesHessianColumns) {
  // f = x0^2 x1 + exp(x1): H = [[2 x1, 2 x0], [2 x0, exp(x1)]], exact to rounding.
  const CompiledFunction f = test::compile("x0^2 * x1 + exp(x1)", 2);
  const detail::TapeView tape = f.tape_view();
  std::vector<detail::Tangent<2>> v(std::size_t(tape.size)), adj(std::size_t(tape.size));
  const double x[2] = {0.7, -0.3};
  const auto seeded = [&](int k) {
    detail::Tangent<2> t(x[k]);
    t.d[k] = 1.0;
    return t;
  };
  detail::tape_forward<detail::Tangent<2>>(tape, seeded, v.data(), 1);
  double H[2][2] = {};
  detail::tape_reverse<detail::Tangent<2>>(tape, v.data(), adj.data(), 1, [&](int k, const detail::Tangent<2>& g) {
    H[k][0] = g.d[0];
    H[k][1] = g.d[1];
  });
  EXPECT_DOUBLE_EQ(H[0][0], 2 * x[1]);
  EXPECT_DOUBLE_EQ(H[0][1], 2 * x[0]);
  EXPECT_DOUBLE_EQ(H[1][0], 2 * x[0]);
  EXPECT_DOUBLE_EQ(H[1][1], std::exp(x[1]));
}

TEST(HessianColoring, ChainsNeedThreeColorsAndDenseHessiansNone) {
  // rosenbrock couples x_i with x_{i+1} only: a tridiagonal pattern, 3 colors at any n; a square of a sum couples
  // everything (no coloring); sin(x_i) x_j pairs are a product's cross terms plus sin's own diagonal.
  const CompiledFunction chain = test::compile_entry(*find_catalogue_entry("rosenbrock"), 64);
  const std::optional<cpu::HessianColoring> c = cpu::color_hessian(chain.tape_view(), 64);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->colors, 3);
  for (int i = 0; i < 64; ++i) {
    const std::vector<int>& row = c->row_columns[std::size_t(i)];
    EXPECT_EQ(row.size(), std::size_t(i == 0 || i == 63 ? 2 : 3)) << "row " << i;
    for (int j : row) EXPECT_LE(std::abs(i - j), 1);
  }
  EXPECT_FALSE(cpu::color_hessian(test::compile("sum(i, 0, n - 1, x[i])^2", 16).tape_view(), 16).has_value());
  const CompiledFunction pairs = test::compile("sin(x0) * x1 + sin(x2) * x3 + x4 + x5 + x6 + x7", 8);
  const std::optional<cpu::HessianColoring> p = cpu::color_hessian(pairs.tape_view(), 8);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->row_columns[0], (std::vector<int>{0, 1}));  // sin'' on x0, the product with x1
  EXPECT_EQ(p->row_columns[1], (std::vector<int>{0}));     // linear in x1
  EXPECT_TRUE(p->row_columns[4].empty());
}

TEST(HessianColoring, ColoredExactSweepsEqualHyperDualOnSparseFunctions) {
  // Colored sweeps (one tangent per color) against hyper-dual numbers (one evaluation per pair), both exact to
  // rounding: 1e-14 of the matrix scale. n = 40 and 64 color; the cyclic term adds a far corner entry.
  auto backend = make_cpu_backend();
  for (const char* text : {"sum(i, 0, n - 2, 100 * (x[i+1] - x[i]^2)^2 + (1 - x[i])^2)",
                           "sum(i, 0, n - 2, exp(x[i] * x[i+1]) / (2 + cos(x[i]))) + x0 * x[n-1]"}) {
    for (int n : {40, 64}) {
      const CompiledFunction f = test::compile(text, n);
      ASSERT_TRUE(cpu::color_hessian(f.tape_view(), n).has_value()) << text;
      std::vector<std::vector<double>> points(3, std::vector<double>(std::size_t(n)));
      for (std::size_t p = 0; p < points.size(); ++p)
        for (int k = 0; k < n; ++k) points[p][std::size_t(k)] = 0.3 * std::sin(1.7 * double(k) + double(p));
      const auto [exact, reference] = exact_and_hyperdual(*backend, f, points);
      EXPECT_LE(test::scaled_max_error(exact.hessian.data(), reference.hessian.data(), reference.hessian.size()), 1e-14)
          << text << " n=" << n;
      EXPECT_LE(test::scaled_max_error(exact.gradient.data(), reference.gradient.data(), reference.gradient.size()),
                1e-14)
          << text << " n=" << n;
    }
  }
}

class ReverseModeOnBackend : public test::OnBackend {};

// Every catalogue function at n = 2 and 5 (or its fixed n), all sample points: g and H of `stencil` against the
// analytic values, relative to max(1, max |entry|).
double worst_catalogue_error(Backend& backend, StencilKind stencil, bool hessian) {
  double worst = 0.0;
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e)) {
      if (!e.accepts_dimension(n)) continue;
      const CompiledFunction f = test::compile_entry(e, n);
      AnalysisOptions options;
      options.stencil = stencil;
      options.step_scale = default_step_scale(stencil);
      options.keep_gradient = options.keep_hessian = true;
      const auto points = e.sample_points(n);
      const ChunkResult r = test::analyze_points(backend, f, points, options);
      for (std::size_t p = 0; p < points.size(); ++p) {
        std::vector<double> g(static_cast<std::size_t>(n));
        std::vector<double> H(static_cast<std::size_t>(n) * n);
        e.gradient(points[p].data(), n, g.data());
        e.hessian(points[p].data(), n, H.data());
        const double err = hessian ? test::scaled_max_error(&r.hessian[p * n * n], H.data(), H.size())
                                   : test::scaled_max_error(&r.gradient[p * n], g.data(), g.size());
        if (!(err <= worst)) {
          worst = err;
          if (err > 1e-13) std::cerr << e.name << " n=" << n << " sample " << p << ": " << err << '\n';
        }
      }
    }
  }
  return worst;
}

TEST_P(ReverseModeOnBackend, ExactStencilMatchesAnalyticHessiansTo1e13) {
  // Forward-over-reverse is exact to rounding: 1e-13 relative, as the adjoint gradients.
  const double worst = worst_catalogue_error(*backend_, StencilKind::Exact, true);
  RecordProperty("worst_hessian_error", test::scientific(worst));  // the README's accuracy table
  EXPECT_LE(worst, 1e-13);
  EXPECT_LE(worst_catalogue_error(*backend_, StencilKind::Exact, false), 1e-13);
}

TEST_P(ReverseModeOnBackend, GradientStencilMatchesAnalyticHessiansTo1e8AndItsGradientTo1e13) {
  // A central difference of exact gradients at h = 2^-17 max(|x|,1): truncation ~h^2 g''' / 6 ~ 1e-11 g''' and
  // rounding ~eps |g| / h ~ 3e-11 |g|; the steep catalogue terms (rastrigin's 40 pi^2, rosenbrock's 100) stay
  // well under 1e-8 of the matrix scale. g itself is the sweep at x: exact to rounding.
  const double worst = worst_catalogue_error(*backend_, StencilKind::Gradient, true);
  RecordProperty("worst_hessian_error", test::scientific(worst));  // the README's accuracy table
  EXPECT_LE(worst, 1e-8);
  EXPECT_LE(worst_catalogue_error(*backend_, StencilKind::Gradient, false), 1e-13);
}

// Backend::hessian_vector_products on every catalogue function at n = 2 and 5: H d for 5 directions per point
// (each point its own: stride r n; and one shared set: stride 0) against the analytic H times d, and g against the
// analytic gradient, relative to max(1, max |entry|) of H d (of g): forward-over-reverse is exact to rounding, so
// 1e-13 as for the exact stencil; on the CPU f is the double sweep's value bit for bit (tangents do not touch
// values). On CUDA: the kernels of tape_stencil.cu.
TEST_P(ReverseModeOnBackend, HessianVectorProductsMatchAnalyticHessianTimesDirectionTo1e13) {
  constexpr int r = 5;
  double worst = 0.0;
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : dimensions_of(e)) {
      if (!e.accepts_dimension(n)) continue;
      const CompiledFunction f = test::compile_entry(e, n);
      Objective objective;
      objective.expression = &f;
      const auto samples = e.sample_points(n);
      const std::size_t count = samples.size();
      const auto un = static_cast<std::size_t>(n);
      std::vector<double> points, directions;
      for (const auto& x : samples) points.insert(points.end(), x.begin(), x.end());
      for (std::size_t i = 0; i < count * r * un; ++i) directions.push_back(std::sin(1.0 + 0.7 * double(i)));
      for (const std::size_t stride : {std::size_t(r) * un, std::size_t(0)}) {
        std::vector<double> fx(count), g(count * un), hv(count * r * un);
        backend_->hessian_vector_products(objective, points.data(), count, directions.data(), stride, r, fx.data(),
                                          g.data(), hv.data());
        for (std::size_t p = 0; p < count; ++p) {
          std::vector<double> g_ref(un), H(un * un), hv_ref(r * un, 0.0);
          e.gradient(samples[p].data(), n, g_ref.data());
          e.hessian(samples[p].data(), n, H.data());
          const double* d = directions.data() + p * stride;
          for (int k = 0; k < r; ++k)
            for (std::size_t c = 0; c < un; ++c)
              for (std::size_t row = 0; row < un; ++row)
                hv_ref[std::size_t(k) * un + row] += H[c * un + row] * d[std::size_t(k) * un + c];
          worst = std::max(worst, test::scaled_max_error(&hv[p * r * un], hv_ref.data(), hv_ref.size()));
          worst = std::max(worst, test::scaled_max_error(&g[p * un], g_ref.data(), un));
          std::vector<double> unused(un);
          const double value = tape_gradient(f, samples[p], unused);
          if (GetParam() == "cpu") {
            EXPECT_EQ(fx[p], value) << e.name << ": f is the tape's value, bit for bit";
          } else {  // nvcc contracts multiply-adds where g++ does not: rounding, not bits
            EXPECT_LE(std::fabs(fx[p] - value), 1e-13 * std::max(1.0, std::fabs(value))) << e.name;
          }
        }
      }
    }
  }
  EXPECT_LE(worst, 1e-13);
}

TEST_P(ReverseModeOnBackend, ExactAgreesWithHyperDualAndItsErrorEstimateIsRoundingSized) {
  const CatalogueEntry* e = find_catalogue_entry("rosenbrock");
  ASSERT_NE(e, nullptr);
  const int n = 6;
  const CompiledFunction f = test::compile_entry(*e, n);
  const auto points = e->sample_points(n);
  const auto [exact, reference] = exact_and_hyperdual(*backend_, f, points);
  for (std::size_t p = 0; p < points.size(); ++p) {
    // Both exact to rounding: 1e-14 of the matrix scale.
    EXPECT_LE(test::scaled_max_error(&exact.hessian[p * n * n], &reference.hessian[p * n * n], std::size_t(n) * n),
              1e-14);
    EXPECT_EQ(exact.points[p].f, reference.points[p].f);  // the value is the same double arithmetic
    EXPECT_LT(exact.points[p].hess_err, 1e-12 * std::max(1.0, std::fabs(exact.points[p].lambda_max)));
  }
}

// n <= 4 (dense H) sweeps 8 points at once on the CPU (tape_stencil.cpp's exact_pack): at n = 1 .. 4, 13 points
// (a partial last pack), at n = 3 a function that never reads x2 (its g entry, row and column stay 0):
// against hyper-duals to 1e-14 of the matrix scale (both exact to rounding), f the same double arithmetic, and
// each point's g and H bit for bit those of the point analyzed alone (a pack's lanes do not mix).
TEST_P(ReverseModeOnBackend, ExactStencilOfSmallNMatchesHyperDualsAndEachPointAlone) {
  for (int n = 1; n <= 4; ++n) {
    // n = 3 never reads x2; n = 4 is dense (a sparser H would take the colored sweeps instead).
    const std::string text = n == 1   ? "x0^3 + sin(x0)"
                             : n == 4 ? "x0^2 * sin(x1) + exp(0.1 * x0 * x1 * x2 * x3) + x2 * x3^2"
                                      : "x0^2 * sin(x1) + exp(0.3 * x0 * x1) + cosh(x1)";
    const CompiledFunction f = test::compile(text, n);
    std::vector<std::vector<double>> points;
    for (int p = 0; p < 13; ++p) {
      std::vector<double> x(static_cast<std::size_t>(n));
      for (int k = 0; k < n; ++k) x[std::size_t(k)] = std::sin(1.0 + 0.37 * p + 1.3 * k);
      points.push_back(x);
    }
    const auto [exact, reference] = exact_and_hyperdual(*backend_, f, points);
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    for (std::size_t p = 0; p < points.size(); ++p) {
      EXPECT_LE(test::scaled_max_error(&exact.hessian[p * nn], &reference.hessian[p * nn], nn), 1e-14) << n;
      EXPECT_LE(test::scaled_max_error(&exact.gradient[p * n], &reference.gradient[p * n], std::size_t(n)), 1e-14);
      EXPECT_EQ(exact.points[p].f, reference.points[p].f) << n;
      const ChunkResult alone = exact_and_hyperdual(*backend_, f, {points[p]}).exact;
      for (std::size_t k = 0; k < nn; ++k) EXPECT_EQ(alone.hessian[k], exact.hessian[p * nn + k]) << n << " " << p;
      for (int k = 0; k < n; ++k) EXPECT_EQ(alone.gradient[std::size_t(k)], exact.gradient[p * n + std::size_t(k)]);
      if (n == 3) {  // x2 unread: its gradient entry, row and column are zeros
        EXPECT_EQ(exact.gradient[p * n + 2], 0.0);
        for (std::size_t j = 0; j < 3; ++j) {
          EXPECT_EQ(exact.hessian[p * nn + 2 * 3 + j], 0.0);
          EXPECT_EQ(exact.hessian[p * nn + j * 3 + 2], 0.0);
        }
      }
    }
  }
}

TEST_P(ReverseModeOnBackend, GradientStencilErrorEstimateCoversItsActualErrorOnPolynomials) {
  // hess_err (||E||_F: half the asymmetry |A_ij - A_ji| of each entry plus the rounding model) must bound the
  // actual max |H - H_true| where truncation is below rounding: these quartics have a constant g^(3), so the
  // truncation h^2 g^(3) / 6 is ~1e-11 g^(3). (Truncation on the diagonal, where there is no asymmetry, is not
  // modelled, as for the central stencil: rastrigin's 2 pi-periodic terms exceed the estimate ~5x.)
  for (const char* name : {"rosenbrock", "himmelblau"}) {
    const CatalogueEntry* e = find_catalogue_entry(name);
    ASSERT_NE(e, nullptr);
    const int n = e->dimension > 0 ? e->dimension : 4;
    const CompiledFunction f = test::compile_entry(*e, n);
    const auto points = e->sample_points(n);
    AnalysisOptions options;
    options.stencil = StencilKind::Gradient;
    options.step_scale = default_step_scale(options.stencil);
    options.keep_hessian = true;
    const ChunkResult r = test::analyze_points(*backend_, f, points, options);
    for (std::size_t p = 0; p < points.size(); ++p) {
      std::vector<double> H(static_cast<std::size_t>(n) * n);
      e->hessian(points[p].data(), n, H.data());
      double actual = 0.0;
      for (std::size_t k = 0; k < H.size(); ++k) actual = std::max(actual, std::fabs(r.hessian[p * n * n + k] - H[k]));
      EXPECT_LE(actual, r.points[p].hess_err) << name << " sample " << p;
      EXPECT_GT(r.points[p].hess_err, 0.0);
    }
  }
}

TEST_P(ReverseModeOnBackend, GradientAndExactStencilsClassifyKnownStationaryPoints) {
  int checked = 0;
  for (const CatalogueEntry& e : catalogue()) {
    const int n = e.dimension > 0 ? e.dimension : 2;
    if (!e.accepts_dimension(n)) continue;
    const auto stationary = e.stationary_points(n);
    if (stationary.empty()) continue;
    const CompiledFunction f = test::compile_entry(e, n);
    std::vector<std::vector<double>> points;
    for (const StationaryPoint& s : stationary) points.push_back(s.x);
    for (StencilKind stencil : {StencilKind::Gradient, StencilKind::Exact}) {
      AnalysisOptions options;
      options.stencil = stencil;
      options.step_scale = default_step_scale(stencil);
      const ChunkResult r = test::analyze_points(*backend_, f, points, options);
      for (std::size_t p = 0; p < points.size(); ++p) {
        EXPECT_EQ(r.points[p].point_class, stationary[p].type)
            << e.name << " point " << p << " " << stencil_name(stencil);
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10);
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, ReverseModeOnBackend);

class ReverseModeCli : public test::ScratchDirTest {};

// The rows of a CSV result as column name -> text.
std::vector<std::map<std::string, std::string>> read_csv_rows(const std::string& file) {
  std::ifstream in(file);
  std::string line;
  std::vector<std::string> header;
  std::vector<std::map<std::string, std::string>> rows;
  const auto split = [](const std::string& text) {
    std::vector<std::string> cells;
    std::stringstream ss(text);
    std::string cell;
    while (std::getline(ss, cell, ',')) cells.push_back(cell);
    return cells;
  };
  if (std::getline(in, line)) header = split(line);
  while (std::getline(in, line)) {
    const std::vector<std::string> cells = split(line);
    std::map<std::string, std::string> row;
    for (std::size_t c = 0; c < header.size() && c < cells.size(); ++c) row[header[c]] = cells[c];
    rows.push_back(row);
  }
  return rows;
}

// --stencil auto (the default) takes exact where the function has a tape and says so; a trace too long for a tape
// falls back to central with the reason.
TEST_F(ReverseModeCli, AutoStencilIsExactWithATapeAndCentralWithout) {
  const std::string points = write("p.csv", "x0,x1\n0.5,-0.25\n");
  test::CliRun r = test::run_hessa("analyze --function rosenbrock --points " + points + " --out " + path("a.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("exact stencil (auto)"), std::string::npos) << r.output;
  std::ifstream meta(path("a.csv.meta.json"));
  const auto m = nlohmann::json::parse(meta);
  EXPECT_EQ(m["stencil"]["kind"], "exact");
  EXPECT_NE(m["stencil"]["chosen_by"].get<std::string>().find("auto: exact"), std::string::npos);

  r = test::run_hessa("analyze --function \"sum(i, 1, 2097152, x0 * i) + x1^2\" --points " + points + " --out " +
                      path("b.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("central stencil (auto)"), std::string::npos) << r.output;
  r = test::run_hessa("analyze --function \"sum(i, 1, 2097152, x0 * i) + x1^2\" --points " + points + " --out " +
                      path("c.csv") + " --stencil exact");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("exact stencil needs reverse-mode gradients"), std::string::npos) << r.output;
}

// --direction d: curv_d = d'Hd / d'd and taylor_d = f + g'd + d'Hd / 2 from the very H and g the row reports
// (the same doubles: 1e-12 relative covers the order of summation); inline and file directions alike.
TEST_F(ReverseModeCli, DirectionColumnsAreTheQuadraticFormOfTheReportedHessian) {
  const std::string points = write("p.csv", "x0,x1,x2\n0.5,-0.25,1.5\n-1,2,0.3\n");
  const std::string dirs = write("d.csv", "0,1,1\n");
  const test::CliRun r =
      test::run_hessa("analyze --function rosenbrock --points " + points + " --out " + path("d.csv.out.csv") +
                      " --gradient --hessian --direction 1,-2,0.5 --direction " + dirs);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = read_csv_rows(path("d.csv.out.csv"));
  ASSERT_EQ(rows.size(), 2u);
  const std::vector<std::vector<double>> ds = {{1, -2, 0.5}, {0, 1, 1}};
  for (const auto& row : rows) {
    double H[3][3], g[3];
    for (int i = 0; i < 3; ++i) {
      g[i] = std::stod(row.at("g_" + std::to_string(i)));
      for (int j = 0; j < 3; ++j) H[i][j] = std::stod(row.at("H_" + std::to_string(i) + "_" + std::to_string(j)));
    }
    const double f = std::stod(row.at("f"));
    for (int k = 0; k < 2; ++k) {
      const auto& d = ds[std::size_t(k)];
      double dHd = 0, gd = 0, dd = 0;
      for (int i = 0; i < 3; ++i) {
        gd += g[i] * d[std::size_t(i)];
        dd += d[std::size_t(i)] * d[std::size_t(i)];
        for (int j = 0; j < 3; ++j) dHd += d[std::size_t(i)] * H[i][j] * d[std::size_t(j)];
      }
      const double curv = std::stod(row.at("curv_d" + std::to_string(k)));
      const double taylor = std::stod(row.at("taylor_d" + std::to_string(k)));
      EXPECT_NEAR(curv, dHd / dd, 1e-12 * std::fabs(dHd / dd));
      EXPECT_NEAR(taylor, f + gd + 0.5 * dHd, 1e-12 * std::max(1.0, std::fabs(f + gd + 0.5 * dHd)));
    }
  }
  const test::CliRun bad = test::run_hessa("analyze --function rosenbrock --points " + points + " --out " +
                                           path("e.csv") + " --direction 1,0");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("--direction 1,0: expected n = 3 numbers, found 2"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace hessa
