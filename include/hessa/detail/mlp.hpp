// Per-element math of the MLP loss, shared by the CPU (BLAS) and CUDA (cuBLAS) evaluators: activations, the
// per-sample loss, and the flat parameter layout. A layer's pre-activations for all samples are one GEMM
// Z = W A (column-major d_out x m, one column per sample); this file supplies what comes around the GEMMs.
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

enum class Activation : int32_t { Tanh = 0, Relu = 1, Sigmoid = 2, Gelu = 3 };
enum class LossKind : int32_t { Mse = 0, CrossEntropy = 1, Logistic = 2 };

HESSA_HD inline double activate(Activation a, double z) {
  switch (a) {
    case Activation::Tanh: return tanh(z);
    case Activation::Relu: return z > 0.0 ? z : 0.0;
    case Activation::Sigmoid: return 1.0 / (1.0 + exp(-z));
    case Activation::Gelu: break;
  }
  return 0.5 * z * (1.0 + erf(z * 0.70710678118654752440));  // exact GELU, PyTorch's default
}

// log(1 + e^z) without overflow.
HESSA_HD inline double softplus(double z) { return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z))); }

// Loss of one sample. `z` holds the k network outputs of the sample, `y` its targets:
//   mse            sum_j (z_j - y_j)^2          (k targets; the mean divides by m k, as torch.nn.MSELoss)
//   cross_entropy  logsumexp(z) - z_{y_0}       (y_0 a class index in 0..k-1, as torch.nn.CrossEntropyLoss)
//   logistic       softplus(z_0) - y_0 z_0      (one logit, y_0 in [0, 1], as torch.nn.BCEWithLogitsLoss)
HESSA_HD inline double sample_loss(LossKind loss, const double* z, int k, const double* y) {
  if (loss == LossKind::Mse) {
    double s = 0.0;
    for (int j = 0; j < k; ++j) s += (z[j] - y[j]) * (z[j] - y[j]);
    return s;
  }
  if (loss == LossKind::Logistic) return softplus(z[0]) - y[0] * z[0];
  double zmax = z[0];
  for (int j = 1; j < k; ++j) zmax = z[j] > zmax ? z[j] : zmax;
  double s = 0.0;
  for (int j = 0; j < k; ++j) s += exp(z[j] - zmax);
  const int label = int(y[0]);
  return zmax + log(s) - z[label];
}

// The divisor that turns the sum of sample losses into the mean: m k for mse, m otherwise.
HESSA_HD inline double loss_normalizer(LossKind loss, int64_t samples, int outputs) {
  return loss == LossKind::Mse ? double(samples) * double(outputs) : double(samples);
}

// Flat parameter layout (documented in README.md, "Model losses"): for each layer l = 0..L-1 mapping
// widths[l] -> widths[l+1], its weight W_l as torch.nn.Linear stores it (widths[l+1] x widths[l], row-major,
// i.e. column-major widths[l] x widths[l+1]), then its bias b_l (widths[l+1]). Offsets of layer l:
HESSA_HD inline int64_t layer_weight_offset(const int32_t* widths, int layer) {
  int64_t offset = 0;
  for (int l = 0; l < layer; ++l) offset += int64_t(widths[l]) * widths[l + 1] + widths[l + 1];
  return offset;
}
HESSA_HD inline int64_t layer_bias_offset(const int32_t* widths, int layer) {
  return layer_weight_offset(widths, layer) + int64_t(widths[layer]) * widths[layer + 1];
}

}  // namespace hessa::detail
