// CPU/CUDA parity of Backend::analyze on seeded random points: one table of cases covering every stencil, each GPU
// eigen path (n <= 3 small Jacobi, 4..32 syevjBatched, > 32 XsyevBatched: n = 2, 8, 40), eigenvectors on and off,
// chunks of 997 points (a prime: a multiple of no block or batch size) and the Objective paths (a model loss, affine
// subspaces). Every field of ChunkResult the backend fills is compared; the CUDA cases skip without a GPU.
//
// Tolerances. Both backends run the same HESSA_HD per-point math, but one stencil value may differ in its last bits:
// nvcc contracts a*b+c into an FMA, CUDA's exp/sin/... are not glibc's (each within ~2 ulps), a subspace's map and a
// model loss's sum over samples may round differently. The model: each stencil value differs by at most kUlps = 16
// ulps of the point's largest |stencil value|, f_max: the unit of hessa's own rounding estimates, so
//   f           one evaluation: 1e-12 of max(|f|, 1) (16 ulps are 3.6e-15; the rest is margin for the map, sums);
//   g, H        entry (i, j) moves by <= kUlps x its own rounding estimate, so ||dg||_2 <= kUlps grad_err and
//               ||dH||_F <= kUlps hess_err (the point's reported estimates; Richardson's (4 D(h/2) - D(h)) / 3
//               moves by <= 17/12 of its finer level's estimate, hence 2 kUlps), plus 1e-12 of the scale (hyper-dual
//               derivatives carry no FD rounding: there the floor is the bar);
//   eigenvalues Weyl, |d lambda_k| <= ||dH||_2 <= ||dH||_F, plus the two solvers' own errors (LAPACK dsyevd and Jacobi:
//               ~n eps ||H||; syevj stops at off(A) <= 1e-14 ||A||_F): 1e-10 of max|lambda|;
//   eigenvectors only where lambda_k is separated from the others by gap >> d lambda: Davis-Kahan bounds the angle,
//               sin t <= d lambda / (gap - 2 d lambda), so |v_cpu . v_gpu| >= 1 - sin^2 t (up to sign per column);
//   class, morse_index, confidence  identical, except at points where an eigenvalue lies within its tolerance of the
//               zero band's edge (or ||g|| of gtol's), which may fall either side (counted, a few at most);
//   step quantities  first-order propagation of the above (x4 for the second-order terms), compared where the
//               quantity is defined on both sides for sure (g'Hg clear of 0, lambda_max clear of 0).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/model.hpp"
#include "hessa/objective.hpp"
#include "model_support.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

constexpr double kEps = 2.220446049250313e-16;
constexpr double kUlps = 16;
constexpr std::size_t kChunk = 997;

enum class Source { Catalogue, Expression, Model };

struct ParityCase {
  const char* name;
  Source source;
  const char* function;  // catalogue name or expression text (Model: unused)
  int n;                 // the function's dimension (Model: from the widths)
  StencilKind stencil;
  bool eigenvectors;
  double lo, hi;                 // points uniform in [lo, hi)^dimension
  bool by_curvature = false;     // gtol = 1e300: every point is classified by its eigenvalues' signs
  double lr = 0;                 // > 0: a fixed step instead of step_opt
  int subspace = 0;              // > 0: analyzed on a random affine subspace of that many directions
  std::vector<int> widths = {};  // Model: the MLP's layers, on 20 random samples, mse
  Activation activation = Activation::Tanh;
};

// Test names and ctest's listing show a case by its name (not its bytes).
void PrintTo(const ParityCase& c, std::ostream* os) { *os << c.name; }

