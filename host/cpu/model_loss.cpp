// CPU model loss: an MLP's mean loss at many parameter vectors. Per vector and layer one dgemm over all
// samples (activations column-major, one column per sample: the row-major data set is already X^T), then
// bias + activation (vectorized tanh / sigmoid: vector_math.hpp), then the per-sample loss (detail/mlp.hpp, shared
// with kernels/model_loss.cu).
#include <cblas.h>

#include <algorithm>

#include "cpu/avx2_clone.hpp"
#include "cpu/cpu_stages.hpp"
#include "cpu/vector_math.hpp"
#include "hessa/detail/mlp.hpp"

namespace hessa::cpu {
namespace {

// The activation over a whole layer's outputs: one switch, then a loop the compiler vectorizes.
HESSA_CPU_AVX512_CLONE void activate_all(Activation activation, double* z, std::size_t count) {
  switch (activation) {
    case Activation::Tanh:
#pragma omp simd
      for (std::size_t i = 0; i < count; ++i) z[i] = vector_tanh(z[i]);
      return;
    case Activation::Sigmoid:
#pragma omp simd
      for (std::size_t i = 0; i < count; ++i) z[i] = vector_sigmoid(z[i]);
      return;
    case Activation::Relu:
    case Activation::Gelu: break;
  }
  for (std::size_t i = 0; i < count; ++i) z[i] = detail::activate(activation, z[i]);
}

}  // namespace

void activate_layer(Activation activation, double* z, std::size_t count) { activate_all(activation, z, count); }

void mlp_layer(const MlpModel& model, const double* theta, int l, const double* a, double* z) {
  mlp_preactivation(model, theta, l, a, z);
  const std::size_t count = model.data.samples * std::size_t(model.widths[std::size_t(l) + 1]);
  if (l + 1 < model.layer_count()) activate_all(model.activation, z, count);
}

void mlp_preactivation(const MlpModel& model, const double* theta, int l, const double* a, double* z) {
  const auto m = int(model.data.samples);
  const int in = model.widths[std::size_t(l)], out = model.widths[std::size_t(l) + 1];
  // Z (out x m) = W (out x in) A (in x m); W row-major out x in is column-major in x out, hence Trans.
  cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, out, m, in, 1.0,
              theta + detail::layer_weight_offset(model.widths.data(), l), in, a, in, 0.0, z, out);
  const double* b = theta + detail::layer_bias_offset(model.widths.data(), l);
  for (std::int64_t s = 0; s < m; ++s) {
    double* zs = z + s * out;
    for (int o = 0; o < out; ++o) zs[o] += b[o];
  }
}

double mlp_mean_loss(const MlpModel& model, const double* outputs) {
  const auto m = std::int64_t(model.data.samples);
  const int k = model.outputs();
  double total = 0.0;
  for (std::int64_t s = 0; s < m; ++s) {
    total += detail::sample_loss(model.loss, outputs + s * k, k, model.data.y.data() + s * model.data.targets);
  }
  return total / detail::loss_normalizer(model.loss, m, k);
}

void mlp_loss(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
              std::vector<double>& scratch) {
  const std::int64_t P = model.parameter_count();
  const std::size_t plane = model.data.samples * std::size_t(model.max_width());
  scratch.resize(2 * plane);
  double* activations[2] = {scratch.data(), scratch.data() + plane};
  for (std::size_t v = 0; v < count; ++v) {
    const double* theta = parameters + std::int64_t(v) * P;
    const double* a = model.data.x.data();  // features x samples, column-major
    for (int l = 0; l < model.layer_count(); ++l) {
      mlp_layer(model, theta, l, a, activations[l % 2]);
      a = activations[l % 2];
    }
    losses[v] = mlp_mean_loss(model, a);
  }
}

}  // namespace hessa::cpu
