// Per-element math of the MLP loss, shared by the CPU (BLAS) and CUDA (cuBLAS) evaluators: activations, the
// per-sample loss, and the flat parameter layout. A layer's pre-activations for all samples are one GEMM
// Z = W A (column-major d_out x m, one column per sample); this file supplies what comes around the GEMMs.
#pragma once

#include <math.h>
#include <stdint.h>

#include "hessa/detail/scalar_math.hpp"
#include "hessa/hd.hpp"
#include "hessa/types.hpp"

namespace hessa::detail {

// Templated on the scalar (double, or HyperDual for exact derivatives: detail/hyper_dual.hpp); branches follow
// the real part, as the interpreter's do.
template <class T>
HESSA_HD inline T activate(Activation a, const T& z) {
  switch (a) {
    case Activation::Tanh: return s_tanh(z);
    case Activation::Relu: return real_part(z) > 0.0 ? z : T(0.0);
    case Activation::Sigmoid: return T(1.0) / (T(1.0) + s_exp(-z));
    case Activation::Gelu: break;
  }
  return T(0.5) * z * (T(1.0) + s_erf(z * T(0.70710678118654752440)));  // exact GELU, PyTorch's default
}

// log(1 + e^z) without overflow.
template <class T>
HESSA_HD inline T softplus(const T& z) {
  return s_max(z, T(0.0)) + s_log1p(s_exp(-s_abs(z)));
}

// Loss of one sample. `z` holds the k network outputs of the sample, `y` its targets:
//   mse            sum_j (z_j - y_j)^2          (k targets; the mean divides by m k, as torch.nn.MSELoss)
//   cross_entropy  logsumexp(z) - z_{y_0}       (y_0 a class index in 0..k-1, as torch.nn.CrossEntropyLoss)
//   logistic       softplus(z_0) - y_0 z_0      (one logit, y_0 in [0, 1], as torch.nn.BCEWithLogitsLoss)
template <class T>
HESSA_HD inline T sample_loss(LossKind loss, const T* z, int k, const double* y) {
  if (loss == LossKind::Mse) {
    T s(0.0);
    for (int j = 0; j < k; ++j) s = s + (z[j] - T(y[j])) * (z[j] - T(y[j]));
    return s;
  }
  if (loss == LossKind::Logistic) return softplus(z[0]) - T(y[0]) * z[0];
  int top = 0;
  for (int j = 1; j < k; ++j) top = real_part(z[j]) > real_part(z[top]) ? j : top;
  T s(0.0);
  for (int j = 0; j < k; ++j) s = s + s_exp(z[j] - z[top]);
  const int label = int(y[0]);
  return z[top] + s_log(s) - z[label];
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

// What the direct forward pass reads: the model and its data set (row-major samples), in memory the caller can
// address (host memory, or device copies in a kernel).
struct MlpView {
  const int32_t* widths;
  int32_t layers;
  Activation activation;
  LossKind loss;
  const double* x;
  const double* y;
  int64_t samples;
  int32_t features;
  int32_t targets;
  int32_t max_width;
};

// The mean loss at the parameters read through `theta` (theta(k) -> T), one sample at a time with plain loops:
// the exact path, with T = HyperDual seeded by the caller (the BLAS / cuBLAS paths are for doubles).
// `scratch` holds 2 max_width values of T.
template <class T, class Params>
HESSA_HD T mlp_loss_direct(const MlpView& v, const Params& theta, T* scratch) {
  const int k = v.widths[v.layers];
  T total(0.0);
  for (int64_t s = 0; s < v.samples; ++s) {
    T* current = scratch;
    T* next = scratch + v.max_width;
    for (int c = 0; c < v.features; ++c) current[c] = T(v.x[s * v.features + c]);
    for (int l = 0; l < v.layers; ++l) {
      const int in = v.widths[l], out = v.widths[l + 1];
      const int64_t w = layer_weight_offset(v.widths, l), b = layer_bias_offset(v.widths, l);
      for (int o = 0; o < out; ++o) {
        T z(0.0);
        for (int c = 0; c < in; ++c) z = z + theta(int(w + int64_t(o) * in + c)) * current[c];
        z = z + theta(int(b + o));
        next[o] = l + 1 < v.layers ? activate(v.activation, z) : z;
      }
      T* t = current;
      current = next;
      next = t;
    }
    total = total + sample_loss(v.loss, current, k, v.y + s * v.targets);
  }
  return total / T(loss_normalizer(v.loss, v.samples, k));
}

}  // namespace hessa::detail