// The table: each stencil, each eigen path (n = 2, 8, 40, and k = 2 / 3 on subspaces), eigenvectors on and off.
const std::vector<ParityCase>& parity_cases() {
  using S = StencilKind;
  static const std::vector<ParityCase> cases = {
      {"rosenbrock_n2_central_vectors", Source::Catalogue, "rosenbrock", 2, S::Central, true, -2, 2, true},
      {"himmelblau_n2_richardson", Source::Catalogue, "himmelblau", 2, S::Richardson, false, -5, 5, true, 0.01},
      {"beale_n2_hyperdual_vectors", Source::Catalogue, "beale", 2, S::HyperDual, true, -4.5, 4.5},
      {"rastrigin_n8_compact_vectors", Source::Catalogue, "rastrigin", 8, S::Compact, true, -5.12, 5.12, true},
      {"styblinski_tang_n8_hyperdual", Source::Catalogue, "styblinski_tang", 8, S::HyperDual, false, -5, 5, true},
      {"expression_n8_central_lr", Source::Expression, "exp(0.3*x0)*sin(x1) + x2^4 - x3*x4*x5 + log(1 + x6^2) * x7", 8,
       S::Central, false, -2, 2, false, 0.05},
      {"expression_n3_hyperdual_log_nan", Source::Expression, "log(x0) + x1^2*x2 - cos(x2)", 3, S::HyperDual, true, -1,
       3, true},
      {"rosenbrock_n40_richardson_vectors", Source::Catalogue, "rosenbrock", 40, S::Richardson, true, -1.5, 1.5, true},
      {"rastrigin_n40_central", Source::Catalogue, "rastrigin", 40, S::Central, false, -5.12, 5.12, true},
      {"styblinski_tang_n40_hyperdual_vectors", Source::Catalogue, "styblinski_tang", 40, S::HyperDual, true, -5, 5,
       true},
      {"expression_n40_compact", Source::Expression, "sum(i, 0, n-2, sin(x[i]) * x[i+1]^2) + x[0]*x[n-1]", 40,
       S::Compact, false, -2, 2},
      {"rosenbrock_n8_on_3_subspace_compact_vectors", Source::Catalogue, "rosenbrock", 8, S::Compact, true, -1, 1, true,
       0, 3},
      {"mlp_tanh_13_central_vectors", Source::Model, "", 0, S::Central, true, -1, 1, true, 0, 0, {2, 3, 1}},
      {"mlp_sigmoid_38_richardson",
       Source::Model,
       "",
       0,
       S::Richardson,
       false,
       -1,
       1,
       true,
       0,
       0,
       {3, 6, 2},
       Activation::Sigmoid},
      {"mlp_tanh_13_on_2_subspace_central_vectors",
       Source::Model,
       "",
       0,
       S::Central,
       true,
       -1,
       1,
       true,
       0,
       2,
       {2, 3, 1}},
  };
  return cases;
}

// What a case analyzes, with the objects the Objective points to.
struct Built {
  CompiledFunction expression;
  MlpModel model;
  AffineSubspace subspace;
  Objective objective;
  std::vector<double> points;
  AnalysisOptions options;
};

std::unique_ptr<Built> build(const ParityCase& c, std::size_t count, std::uint32_t seed) {
  auto b = std::make_unique<Built>();
  int n = c.n;
  if (c.source == Source::Model) {
    b->model = test::make_model(std::vector<std::int32_t>(c.widths.begin(), c.widths.end()), c.activation,
                                LossKind::Mse, 20, seed);
    b->objective.model = &b->model;
    n = int(b->model.parameter_count());
  } else {
    const CatalogueEntry* e = c.source == Source::Catalogue ? find_catalogue_entry(c.function) : nullptr;
    EXPECT_TRUE(c.source == Source::Expression || (e != nullptr && e->accepts_dimension(n))) << c.function;
    b->expression = e != nullptr ? test::compile_entry(*e, n) : test::compile(c.function, n);
    b->objective.expression = &b->expression;
  }
  test::Uniform u(seed + 1);
  if (c.subspace > 0) {
    AffineSubspace& s = b->subspace;
    s.k = c.subspace;
    s.n = n;
    for (int i = 0; i < n; ++i) s.origin.push_back(u(c.lo, c.hi));
    for (int a = 0; a < s.k; ++a) {  // unit directions
      double norm = 0;
      for (int i = 0; i < n; ++i) {
        s.directions.push_back(u(-1, 1));
        norm += s.directions.back() * s.directions.back();
      }
      for (int i = 0; i < n; ++i) s.directions[std::size_t(a * n + i)] /= std::sqrt(norm);
    }
    b->objective.subspace = &b->subspace;
  }
  const int dim = b->objective.dimension();
  for (std::size_t k = 0; k < count * std::size_t(dim); ++k) b->points.push_back(u(c.lo, c.hi));
  AnalysisOptions& o = b->options;
  o.stencil = c.stencil;
  o.step_scale = default_step_scale(c.stencil);
  o.keep_gradient = o.keep_hessian = o.keep_eigenvalues = true;
  o.eigenvectors = c.eigenvectors;
  if (c.by_curvature) o.thresholds.gtol = 1e300;
  o.lr = c.lr;
  return b;
}

