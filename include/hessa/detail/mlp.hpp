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

// sigma'(z) and sigma''(z) of an activation, for backpropagation (first) and exact Hessian-vector products
// (second). `value` must be activate(a, z): tanh and sigmoid's derivatives are cheapest from it
//   tanh     1 - t^2,                          -2 t (1 - t^2)
//   sigmoid  s (1 - s),                        s (1 - s) (1 - 2 s)
//   relu     1 if z > 0 else 0 (activate's branch, so a kink at z = 0 takes the zero side), 0
//   gelu     Phi(z) + z phi(z),                phi(z) (2 - z^2)      (Phi, phi: the standard normal cdf, pdf)
template <class T>
struct ActivationSlopes {
  T first, second;
};
template <class T>
HESSA_HD inline ActivationSlopes<T> activation_slopes(Activation a, const T& z, const T& value) {
  switch (a) {
    case Activation::Tanh: {
      const T d1 = T(1.0) - value * value;
      return {d1, T(-2.0) * value * d1};
    }
    case Activation::Relu: return {T(real_part(z) > 0.0 ? 1.0 : 0.0), T(0.0)};
    case Activation::Sigmoid: {
      const T d1 = value * (T(1.0) - value);
      return {d1, d1 * (T(1.0) - T(2.0) * value)};
    }
    case Activation::Gelu: break;
  }
  const T phi = T(0.39894228040143267794) * s_exp(T(-0.5) * z * z);  // 1 / sqrt(2 pi)
  const T Phi = T(0.5) * (T(1.0) + s_erf(z * T(0.70710678118654752440)));
  return {Phi + z * phi, phi * (T(2.0) - z * z)};
}
template <class T>
HESSA_HD inline ActivationSlopes<T> activation_slopes(Activation a, const T& z) {
  return activation_slopes(a, z, activate(a, z));
}

// log(1 + e^z) without overflow.
template <class T>
HESSA_HD inline T softplus(const T& z) {
  return s_max(z, T(0.0)) + s_log1p(s_exp(-s_abs(z)));
}

// Loss of one sample. `z` holds the k network outputs of the sample (output j at z[j * stride]: a GPU thread's
// values interleaved with its neighbours'), `y` its targets:
//   mse            sum_j (z_j - y_j)^2          (k targets; the mean divides by m k, as torch.nn.MSELoss)
//   cross_entropy  logsumexp(z) - z_{y_0}       (y_0 a class index in 0..k-1, as torch.nn.CrossEntropyLoss)
//   logistic       softplus(z_0) - y_0 z_0      (one logit, y_0 in [0, 1], as torch.nn.BCEWithLogitsLoss)
template <class T>
HESSA_HD inline T sample_loss(LossKind loss, const T* z, int k, const double* y, int64_t stride = 1) {
  if (loss == LossKind::Mse) {
    T s(0.0);
    for (int j = 0; j < k; ++j) s = s + (z[j * stride] - T(y[j])) * (z[j * stride] - T(y[j]));
    return s;
  }
  if (loss == LossKind::Logistic) return softplus(z[0]) - T(y[0]) * z[0];
  int top = 0;
  for (int j = 1; j < k; ++j) top = real_part(z[j * stride]) > real_part(z[top * stride]) ? j : top;
  T s(0.0);
  for (int j = 0; j < k; ++j) s = s + s_exp(z[j * stride] - z[top * stride]);
  const int label = int(y[0]);
  return z[top * stride] + s_log(s) - z[label * stride];
}

// The logistic function 1 / (1 + e^-z) at z and at -z, both to full relative accuracy (1 - sigma(z) would lose
// it for large z, where a well-fitted classifier's gradients live).
template <class T>
struct SigmoidPair {
  T at_z, at_minus_z;
};
template <class T>
HESSA_HD inline SigmoidPair<T> sigmoid_pair(const T& z) {
  const T t = s_exp(-s_abs(z));
  const T big = T(1.0) / (T(1.0) + t), small = t / (T(1.0) + t);
  return real_part(z) >= 0.0 ? SigmoidPair<T>{big, small} : SigmoidPair<T>{small, big};
}

