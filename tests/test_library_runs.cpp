// The engine as a library front end (Python) calls it: points read in place from memory, results kept in memory
// (the .npz layout's arrays), a caller's vectorized function (BatchFunction) instead of an expression, and jobs given
// as JSON. The Python module's own tests (tests/python/) run over these same parts; these run under the sanitizers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/analyze_file.hpp"
#include "engine/critical_run.hpp"
#include "engine/jacobian_run.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/jacobian.hpp"
#include "io_support.hpp"
#include "jobs/job_file.hpp"
#include "jobs/job_runner.hpp"

namespace {

namespace fs = std::filesystem;
using hessa::ResultArray;
using hessa::ResultArrays;

// f(x, y) = x^3 - 3 x y^2 + x^2 + y^2 cos x, and its gradient: as the expression below.
constexpr const char* kExpression = "x^3 - 3*x*y^2 + x^2 + y^2*cos(x)";

class Saddle final : public hessa::BatchFunction {
 public:
  explicit Saddle(bool with_gradient, std::size_t block = 64) : with_gradient_(with_gradient), block_(block) {}
  int dimension() const override { return 2; }
  bool has_gradient() const override { return with_gradient_; }
  std::size_t block_points() const override { return block_; }
  void values(const double* x, std::size_t m, double* out) const override {
    ++calls;
    largest_call = std::max(largest_call, m);
    for (std::size_t i = 0; i < m; ++i) out[i] = f(x[2 * i], x[2 * i + 1]);
  }
  void gradients(const double* x, std::size_t m, double* values, double* g) const override {
    ++calls;
    for (std::size_t i = 0; i < m; ++i) {
      const double a = x[2 * i], b = x[2 * i + 1];
      values[i] = f(a, b);
      g[2 * i] = 3 * a * a - 3 * b * b + 2 * a - b * b * std::sin(a);
      g[2 * i + 1] = -6 * a * b + 2 * b * std::cos(a);
    }
  }
  mutable std::size_t calls = 0, largest_call = 0;