ChunkResult analyze(Backend& backend, const Built& b) {
  ChunkResult r;
  const std::size_t count = b.points.size() / std::size_t(b.objective.dimension());
  backend.analyze(b.objective, b.options, b.points.data(), count, r);
  return r;
}

double norm2(const double* v, std::size_t count) {
  double s = 0;
  for (std::size_t k = 0; k < count; ++k) s += v[k] * v[k];
  return std::sqrt(s);
}

double distance2(const double* a, const double* b, std::size_t count) {
  double s = 0;
  for (std::size_t k = 0; k < count; ++k) s += (a[k] - b[k]) * (a[k] - b[k]);
  return std::sqrt(s);
}

// Same NaN-ness, same infinities, else within tol.
::testing::AssertionResult close(double cpu, double gpu, double tol) {
  if (std::isnan(cpu) || std::isnan(gpu)) {
    if (std::isnan(cpu) && std::isnan(gpu)) return ::testing::AssertionSuccess();
  } else if (cpu == gpu || std::fabs(cpu - gpu) <= tol) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "cpu " << cpu << ", cuda " << gpu << ", |difference| " << std::fabs(cpu - gpu)
                                       << " > tolerance " << tol;
}

// What the comparison left out, for the report and for a bound on it.
struct Skipped {
  std::size_t failed_points = 0;      // status != Ok on both: only status and f are compared
  std::size_t ambiguous_classes = 0;  // an eigenvalue or ||g|| within its tolerance of a band's edge
  std::size_t close_vectors = 0;      // eigenvectors of eigenvalues too close to others to be compared
  std::size_t compared_vectors = 0;
};

