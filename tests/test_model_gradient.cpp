// Backpropagation through the MLP loss (host/cpu/model_gradient.cpp, kernels/model_gradient.cu) against an
// independent computation: the direct per-sample forward pass detail::mlp_loss_direct (no BLAS, no backward pass)
// on hyper-dual numbers, whose e1 part is exactly dL/dv and e1e2 part exactly v^T H w. Every activation x loss.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "backend_fixture.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/detail/cuda_model.hpp"
#include "hessa/detail/hyper_dual.hpp"
#include "hessa/io.hpp"
#include "hessa/model.hpp"
#include "model_support.hpp"

namespace hessa::test {
namespace {

using detail::HyperDual;

// theta + v e1 + w e2 (v or w nullptr: 0).
struct SeededParameters {
  const double* theta;
  const double* v;
  const double* w;
  HyperDual operator()(int k) const { return HyperDual(theta[k], v ? v[k] : 0.0, w ? w[k] : 0.0, 0.0); }
};

HyperDual direct(const MlpModel& model, const double* theta, const double* v, const double* w) {
  std::vector<HyperDual> scratch(2 * std::size_t(model.max_width()));
  return detail::mlp_loss_direct(model.view(), SeededParameters{theta, v, w}, scratch.data());
}

std::vector<double> unit(std::size_t n, std::size_t j) {
  std::vector<double> e(n, 0.0);
  e[j] = 1.0;
  return e;
}

// The reference gradient: dL/dtheta_j = e1 part with v = e_j.
std::vector<double> reference_gradient(const MlpModel& model, const std::vector<double>& theta) {
  const std::size_t P = theta.size();
  std::vector<double> g(P);
  for (std::size_t j = 0; j < P; ++j) g[j] = direct(model, theta.data(), unit(P, j).data(), nullptr).b;
  return g;
}

// The reference H v: (H v)_j = e1e2 part with e1 along v and e2 along e_j.
std::vector<double> reference_hvp(const MlpModel& model, const std::vector<double>& theta, const double* v) {
  const std::size_t P = theta.size();
  std::vector<double> hv(P);
  for (std::size_t j = 0; j < P; ++j) hv[j] = direct(model, theta.data(), v, unit(P, j).data()).d;
  return hv;
}

std::vector<double> random_vector(std::size_t n, double lo, double hi, std::uint32_t seed) {
  Uniform u(seed);
  std::vector<double> v(n);
  for (double& x : v) x = u(lo, hi);
  return v;
}

double max_abs(const std::vector<double>& a) {
  double m = 0.0;
  for (double x : a) m = std::max(m, std::fabs(x));
  return m;
}

double max_difference(const double* a, const double* b, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

struct Case {
  Activation activation;
  LossKind loss;
};

std::vector<Case> every_case() {
  std::vector<Case> cases;
  for (Activation a : {Activation::Tanh, Activation::Relu, Activation::Sigmoid, Activation::Gelu})
    for (LossKind l : {LossKind::Mse, LossKind::CrossEntropy, LossKind::Logistic}) cases.push_back({a, l});
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(activation_name(info.param.activation)) + "_" + loss_name(info.param.loss);
}

// Two hidden layers (so the backward pass crosses a hidden-to-hidden layer), 3 outputs (1 for logistic), 23 samples.
MlpModel case_model(const Case& c, int samples = 23) {
  const std::int32_t outputs = c.loss == LossKind::Logistic ? 1 : 3;
  return make_model({4, 5, 3, outputs}, c.activation, c.loss, samples, 7u + std::uint32_t(c.loss));
}

// Both sides are exact up to rounding: a gradient entry is a sum over samples of products along the network
// (depth 3, widths <= 5); measured: <= 8e-16 of max |entry| (a few ulps). The vectorized tanh / sigmoid of the
// BLAS path differ from libm by <= 5 ulps, another BLAS sums in another order: 1e-13 of max |entry| (100x margin).
constexpr double kDerivativeTolerance = 1e-13;

class ModelGradient : public ::testing::TestWithParam<Case> {};

TEST_P(ModelGradient, LossIsMlpLossToTheBit) {
  const MlpModel model = case_model(GetParam());
  const std::size_t P = std::size_t(model.parameter_count()), count = 3;
  const std::vector<double> theta = random_vector(count * P, -1.0, 1.0, 11);
  std::vector<double> expected(count), losses(count), gradients(count * P), scratch;
  cpu::mlp_loss(model, theta.data(), count, expected.data(), scratch);
  cpu::mlp_loss_gradient(model, theta.data(), count, losses.data(), gradients.data(), scratch);
  for (std::size_t v = 0; v < count; ++v) EXPECT_EQ(losses[v], expected[v]) << "vector " << v;
}

// The CUDA hyper-dual kernel interleaves its threads' scratch (value m of thread b at scratch[m * threads + b]); the
// stride moves values, never arithmetic, so any stride gives the CPU's stride-1 result to the bit, in every part.
TEST_P(ModelGradient, InterleavedScratchGivesTheSameHyperDualsToTheBit) {
  const MlpModel model = case_model(GetParam());
  const std::size_t P = std::size_t(model.parameter_count());
  const std::vector<double> theta = random_vector(P, -1.0, 1.0, 15);
  const std::vector<double> v = random_vector(P, -1.0, 1.0, 16), w = random_vector(P, -1.0, 1.0, 17);
  const HyperDual expected = direct(model, theta.data(), v.data(), w.data());
  for (const std::int64_t threads : {std::int64_t(2), std::int64_t(7)}) {
    // Thread `threads - 1` of `threads`, the others' slots filled with NaN: a stray read would show.
    const double nan = std::nan("");
    std::vector<HyperDual> scratch(2 * std::size_t(model.max_width()) * std::size_t(threads),
                                   HyperDual(nan, nan, nan, nan));
    const HyperDual got = detail::mlp_loss_direct(model.view(), SeededParameters{theta.data(), v.data(), w.data()},
                                                  scratch.data() + (threads - 1), threads);
    EXPECT_EQ(got.a, expected.a) << "stride " << threads;
    EXPECT_EQ(got.b, expected.b) << "stride " << threads;
    EXPECT_EQ(got.c, expected.c) << "stride " << threads;
    EXPECT_EQ(got.d, expected.d) << "stride " << threads;
  }
}

TEST_P(ModelGradient, GradientMatchesHyperDuals) {
  const MlpModel model = case_model(GetParam());
  const std::size_t P = std::size_t(model.parameter_count()), count = 2;
  const std::vector<double> theta = random_vector(count * P, -1.0, 1.0, 12);
  std::vector<double> losses(count), gradients(count * P), scratch;
  cpu::mlp_loss_gradient(model, theta.data(), count, losses.data(), gradients.data(), scratch);
  for (std::size_t v = 0; v < count; ++v) {
    const std::vector<double> point(theta.begin() + std::ptrdiff_t(v * P), theta.begin() + std::ptrdiff_t((v + 1) * P));
    const std::vector<double> expected = reference_gradient(model, point);
    EXPECT_LE(max_difference(gradients.data() + v * P, expected.data(), P), kDerivativeTolerance * max_abs(expected))
        << "vector " << v;
  }
}

TEST_P(ModelGradient, HessianVectorProductsMatchHyperDuals) {
  const MlpModel model = case_model(GetParam());
  const std::size_t P = std::size_t(model.parameter_count()), r = 3;
  const std::vector<double> theta = random_vector(P, -1.0, 1.0, 13);
  const std::vector<double> directions = random_vector(r * P, -1.0, 1.0, 14);
  std::vector<double> gradient(P), hv(r * P), scratch;
  double loss = 0.0;
  cpu::mlp_loss_hvp(model, theta.data(), directions.data(), r, &loss, gradient.data(), hv.data(), scratch);
  std::vector<double> expected_loss(1);
  cpu::mlp_loss(model, theta.data(), 1, expected_loss.data(), scratch);
  EXPECT_EQ(loss, expected_loss[0]);
  const std::vector<double> expected_gradient = reference_gradient(model, theta);
  EXPECT_LE(max_difference(gradient.data(), expected_gradient.data(), P),
            kDerivativeTolerance * max_abs(expected_gradient));
  for (std::size_t i = 0; i < r; ++i) {
    const std::vector<double> expected = reference_hvp(model, theta, directions.data() + i * P);
    EXPECT_LE(max_difference(hv.data() + i * P, expected.data(), P), kDerivativeTolerance * max_abs(expected))
        << "direction " << i;
  }
}

TEST_P(ModelGradient, FullHessianMatchesHyperDualsAndIsSymmetric) {
  const MlpModel model = case_model(GetParam());
  const std::size_t P = std::size_t(model.parameter_count());
  const std::vector<double> theta = random_vector(P, -1.0, 1.0, 15);
  std::vector<double> H(P * P), gradient(P), scratch;
  double loss = 0.0, asymmetry = -1.0;
  cpu::mlp_full_hessian(model, theta.data(), &loss, gradient.data(), H.data(), scratch, &asymmetry);
  std::vector<double> expected(P * P);
  for (std::size_t j = 0; j < P; ++j) {
    const std::vector<double> e = unit(P, j);
    for (std::size_t i = 0; i <= j; ++i) {
      expected[i + j * P] = expected[j + i * P] = direct(model, theta.data(), unit(P, i).data(), e.data()).d;
    }
  }
  const double scale = max_abs(expected);
  EXPECT_LE(max_difference(H.data(), expected.data(), P * P), kDerivativeTolerance * scale);
  // Column j = H e_j and row j = e_j^T H come from different products: before symmetrizing they differ by
  // rounding only (same bound as above); after, H is symmetric exactly.
  EXPECT_GE(asymmetry, 0.0);
  EXPECT_LE(asymmetry, kDerivativeTolerance * scale);
  for (std::size_t j = 0; j < P; ++j)
    for (std::size_t i = 0; i < j; ++i) ASSERT_EQ(H[i + j * P], H[j + i * P]) << i << ", " << j;
  // The one-hot path for unit directions against the general one (mlp_loss_hvp with the identity): both exact,
  // different operation orders.
  std::vector<double> identity(P * P, 0.0), hv(P * P);
  for (std::size_t j = 0; j < P; ++j) identity[j * P + j] = 1.0;
  cpu::mlp_loss_hvp(model, theta.data(), identity.data(), P, nullptr, nullptr, hv.data(), scratch);
  for (std::size_t j = 0; j < P; ++j)
    for (std::size_t i = 0; i < j; ++i) hv[i + j * P] = hv[j + i * P] = 0.5 * (hv[i + j * P] + hv[j + i * P]);
  EXPECT_LE(max_difference(H.data(), hv.data(), P * P), kDerivativeTolerance * scale);
}

INSTANTIATE_TEST_SUITE_P(EveryActivationAndLoss, ModelGradient, ::testing::ValuesIn(every_case()), case_name);

// More directions than one block holds (blocks of ~3200 / samples columns, at most 64): the partial last block and
// the threads' blocks land in the right rows.
TEST(ModelGradientBlocks, ManyDirectionsSpanSeveralBlocks) {
  const MlpModel model = make_model({3, 6, 2}, Activation::Tanh, LossKind::Mse, 100, 21);
  const std::size_t P = std::size_t(model.parameter_count()), r = 75;
  const std::vector<double> theta = random_vector(P, -1.0, 1.0, 22);
  const std::vector<double> directions = random_vector(r * P, -1.0, 1.0, 23);
  std::vector<double> hv(r * P), scratch;
  cpu::mlp_loss_hvp(model, theta.data(), directions.data(), r, nullptr, nullptr, hv.data(), scratch);
  for (std::size_t i = 0; i < r; i += 7) {
    const std::vector<double> expected = reference_hvp(model, theta, directions.data() + i * P);
    EXPECT_LE(max_difference(hv.data() + i * P, expected.data(), P), kDerivativeTolerance * max_abs(expected))
        << "direction " << i;
  }
}

// A relu unit whose pre-activation is exactly 0 on every sample (its weights and bias are 0) sits on the kink:
// detail::activate takes the zero side (z > 0 is false), so the derivative there is 0 and nothing flows through
// the unit. Its incoming parameters get gradient exactly 0, as do the outgoing weights (the unit's output is 0),
// and the hyper-dual pass, which follows the same branch, agrees everywhere. The first-order neighbour with a tiny
// positive bias takes the other side: its incoming weights' gradient is then non-zero.
TEST(ModelGradientRelu, KinkFollowsActivateBranch) {
  MlpModel model = make_model({3, 4, 2}, Activation::Relu, LossKind::Mse, 30, 31);
  const std::size_t P = std::size_t(model.parameter_count());
  std::vector<double> theta = random_vector(P, -1.0, 1.0, 32);
  const int kink = 2, in = 3, hidden = 4;
  for (int c = 0; c < in; ++c) theta[std::size_t(kink * in + c)] = 0.0;
  const std::size_t bias = std::size_t(in * hidden + kink);
  theta[bias] = 0.0;
  std::vector<double> losses(1), gradient(P), scratch;
  cpu::mlp_loss_gradient(model, theta.data(), 1, losses.data(), gradient.data(), scratch);
  for (int c = 0; c < in; ++c) EXPECT_EQ(gradient[std::size_t(kink * in + c)], 0.0) << "weight " << c;
  EXPECT_EQ(gradient[bias], 0.0);
  const std::size_t second = std::size_t(in * hidden + hidden);  // W_1 (2 x 4, row-major)
  for (int o = 0; o < 2; ++o) EXPECT_EQ(gradient[second + std::size_t(o * hidden + kink)], 0.0) << "output " << o;
  const std::vector<double> expected = reference_gradient(model, theta);
  EXPECT_LE(max_difference(gradient.data(), expected.data(), P), kDerivativeTolerance * max_abs(expected));
  theta[bias] = 1e-300;  // z = 1e-300 > 0 on every sample: derivative 1
  cpu::mlp_loss_gradient(model, theta.data(), 1, losses.data(), gradient.data(), scratch);
  EXPECT_NE(gradient[bias], 0.0);
}

// The bundled, trained MLP (examples/mlp_moons: 2-16-16-1, tanh, logistic, 200 samples, P = 337): a few columns
// of the full Hessian, in each layer's weights and biases, against hyper-duals (same tolerance and reason as above),
// and the gradient at a well-fitted point.
TEST(ModelGradientBundled, FullHessianColumnsMatchHyperDuals) {
  MlpModel model;
  model.widths = {2, 16, 16, 1};
  model.loss = LossKind::Logistic;
  const std::string dir = std::string(HESSA_SOURCE_DIR) + "/examples/mlp_moons/";
  std::vector<double> rows, theta, part;
  for (auto reader = open_point_reader(dir + "moons.csv"); reader->read(1024, part) > 0;)
    rows.insert(rows.end(), part.begin(), part.end());
  for (auto reader = open_point_reader(dir + "params.npy"); reader->read(1024, part) > 0;)
    theta.insert(theta.end(), part.begin(), part.end());
  ASSERT_EQ(make_dataset(rows, 3, model, &model.data), "");
  const std::size_t P = std::size_t(model.parameter_count());
  ASSERT_EQ(theta.size(), P);
  std::vector<double> H(P * P), gradient(P), scratch;
  double loss = 0.0;
  cpu::mlp_full_hessian(model, theta.data(), &loss, gradient.data(), H.data(), scratch);
  std::vector<double> expected_loss(1);
  cpu::mlp_loss(model, theta.data(), 1, expected_loss.data(), scratch);
  EXPECT_EQ(loss, expected_loss[0]);
  // The gradient is small here (max |g| ~ 1e-4) and the reference's softplus' = 1 - t / (1 + t) - y cancels, with
  // an error of ~eps per sample, not of eps |g|: measured 1.3e-13 of max |g|, so 1e-12.
  const std::vector<double> expected_gradient = reference_gradient(model, theta);
  EXPECT_LE(max_difference(gradient.data(), expected_gradient.data(), P), 1e-12 * max_abs(expected_gradient));
  for (std::size_t j : {std::size_t(5), std::size_t(40), std::size_t(100), std::size_t(310), std::size_t(330), P - 1}) {
    const std::vector<double> expected = reference_hvp(model, theta, unit(P, j).data());
    EXPECT_LE(max_difference(H.data() + j * P, expected.data(), P), kDerivativeTolerance * max_abs(expected))
        << "column " << j;
  }
}

// The CUDA gradient (kernels/model_gradient.cu) against the CPU's at many vectors. Tolerance: both exact up to
// rounding, but cuBLAS sums in another order, nvcc contracts multiply-adds, and CUDA's tanh / exp / erf are not
// glibc's (<= 2 ulps): 1e-11 of max |entry|. Skips without a GPU.
TEST(ModelGradientCuda, AgreesWithTheCpu) {
  std::string why;
  if (!detail::cuda_model_gradient_available(&why)) GTEST_SKIP() << "no usable GPU: " << why;
  for (const Case& c : every_case()) {
    const MlpModel model = case_model(c, 57);
    const std::size_t P = std::size_t(model.parameter_count()), count = 9;
    const std::vector<double> theta = random_vector(count * P, -1.0, 1.0, 41);
    std::vector<double> losses(count), gradients(count * P), gpu_losses(count), gpu_gradients(count * P), scratch;
    cpu::mlp_loss_gradient(model, theta.data(), count, losses.data(), gradients.data(), scratch);
    detail::cuda_mlp_loss_gradient(model, theta.data(), count, gpu_losses.data(), gpu_gradients.data());
    const std::string name = std::string(activation_name(c.activation)) + "/" + loss_name(c.loss);
    EXPECT_LE(max_difference(losses.data(), gpu_losses.data(), count), 1e-13 * max_abs(losses)) << name;
    EXPECT_LE(max_difference(gradients.data(), gpu_gradients.data(), count * P), 1e-11 * max_abs(gradients)) << name;
  }
}

// Backend::hessian_vector_products of a model loss on each backend (the CPU's mlp_loss_hvp over OpenMP; on CUDA the
// R-operator over cuBLAS, model_gradient.cu) against hyper-duals, every activation x loss, on case_model's network
// and on one without a hidden layer: 4 points, 3 directions each, as each point's own (stride r P, and r P + 7:
// padded rows) and one shared set (stride 0); and r = 0 (f and g alone). Tolerance: on the CPU as above
// (kDerivativeTolerance); on CUDA 1e-11 of max |entry|, for the reasons of ModelGradientCuda below.
class ModelHvpOnBackend : public OnBackend {};

TEST_P(ModelHvpOnBackend, HessianVectorProductsMatchHyperDualsEveryCase) {
  const double tolerance = GetParam() == "cpu" ? kDerivativeTolerance : 1e-11;
  for (const Case& c : every_case()) {
    const std::int32_t outputs = c.loss == LossKind::Logistic ? 1 : 3;
    for (const MlpModel& model : {case_model(c, 57), make_model({4, outputs}, c.activation, c.loss, 31, 5u)}) {
      Objective objective;
      objective.model = &model;
      const std::size_t P = std::size_t(model.parameter_count()), count = 4;
      constexpr int r = 3;
      const std::vector<double> points = random_vector(count * P, -1.0, 1.0, 51);
      const std::vector<double> directions = random_vector(count * (r * P + 7), -1.0, 1.0, 52);
      const std::string name = std::string(activation_name(c.activation)) + "/" + loss_name(c.loss) + " " +
                               std::to_string(model.layer_count()) + " layers";
      std::vector<double> losses(count), scratch;
      cpu::mlp_loss(model, points.data(), count, losses.data(), scratch);
      for (const std::size_t stride : {std::size_t(r) * P, std::size_t(r) * P + 7, std::size_t(0)}) {
        for (const int directions_per_point : {r, 0}) {
          std::vector<double> f(count), g(count * P), hv(count * std::size_t(directions_per_point) * P);
          backend_->hessian_vector_products(objective, points.data(), count, directions.data(), stride,
                                            directions_per_point, f.data(), g.data(), hv.data());
          EXPECT_LE(max_difference(f.data(), losses.data(), count), 1e-13 * max_abs(losses)) << name;
          for (std::size_t p = 0; p < count; ++p) {
            const std::vector<double> theta(points.begin() + std::ptrdiff_t(p * P),
                                            points.begin() + std::ptrdiff_t((p + 1) * P));
            const std::vector<double> expected_gradient = reference_gradient(model, theta);
            EXPECT_LE(max_difference(&g[p * P], expected_gradient.data(), P), tolerance * max_abs(expected_gradient))
                << name << " point " << p;
            for (int k = 0; k < directions_per_point; ++k) {
              const std::vector<double> expected =
                  reference_hvp(model, theta, directions.data() + p * stride + std::size_t(k) * P);
              EXPECT_LE(max_difference(&hv[(p * r + std::size_t(k)) * P], expected.data(), P),
                        tolerance * max_abs(expected))
                  << name << " point " << p << " direction " << k << " stride " << stride;
            }
          }
        }
      }
    }
  }
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, ModelHvpOnBackend);

// Fewer points than threads: the threads share a point's blocks of directions instead of taking points. A block is
// one thread's work either way, so the products are the same bits as when the same point is one of many.
TEST(ModelHvpThreads, APointAloneSharesItsBlocksAndGivesTheBitsItHasAmongMany) {
  const MlpModel model = make_model({4, 12, 8, 3}, Activation::Tanh, LossKind::CrossEntropy, 60, 17);
  const std::size_t P = std::size_t(model.parameter_count()), count = 4, r = 150;
  ASSERT_GE(cpu::mlp_hvp_blocks(model, r), 3) << "the directions must span several blocks";
  Objective objective;
  objective.model = &model;
  const std::vector<double> points = random_vector(count * P, -1.0, 1.0, 61);
  const std::vector<double> directions = random_vector(r * P, -1.0, 1.0, 62);  // shared (stride 0)
  auto cpu = make_cpu_backend();
  const int threads = omp_get_max_threads();
  omp_set_num_threads(int(count));  // 4 points for 4 threads: each thread takes points
  std::vector<double> f(count), g(count * P), hv(count * r * P);
  cpu->hessian_vector_products(objective, points.data(), count, directions.data(), 0, int(r), f.data(), g.data(),
                               hv.data());
  for (std::size_t p = 0; p < count; ++p) {  // one point for 4 threads: they share its blocks
    std::vector<double> f1(1), g1(P), hv1(r * P);
    cpu->hessian_vector_products(objective, points.data() + p * P, 1, directions.data(), 0, int(r), f1.data(),
                                 g1.data(), hv1.data());
    EXPECT_EQ(f1[0], f[p]) << p;
    EXPECT_TRUE(std::equal(g1.begin(), g1.end(), g.begin() + std::ptrdiff_t(p * P))) << p;
    EXPECT_TRUE(std::equal(hv1.begin(), hv1.end(), hv.begin() + std::ptrdiff_t(p * r * P))) << p;
  }
  omp_set_num_threads(threads);
}

}  // namespace
}  // namespace hessa::test