 private:
  static double f(double a, double b) { return a * a * a - 3 * a * b * b + a * a + b * b * std::cos(a); }
  bool with_gradient_;
  std::size_t block_;
};

std::vector<double> grid_points(std::size_t count) {
  std::vector<double> p;
  for (std::size_t i = 0; i < count; ++i) {
    p.push_back(-1.5 + 3.0 * double(i % 17) / 16.0);
    p.push_back(-1.0 + 2.0 * double(i / 17 % 13) / 12.0);
  }
  return p;
}

const ResultArray& array(const ResultArrays& r, const std::string& name) {
  for (const ResultArray& a : r.arrays)
    if (a.name == name) return a;
  throw std::runtime_error("no array " + name);
}

std::vector<double> doubles(const ResultArray& a) {
  EXPECT_EQ(a.descr, "<f8");
  std::vector<double> v(a.bytes.size() / sizeof(double));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

// One in-memory analysis: the points read in place, the results into `out`.
hessa::AnalyzeFileOutcome analyze_in_memory(hessa::AnalyzeFileRequest request, const std::vector<double>& points,
                                            ResultArrays& out) {
  auto reader = hessa::open_point_array(points.data(), points.size() / 2, 2, "points");
  request.point_source = reader.get();
  request.points = "points";
  request.open_writer = [&out](const hessa::OutputLayout& layout) { return hessa::open_result_arrays(layout, &out); };
  request.backend = "cpu";
  return hessa::analyze_file(request, nullptr, nullptr);
}

TEST(LibraryRuns, PointsAreReadInPlaceAndANonFiniteOneIsNamed) {
  std::vector<double> points = {1, 2, 3, 4, 5, 6};
  auto reader = hessa::open_point_array(points.data(), 3, 2, "points");
  std::size_t count = 0;
  EXPECT_EQ(reader->read_in_place(2, &count), points.data());  // the caller's memory itself, no copy
  EXPECT_EQ(count, 2u);
  EXPECT_EQ(reader->read_in_place(2, &count), points.data() + 4);
  EXPECT_EQ(count, 1u);
  reader->read_in_place(2, &count);
  EXPECT_EQ(count, 0u);
  points[3] = std::nan("");
  auto bad = hessa::open_point_array(points.data(), 3, 2, "points");
  try {
    bad->read_in_place(8, &count);
    FAIL() << "a NaN coordinate was read";
  } catch (const hessa::InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("points:2:2: point 2, coordinate 2: coordinates must be finite", 0), 0u)
        << e.what();
  }
}

// The in-memory arrays hold what the chunks held, in the .npz layout: (B, n) points, C-order Hessians, '<U11' class.
TEST(LibraryRuns, ResultArraysHoldTheNpzLayout) {
  const std::vector<double> points = grid_points(300);
  hessa::AnalyzeFileRequest request;
  request.function = kExpression;
  request.vars = "x,y";
  request.hessian = true;
  request.chunk = 37;  // several chunks, appended
  request.stencil = hessa::StencilKind::Exact;
  ResultArrays out;
  const auto outcome = analyze_in_memory(request, points, out);
  EXPECT_EQ(outcome.summary.points, 300u);
  EXPECT_EQ(out.coordinate_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_NE(out.metadata_json.find("\"exact\""), std::string::npos);
  EXPECT_EQ(doubles(array(out, "points")), points);
  const ResultArray& hessian = array(out, "hessian");
  EXPECT_EQ(hessian.shape, (std::vector<std::uint64_t>{300, 2, 2}));
  const std::vector<double> H = doubles(hessian);
  for (std::size_t p = 0; p < 300; ++p) {
    const double x = points[2 * p], y = points[2 * p + 1];
    const double hxy = -6 * y - 2 * y * std::sin(x);  // exact to rounding: a tight tolerance
    EXPECT_NEAR(H[4 * p + 1], hxy, 1e-12 * (1 + std::abs(hxy)));
    EXPECT_EQ(H[4 * p + 1], H[4 * p + 2]);
  }
  const ResultArray& classes = array(out, "class");
  EXPECT_EQ(classes.descr, "<U11");
  EXPECT_EQ(classes.bytes.size(), 300u * 44u);
}

// A caller's function through the materialized-stencil path: the expression's Hessians within FD noise, in calls of
// at most block_points() points; with gradients, the gradient stencil.
TEST(LibraryRuns, ACallersFunctionGivesTheExpressionsHessians) {
  const std::vector<double> points = grid_points(200);
  hessa::AnalyzeFileRequest exact;
  exact.function = kExpression;
  exact.vars = "x,y";
  exact.hessian = true;
  exact.stencil = hessa::StencilKind::Exact;
  ResultArrays reference;
  analyze_in_memory(exact, points, reference);
  const std::vector<double> H = doubles(array(reference, "hessian"));

  for (const bool with_gradient : {false, true}) {
    Saddle fn(with_gradient);
    hessa::AnalyzeFileRequest request;
    request.function = "saddle";
    request.batch = &fn;
    request.hessian = true;
    ResultArrays out;
    const auto outcome = analyze_in_memory(request, points, out);
    EXPECT_EQ(outcome.stencil, with_gradient ? hessa::StencilKind::Gradient : hessa::StencilKind::Central);
    const std::vector<double> mine = doubles(array(out, "hessian"));
    // Central: ~1e-8 of the scale (~10); gradient differences: ~1e-10. Tolerances with two orders of margin.
    const double tolerance = with_gradient ? 1e-7 : 1e-6;
    for (std::size_t k = 0; k < H.size(); ++k) EXPECT_NEAR(mine[k], H[k], tolerance * 10) << k;
    if (!with_gradient) {
      EXPECT_LE(fn.largest_call, 64u);
      EXPECT_GE(fn.calls, 200u * 9u / 64u);  // 9 values per point, in blocks: not a call per evaluation
    }
  }
}

// `critical` of the caller's function finds what it finds for the same expression: the same stationary points (x^3 -
// 3 x y^2 + x^2 + y^2 cos x has four in the box: (0, 0), (-2/3, 0) and two off the axis), classes and basins. The
// two evaluate f in different orders of operations, so the points agree to the search's resolution, not bits:
// 1e-6 (the FD gradient's noise at the search's step is ~1e-10; the box diagonal is 3.6).
TEST(LibraryRuns, ACallersFunctionHasTheExpressionsStationaryPoints) {
  hessa::CriticalRunRequest request;
  request.function = kExpression;
  request.vars = "x,y";
  request.box = "-1.5:1.5,-1:1";
  request.grid = "9x9";
  request.backend = "cpu";
  ResultArrays unused;
  request.open_writer = [&unused](const hessa::OutputLayout& layout) {
    return hessa::open_result_arrays(layout, &unused);
  };
  const hessa::CriticalRunOutcome reference = hessa::run_critical(request, nullptr);
  ASSERT_EQ(reference.found.count(), 4u);
  for (const bool with_gradient : {false, true}) {
    Saddle fn(with_gradient);
    request.function = "saddle";
    request.vars.clear();
    request.batch = &fn;
    request.stencil = with_gradient ? hessa::StencilKind::Gradient : hessa::StencilKind::Central;
    const hessa::CriticalRunOutcome mine = hessa::run_critical(request, nullptr);
    ASSERT_EQ(mine.found.count(), reference.found.count()) << with_gradient;
    for (std::size_t k = 0; k < mine.found.points.size(); ++k)
      EXPECT_NEAR(mine.found.points[k], reference.found.points[k], 1e-6) << k;
    EXPECT_EQ(mine.found.basin_count, reference.found.basin_count);
    for (std::size_t p = 0; p < mine.found.count(); ++p)
      EXPECT_EQ(mine.analyzed.points[p].point_class, reference.analyzed.points[p].point_class) << p;
    EXPECT_GT(fn.calls, 0u);
  }
  // The GPU backend cannot run it, as for analyze.
  Saddle fn(false);
  request.batch = &fn;
  request.backend = "cuda";
  EXPECT_THROW(hessa::run_critical(request, nullptr), hessa::InputError);
}

TEST(LibraryRuns, ACallersFunctionRefusesStencilsItCannotServeAndItsExceptionPropagates) {
  const std::vector<double> points = grid_points(10);
  Saddle values_only(false);
  for (const auto kind : {hessa::StencilKind::HyperDual, hessa::StencilKind::Exact, hessa::StencilKind::Gradient}) {
    hessa::AnalyzeFileRequest request;
    request.function = "saddle";
    request.batch = &values_only;
    request.stencil = kind;
    ResultArrays out;
    EXPECT_THROW(analyze_in_memory(request, points, out), hessa::InputError) << hessa::stencil_name(kind);
  }
  struct Failing final : hessa::BatchFunction {
    int dimension() const override { return 2; }
    void values(const double*, std::size_t, double*) const override { throw std::domain_error("from the model"); }
  } failing;
  hessa::AnalyzeFileRequest request;
  request.function = "failing";
  request.batch = &failing;
  ResultArrays out;
  EXPECT_THROW(analyze_in_memory(request, points, out), std::domain_error);
  EXPECT_TRUE(out.arrays.empty());  // nothing finished
}

// Hessian-vector products of a caller's function from differences of its gradients: the exact H d within ~1e-9 of
// the scale (truncation ~h^2 with h = 2^-17, rounding ~eps |g| / h), f and g at the point exactly.
TEST(LibraryRuns, HessianVectorProductsOfACallersFunctionDifferenceItsGradients) {
  Saddle fn(true, 5);  // small blocks: the pairs x + h d, x - h d straddle calls
  hessa::Objective objective;
  objective.batch = &fn;
  const std::vector<double> points = {0.3, -0.7, 1.2, 0.4, -2.0, 1.5};
  const std::vector<double> directions = {1.0, 0.0, 0.6, -0.8, 0.0, 0.0};  // the last one zero: H 0 = 0
  std::vector<double> f(3), g(6), hv(3 * 3 * 2);
  auto cpu = hessa::make_cpu_backend();
  cpu->hessian_vector_products(objective, points.data(), 3, directions.data(), 0, 3, f.data(), g.data(), hv.data());
  for (std::size_t p = 0; p < 3; ++p) {
    const double x = points[2 * p], y = points[2 * p + 1];
    const double hxx = 6 * x + 2 - y * y * std::cos(x), hxy = -6 * y - 2 * y * std::sin(x),
                 hyy = -6 * x + 2 * std::cos(x);
    for (std::size_t k = 0; k < 3; ++k) {
      const double a = directions[2 * k], b = directions[2 * k + 1];
      EXPECT_NEAR(hv[(p * 3 + k) * 2], hxx * a + hxy * b, 1e-8) << p << " " << k;
      EXPECT_NEAR(hv[(p * 3 + k) * 2 + 1], hxy * a + hyy * b, 1e-8) << p << " " << k;
    }
  }
  Saddle values_only(false);
  objective.batch = &values_only;
  EXPECT_THROW(
      cpu->hessian_vector_products(objective, points.data(), 3, directions.data(), 0, 3, f.data(), g.data(), hv.data()),
      hessa::InputError);
}

TEST(LibraryRuns, JacobiansIntoMemory) {
  const std::vector<double> points = {3.0, 0.5, 2.0, -1.0};
  auto reader = hessa::open_point_array(points.data(), 2, 2, "points");
  hessa::JacobianRunRequest request;
  request.functions = {"r*cos(t)", "r*sin(t)"};
  request.vars = "r,t";
  request.mode = hessa::JacobianMode::Dual;
  request.backend = "cpu";
  request.point_source = reader.get();
  ResultArrays out;
  request.open_writer = [&out](const hessa::JacobianLayout& l) { return hessa::open_jacobian_arrays(l, &out); };
  hessa::run_jacobian(request, nullptr);
  const std::vector<double> J = doubles(array(out, "J"));
  EXPECT_EQ(array(out, "J").shape, (std::vector<std::uint64_t>{2, 2, 2}));
  EXPECT_NEAR(J[1], -3.0 * std::sin(0.5), 1e-15);  // dual numbers: exact to rounding
  EXPECT_EQ(array(out, "status").bytes.size(), 2u * 68u);
}

// (r cos t, r sin t) as a caller's vectorized function: as the expressions "r*cos(t)", "r*sin(t)".
class Polar final : public hessa::BatchVectorFunction {
 public:
  explicit Polar(std::size_t block) : block_(block) {}
  int dimension() const override { return 2; }
  int outputs() const override { return 2; }
  std::size_t block_points() const override { return block_; }
  void values(const double* x, std::size_t rows, double* out) const override {
    ++calls;
    largest_call = std::max(largest_call, rows);
    for (std::size_t i = 0; i < rows; ++i) {
      const double r = x[2 * i], t = x[2 * i + 1];
      out[2 * i] = r == 7.0 ? std::nan("") : r * std::cos(t);  // r = 7: a point the function cannot evaluate
      out[2 * i + 1] = r * std::sin(t);
    }
  }
  mutable std::size_t calls = 0, largest_call = 0;

 private:
  std::size_t block_;
};

ResultArrays jacobians_in_memory(hessa::JacobianRunRequest request, const std::vector<double>& points) {
  auto reader = hessa::open_point_array(points.data(), points.size() / 2, 2, "points");
  request.point_source = reader.get();
  ResultArrays out;
  request.open_writer = [&out](const hessa::JacobianLayout& l) { return hessa::open_jacobian_arrays(l, &out); };
  hessa::run_jacobian(request, nullptr);
  return out;
}

// The same stencil points and the same assembly as the expressions' run, and r cos t evaluated by the same libm as
// the interpreter's cos: the same bits, whatever the blocks (7 rows: the 4m + 1 = 9 rows of a point straddle
// calls). A NaN marks only its own point.
TEST(LibraryRuns, JacobiansOfACallersFunctionAreTheExpressionsBitForBit) {
  const std::vector<double> points = {3.0, 0.5, 2.0, -1.0, 0.25, 4.0, 7.0, 1.0, -1.5, 2.5};
  for (const auto mode : {hessa::JacobianMode::Central, hessa::JacobianMode::Richardson}) {
    hessa::JacobianRunRequest request;
    request.functions = {"r*cos(t)", "r*sin(t)"};
    request.vars = "r,t";
    request.mode = mode;
    request.backend = "cpu";
    const ResultArrays reference = jacobians_in_memory(request, points);
    for (const std::size_t block : {std::size_t(7), std::size_t(1) << 16}) {
      Polar fn(block);
      request.functions.clear();
      request.function = &fn;
      request.function_label = "polar";
      request.backend = "auto";
      const ResultArrays mine = jacobians_in_memory(request, points);
      ASSERT_EQ(mine.arrays.size(), reference.arrays.size());
      for (const char* name : {"f", "J"}) {
        const std::vector<double> a = doubles(array(mine, name)), b = doubles(array(reference, name));
        ASSERT_EQ(a.size(), b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
          if (i / (a.size() / 5) == 3) continue;  // the NaN point: its f and J are NaN-tainted, its status says so
          EXPECT_EQ(a[i], b[i]) << name << " " << i << " block " << block;
        }
      }
      const std::size_t rows_per_point = hessa::detail::jacobian_evals_per_output(mode, 2);
      EXPECT_LE(fn.largest_call, block);
      EXPECT_EQ(fn.calls, (5 * rows_per_point + block - 1) / block);
      const ResultArray& status = array(mine, "status");  // numpy "<U": 4 bytes a character, ASCII here
      const std::size_t width = status.bytes.size() / 5;
      for (std::size_t p = 0; p < 5; ++p) {
        std::string text;
        for (std::size_t c = p * width; c < (p + 1) * width; c += 4)
          if (status.bytes[c] != 0) text += char(status.bytes[c]);
        EXPECT_EQ(text, p == 3 ? "nonfinite_f" : "ok") << p;
      }
    }
  }
}

TEST(LibraryRuns, JacobiansOfACallersFunctionRefuseWhatItCannotServe) {
  const std::vector<double> points = {3.0, 0.5};
  Polar fn(64);
  hessa::JacobianRunRequest request;
  request.function = &fn;
  request.mode = hessa::JacobianMode::Dual;  // no dual numbers in a caller's function
  EXPECT_THROW(jacobians_in_memory(request, points), hessa::InputError);
  request.mode = hessa::JacobianMode::Central;
  request.backend = "cuda";  // its values are computed on the host
  EXPECT_THROW(jacobians_in_memory(request, points), hessa::InputError);
  request.backend = "auto";
  const std::vector<double> three = {1.0, 2.0, 3.0};
  auto reader = hessa::open_point_array(three.data(), 1, 3, "points");  // 3 coordinates for a function of 2
  request.point_source = reader.get();
  ResultArrays out;
  request.open_writer = [&out](const hessa::JacobianLayout& l) { return hessa::open_jacobian_arrays(l, &out); };
  EXPECT_THROW(hessa::run_jacobian(request, nullptr), hessa::InputError);
  EXPECT_EQ(fn.calls, 0u);
}

TEST(LibraryRuns, AJobGivenAsJsonRunsWithTheCallersFunction) {
  hessa::test::ScratchDir dir;
  const std::string out = dir.file("scan.h5");
  const std::string json = R"({"function": {"python": "saddle"},
    "points": {"kind": "grid", "lower": [-1.0, -1.0], "upper": [1.0, 1.0], "counts": [5, 4]},
    "analysis": {"eigenvalues": true}, "output": {"path": ")" +
                           out + R"(", "chunk": 6}})";
  const std::string toml = hessa::jobs::job_toml_from_json(json);
  EXPECT_NE(toml.find("python = 'saddle'"), std::string::npos) << toml;
  hessa::jobs::JobRunRequest request;
  request.job = "job";
  request.job_text = toml;
  request.function_has_gradient = true;
  request.make_function = [](int n) -> std::unique_ptr<hessa::BatchFunction> {
    EXPECT_EQ(n, 2);
    return std::make_unique<Saddle>(true);
  };
  hessa::jobs::JobRunOutcome outcome;
  EXPECT_EQ(hessa::jobs::run_job(request, outcome, nullptr, nullptr), 0);
  EXPECT_EQ(outcome.summary.points, 20u);
  EXPECT_EQ(outcome.stencil, hessa::StencilKind::Gradient);  // auto, for a function with gradients
  EXPECT_TRUE(fs::exists(out));
  // Without the caller's function the same job is an error naming the key; a null has no TOML form.
  hessa::jobs::JobRunRequest plain;
  plain.job = "job";
  plain.job_text = toml;
  EXPECT_THROW(hessa::jobs::run_job(plain, outcome, nullptr, nullptr), hessa::InputError);
  EXPECT_THROW(hessa::jobs::job_toml_from_json(R"({"function": {"catalogue": null}})"), hessa::InputError);
  EXPECT_THROW(hessa::jobs::job_toml_from_json("[1, 2]"), hessa::InputError);
  EXPECT_THROW(hessa::jobs::job_toml_from_json("{"), hessa::InputError);
}

}  // namespace