// Compares point p of two results of the same case. `cpu` is the reference whose estimates set the tolerances.
void compare_point(const ParityCase& c, const AnalysisOptions& o, const ChunkResult& cpu, const ChunkResult& gpu,
                   std::size_t p, Skipped* skipped) {
  const int n = cpu.n;
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  const PointAnalysis& a = cpu.points[p];
  const PointAnalysis& b = gpu.points[p];
  SCOPED_TRACE(std::string(c.name) + ", point " + std::to_string(p));
  ASSERT_EQ(int(a.status), int(b.status)) << status_name(a.status) << " vs " << status_name(b.status);
  EXPECT_TRUE(close(a.f, b.f, 1e-12 * std::max(std::fabs(a.f), 1.0))) << "f";
  if (a.status != PointStatus::Ok) {  // failed_point(f, status): NaN fields, no class, no step
    ++skipped->failed_points;
    EXPECT_TRUE(std::isnan(b.lambda_min) && std::isnan(b.grad_norm) && std::isnan(b.f_step));
    EXPECT_EQ(int(a.point_class), int(b.point_class));
    EXPECT_EQ(a.morse_index, b.morse_index);
    EXPECT_EQ(a.uphill, b.uphill);
    return;
  }
  const double* ga = &cpu.gradient[p * std::size_t(n)];
  const double* gb = &gpu.gradient[p * std::size_t(n)];
  const double* Ha = &cpu.hessian[p * nn];
  const double* Hb = &gpu.hessian[p * nn];
  const double* wa = &cpu.eigenvalues[p * std::size_t(n)];
  const double* wb = &gpu.eigenvalues[p * std::size_t(n)];
  const double ulps = o.stencil == StencilKind::Richardson ? 2 * kUlps : kUlps;
  const double g_norm = norm2(ga, std::size_t(n)), H_norm = norm2(Ha, nn);
  const double max_lambda = std::max(std::fabs(wa[0]), std::fabs(wa[n - 1]));
  const double tol_g = ulps * a.grad_err + 1e-12 * std::max(g_norm, 1.0);
  const double tol_H = ulps * a.hess_err + 1e-12 * std::max(H_norm, 1.0);
  const double tol_lambda = tol_H + 1e-10 * max_lambda;
  const double tol_f = 1e-12 * std::max(std::fabs(a.f), 1.0);

  EXPECT_LE(distance2(ga, gb, std::size_t(n)), tol_g) << "||g_cpu - g_cuda||_2";
  EXPECT_LE(distance2(Ha, Hb, nn), tol_H) << "||H_cpu - H_cuda||_F";
  for (int k = 0; k < n; ++k) EXPECT_TRUE(close(wa[k], wb[k], tol_lambda)) << "eigenvalue " << k;
  EXPECT_TRUE(close(a.lambda_min, b.lambda_min, tol_lambda)) << "lambda_min";
  EXPECT_TRUE(close(a.lambda_max, b.lambda_max, tol_lambda)) << "lambda_max";
  EXPECT_TRUE(close(a.grad_norm, b.grad_norm, tol_g)) << "grad_norm";

  // The error estimates. Central / compact: from f_max (kUlps ulps apart at most) and the steps (the same): 1e-12
  // relative. Richardson's also hold |D(h/2) - D(h)| / 3, which moves with both levels' values: by (1 + 1/4) / 3 of
  // the finer level's bound. Hyper-dual: 16 eps ||H||_F and 16 eps ||g||, so they move by 16 eps ||dH||, 16 eps ||dg||.
  double tol_hess_err = 1e-12 * a.hess_err, tol_grad_err = 1e-12 * a.grad_err;
  if (o.stencil == StencilKind::Richardson) {
    tol_hess_err = kUlps * a.hess_err / 2;
    tol_grad_err = kUlps * a.grad_err / 2;
  } else if (o.stencil == StencilKind::HyperDual) {
    tol_hess_err = 16 * kEps * tol_H;
    tol_grad_err = 16 * kEps * tol_g;
  }
  EXPECT_TRUE(close(a.hess_err, b.hess_err, tol_hess_err)) << "hess_err";
  EXPECT_TRUE(close(a.grad_err, b.grad_err, tol_grad_err)) << "grad_err";

  // The classification decides by comparisons against the bands; it is the same unless a compared quantity lies
  // within its tolerance of a band's edge.
  const Thresholds& t = o.thresholds;
  const double band = t.eig_tol + t.eig_rtol * max_lambda + a.hess_err;
  const double tol_band = t.eig_rtol * tol_lambda + tol_hess_err;
  const double gband = t.gtol + a.grad_err;
  bool ambiguous = std::fabs(a.grad_norm - gband) <= tol_g + tol_grad_err;
  for (int k = 0; k < n; ++k) ambiguous |= std::fabs(std::fabs(wa[k]) - band) <= tol_lambda + tol_band;
  if (ambiguous) {
    ++skipped->ambiguous_classes;
  } else {
    EXPECT_STREQ(class_name(a.point_class), class_name(b.point_class));
    EXPECT_EQ(a.morse_index, b.morse_index);
    // confidence = q / band with q an eigenvalue, a min of two, ||g|| (tol_lambda or tol_g) and its band.
    const bool by_gradient = a.point_class == PointClass::Noncritical;
    const double q_tol = by_gradient ? tol_g : tol_lambda;
    const double b_tol = by_gradient ? tol_grad_err : tol_band;
    const double b_val = by_gradient ? gband : band;
    EXPECT_TRUE(close(a.confidence, b.confidence,
                      (q_tol + std::fabs(a.confidence) * b_tol) / std::max(b_val - b_tol, 0.5 * b_val)))
        << "confidence";
  }

  // Eigenvectors, up to sign, where the gap to the other eigenvalues bounds the angle (Davis-Kahan).
  for (int k = 0; o.eigenvectors && k < n; ++k) {
    double gap = INFINITY;
    for (int j = 0; j < n; ++j)
      if (j != k) gap = std::min(gap, std::fabs(wa[j] - wa[k]));
    const double sin_bound = gap > 2 * tol_lambda ? tol_lambda / (gap - 2 * tol_lambda) : INFINITY;
    if (!(sin_bound <= 1e-3)) {
      ++skipped->close_vectors;
      continue;
    }
    ++skipped->compared_vectors;
    const double* va = &cpu.eigenvectors[p * nn + std::size_t(k) * std::size_t(n)];
    const double* vb = &gpu.eigenvectors[p * nn + std::size_t(k) * std::size_t(n)];
    double dot = 0;
    for (int i = 0; i < n; ++i) dot += va[i] * vb[i];
    EXPECT_GE(std::fabs(dot), 1 - sin_bound * sin_bound - 1e-12 * n) << "eigenvector " << k << ", up to sign";
  }

  // Step quantities, first order in (dg, dH) with a factor 4 for what that leaves out.
  if (a.lambda_max > 2 * tol_lambda || a.lambda_max < -2 * tol_lambda) {
    EXPECT_TRUE(close(a.lr_max, b.lr_max, 4 * tol_lambda / (a.lambda_max * a.lambda_max))) << "lr_max";
  }
  const double gg = g_norm * g_norm;
  const double tol_gg = 2 * g_norm * tol_g;
  const double tol_gHg = 4 * (2 * g_norm * H_norm * tol_g + gg * tol_H) + 1e-12 * gg * std::max(H_norm, 1.0);
  EXPECT_TRUE(close(a.gHg, b.gHg, tol_gHg)) << "gHg";
  // step_opt = g'g / g'Hg exists when g'Hg > 0: compared where g'Hg is clear of 0; the step is --lr or step_opt.
  const bool step_opt_decided = gg > 0 && std::fabs(a.gHg) > 2 * tol_gHg;
  const double tol_step_opt = a.gHg > 0 ? 4 * a.step_opt * (tol_gg / gg + tol_gHg / std::fabs(a.gHg)) : 0;
  if (step_opt_decided) {
    EXPECT_TRUE(close(a.step_opt, b.step_opt, tol_step_opt)) << "step_opt";
  }
  const double tol_step = o.lr > 0 ? 0 : tol_step_opt;
  if (!(o.lr > 0 ? gg > 0 : step_opt_decided)) return;
  EXPECT_TRUE(close(a.step, b.step, tol_step)) << "step";
  if (!(a.step > 0)) return;
  const double s = a.step;
  EXPECT_TRUE(close(a.taylor_pred, b.taylor_pred,
                    4 * (tol_f + tol_step * gg + s * tol_gg + s * tol_step * std::fabs(a.gHg) + s * s / 2 * tol_gHg) +
                        1e-12 * (std::fabs(a.f) + s * gg + s * s * std::fabs(a.gHg))))
      << "taylor_pred";
  // f(x - s g): the point moves by |ds| ||g|| + s ||dg||; the gradient there is ~ g - s H g.
  const double moved = tol_step * g_norm + s * tol_g;
  const double tol_f_step = 4 * g_norm * (1 + s * H_norm) * moved + 1e-12 * std::max(std::fabs(a.f_step), 1.0);
  EXPECT_TRUE(close(a.f_step, b.f_step, tol_f_step)) << "f_step";
  if (std::fabs(a.f_step - a.f) > tol_f_step + tol_f) {
    EXPECT_EQ(a.uphill, b.uphill) << "uphill";
  }
}