// g = d sample_loss / dz (k values), the derivative of sample_loss's own formula:
//   mse            2 (z_j - y_j)
//   cross_entropy  softmax(z)_j - [j == y_0]      (softmax with the same max shift as sample_loss)
//   logistic       sigma(z_0) - y_0 = (1 - y_0) sigma(z_0) - y_0 sigma(-z_0)   (no cancellation near y_0)
template <class T>
HESSA_HD inline void sample_loss_gradient(LossKind loss, const T* z, int k, const double* y, T* g) {
  if (loss == LossKind::Mse) {
    for (int j = 0; j < k; ++j) g[j] = T(2.0) * (z[j] - T(y[j]));
    return;
  }
  if (loss == LossKind::Logistic) {
    const SigmoidPair<T> s = sigmoid_pair(z[0]);
    g[0] = T(1.0 - y[0]) * s.at_z - T(y[0]) * s.at_minus_z;
    return;
  }
  int top = 0;
  for (int j = 1; j < k; ++j) top = real_part(z[j]) > real_part(z[top]) ? j : top;
  T sum(0.0);
  for (int j = 0; j < k; ++j) {
    g[j] = s_exp(z[j] - z[top]);
    sum = sum + g[j];
  }
  const T inv = T(1.0) / sum;
  for (int j = 0; j < k; ++j) g[j] = g[j] * inv;
  const int label = int(y[0]);
  g[label] = g[label] - T(1.0);
}

// The Hessian of sample_loss with respect to z, as k numbers c from which sample_loss_hessian_apply forms
// products (so that many directions share one evaluation):
//   mse            c_j = 2                          H = diag(c)
//   logistic       c_0 = sigma(z_0) sigma(-z_0)     H = c_0
//   cross_entropy  c = p = softmax(z)               H = diag(p) - p p^T
template <class T>
HESSA_HD inline void sample_loss_curvature(LossKind loss, const T* z, int k, T* c) {
  if (loss == LossKind::Mse) {
    for (int j = 0; j < k; ++j) c[j] = T(2.0);
    return;
  }
  if (loss == LossKind::Logistic) {
    const SigmoidPair<T> s = sigmoid_pair(z[0]);
    c[0] = s.at_z * s.at_minus_z;
    return;
  }
  int top = 0;
  for (int j = 1; j < k; ++j) top = real_part(z[j]) > real_part(z[top]) ? j : top;
  T sum(0.0);
  for (int j = 0; j < k; ++j) {
    c[j] = s_exp(z[j] - z[top]);
    sum = sum + c[j];
  }
  const T inv = T(1.0) / sum;
  for (int j = 0; j < k; ++j) c[j] = c[j] * inv;
}

// out = scale H v for the curvature c of sample_loss_curvature. `out` may be `v` (in place).
template <class T>
HESSA_HD inline void sample_loss_hessian_apply(LossKind loss, const T* c, int k, const T* v, double scale, T* out) {
  if (loss != LossKind::CrossEntropy) {
    for (int j = 0; j < k; ++j) out[j] = T(scale) * c[j] * v[j];
    return;
  }
  T pv(0.0);
  for (int j = 0; j < k; ++j) pv = pv + c[j] * v[j];
  for (int j = 0; j < k; ++j) out[j] = T(scale) * c[j] * (v[j] - pv);
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
// `scratch` holds 2 max_width values of T, value m at scratch[m * stride]: 1 on the CPU (one contiguous block),
// the number of GPU threads sharing the scratch on the device, so that a warp's accesses are coalesced. The stride
// changes only where values live, never the arithmetic.
template <class T, class Params>
HESSA_HD T mlp_loss_direct(const MlpView& v, const Params& theta, T* scratch, int64_t stride = 1) {
  const int k = v.widths[v.layers];
  T total(0.0);
  for (int64_t s = 0; s < v.samples; ++s) {
    T* current = scratch;
    T* next = scratch + int64_t(v.max_width) * stride;
    for (int c = 0; c < v.features; ++c) current[c * stride] = T(v.x[s * v.features + c]);
    for (int l = 0; l < v.layers; ++l) {
      const int in = v.widths[l], out = v.widths[l + 1];
      const int64_t w = layer_weight_offset(v.widths, l), b = layer_bias_offset(v.widths, l);
      for (int o = 0; o < out; ++o) {
        T z(0.0);
        for (int c = 0; c < in; ++c) z = z + theta(int(w + int64_t(o) * in + c)) * current[c * stride];
        z = z + theta(int(b + o));
        next[o * stride] = l + 1 < v.layers ? activate(v.activation, z) : z;
      }
      T* t = current;
      current = next;
      next = t;
    }
    total = total + sample_loss(v.loss, current, k, v.y + s * v.targets, stride);
  }
  return total / T(loss_normalizer(v.loss, v.samples, k));
}

}  // namespace hessa::detail