// Compares two whole results of case `c`; returns what was left out.
Skipped compare_results(const ParityCase& c, const AnalysisOptions& o, const ChunkResult& cpu, const ChunkResult& gpu) {
  Skipped skipped;
  EXPECT_EQ(cpu.count, gpu.count);
  EXPECT_EQ(cpu.n, gpu.n);
  EXPECT_EQ(cpu.points.size(), gpu.points.size());
  EXPECT_EQ(cpu.gradient.size(), gpu.gradient.size());
  EXPECT_EQ(cpu.hessian.size(), gpu.hessian.size());
  EXPECT_EQ(cpu.eigenvalues.size(), gpu.eigenvalues.size());
  EXPECT_EQ(cpu.eigenvectors.size(), gpu.eigenvectors.size());
  if (::testing::Test::HasFailure()) return skipped;
  for (std::size_t p = 0; p < cpu.count && !::testing::Test::HasFatalFailure(); ++p) {
    compare_point(c, o, cpu, gpu, p, &skipped);
    if (::testing::Test::HasFailure()) break;  // one point's report, not 997
  }
  return skipped;
}

std::string summary(const Skipped& s, std::size_t count) {
  std::ostringstream text;
  text << count << " points: " << s.failed_points << " failed on both, " << s.ambiguous_classes
       << " with a class at a band's edge; eigenvectors compared " << s.compared_vectors << ", too close "
       << s.close_vectors;
  return text.str();
}

// What a result of `count` points may leave out: failed points only in the case that has them, a few classes.
void expect_few_left_out(const ParityCase& c, const Skipped& s, std::size_t count) {
  if (std::string(c.name).find("nan") == std::string::npos) {
    EXPECT_EQ(s.failed_points, 0u);
  }
  EXPECT_LE(s.ambiguous_classes, count / 20 + 1) << "points near the zero band should be rare";
  if (c.eigenvectors) {
    EXPECT_GT(s.compared_vectors, 0u);
  }
}

class BackendParity : public ::testing::TestWithParam<ParityCase> {
 protected:
  void SetUp() override {
    cuda_ = make_cuda_backend(&why_);
    HESSA_SKIP_WITHOUT_GPU(cuda_, why_);
  }
  std::unique_ptr<Backend> cuda_;
  std::string why_;
};

TEST_P(BackendParity, CudaAgreesWithTheCpuOnRandomPoints) {
  const ParityCase& c = GetParam();
  const auto built = build(c, kChunk, 20261201);
  const auto cpu = make_cpu_backend();
  const ChunkResult a = analyze(*cpu, *built);
  const ChunkResult b = analyze(*cuda_, *built);
  const Skipped skipped = compare_results(c, built->options, a, b);
  std::printf("[ parity   ] %s: %s\n", c.name, summary(skipped, a.count).c_str());
  expect_few_left_out(c, skipped, a.count);
}

INSTANTIATE_TEST_SUITE_P(Cases, BackendParity, ::testing::ValuesIn(parity_cases()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

// The harness itself, where no GPU is: two CPU backends agree on every case (exactly: the same code on the same
// machine), so every comparison above accepts identical results; each case builds (failed points only where the
// case has them), and the table covers what the file's header says.
TEST(BackendParityHarness, EveryCaseBuildsAndTheCpuAgreesWithItself) {
  const auto first = make_cpu_backend();
  const auto second = make_cpu_backend();
  int paths[3] = {}, stencils[4] = {}, vectors[2] = {}, objectives[2] = {}, subspaces = 0;
  for (const ParityCase& c : parity_cases()) {
    const std::size_t count = 31;  // enough to reach each branch, cheap enough to run everywhere
    const auto built = build(c, count, 7);
    const ChunkResult a = analyze(*first, *built);
    const ChunkResult b = analyze(*second, *built);
    ASSERT_EQ(a.count, count) << c.name;
    const Skipped skipped = compare_results(c, built->options, a, b);
    std::printf("[ harness  ] %s: %s\n", c.name, summary(skipped, a.count).c_str());
    expect_few_left_out(c, skipped, count);
    if (std::string(c.name).find("nan") != std::string::npos) {
      EXPECT_GT(skipped.failed_points, 0u) << c.name;
    }
    ++paths[a.n <= 3 ? 0 : a.n <= 32 ? 1 : 2];
    ++stencils[int(c.stencil)];
    ++vectors[c.eigenvectors ? 1 : 0];
    objectives[c.source == Source::Model ? 1 : 0] += 1;
    subspaces += c.subspace > 0;
    if (::testing::Test::HasFailure()) return;
  }
  // The table reaches each GPU eigen path (n <= 3 Jacobi, 4..32 syevjBatched, > 32 XsyevBatched), each stencil,
  // eigenvectors on and off, expressions and model losses, and subspaces.
  for (int k = 0; k < 3; ++k) EXPECT_GE(paths[k], 3) << "eigen path " << k;
  for (int k = 0; k < 4; ++k) EXPECT_GE(stencils[k], 2) << stencil_name(StencilKind(k));
  EXPECT_GE(std::min(vectors[0], vectors[1]), 5);
  EXPECT_GE(objectives[1], 3);
  EXPECT_GE(subspaces, 2);
}

}  // namespace
}  // namespace hessa
