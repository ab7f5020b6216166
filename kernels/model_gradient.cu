// CUDA backpropagation through the MLP loss at a batch of parameter vectors, as host/cpu/model_gradient.cpp: per
// layer one strided-batched GEMM forward (data set shared, stride 0), then per layer two backward (dW_l = g_l A^T
// straight into the gradients, P apart; W_l^T g_l), with the per-element math of detail/mlp.hpp in thin kernels.
// Then exact Hessian-vector products by the R-operator over that pass (hvp), one direction per vector a call.
// Compiled here, never run: no machine that builds hessa has had a GPU.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "cuda_stages.cuh"
#include "device_select.cuh"
#include "hessa/detail/cuda_model.hpp"
#include "hessa/detail/mlp.hpp"
#include "hessa/errors.hpp"

namespace hessa::cuda {
namespace {

constexpr int kLossThreads = 256;  // a power of two: the reduction halves it

// Z += b_l of its vector, and A = activate(Z) beside it (the backward pass needs both).
__global__ void __launch_bounds__(kThreadsPerBlock)
    bias_activation_keep_kernel(double* __restrict__ Z, double* __restrict__ A, const double* __restrict__ parameters,
                                std::int64_t P, std::int64_t bias_offset, int d_out, std::int64_t plane,
                                std::int64_t total, Activation activation) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t v = i / plane;
    const int o = int((i - v * plane) % d_out);
    const double z = Z[i] + parameters[v * P + bias_offset + o];
    Z[i] = z;
    A[i] = detail::activate(activation, z);
  }
}

// The output layer's Z += b (no activation).
__global__ void __launch_bounds__(kThreadsPerBlock)
    bias_kernel(double* __restrict__ Z, const double* __restrict__ parameters, std::int64_t P, std::int64_t bias_offset,
                int d_out, std::int64_t plane, std::int64_t total) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t v = i / plane;
    Z[i] += parameters[v * P + bias_offset + int((i - v * plane) % d_out)];
  }
}

// Block v: losses[v] = mean sample loss (as model_loss.cu's loss_kernel), and G = d sample_loss / dz / normalizer
// for each of its samples.
__global__ void __launch_bounds__(kLossThreads)
    output_gradient_kernel(const double* __restrict__ Z, double* __restrict__ G, int outputs, std::int64_t samples,
                           const double* __restrict__ y, int targets, LossKind loss, double* __restrict__ losses,
                           double* __restrict__ curvature) {
  __shared__ double partial[kLossThreads];
  const std::int64_t v = blockIdx.x;
  const double* z = Z + v * outputs * samples;
  double* g = G + v * outputs * samples;
  const double inverse = 1.0 / detail::loss_normalizer(loss, samples, outputs);
  double sum = 0.0;
  for (std::int64_t s = threadIdx.x; s < samples; s += blockDim.x) {
    sum += detail::sample_loss(loss, z + s * outputs, outputs, y + s * targets);
    detail::sample_loss_gradient(loss, z + s * outputs, outputs, y + s * targets, g + s * outputs);
    for (int j = 0; j < outputs; ++j) g[s * outputs + j] *= inverse;
    if (curvature != nullptr) {
      detail::sample_loss_curvature(loss, z + s * outputs, outputs, curvature + (v * samples + s) * outputs);
    }
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kLossThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) losses[v] = partial[0] * inverse;
}

// db_l of vector v, row o = sum over samples of G[v][o, s].
__global__ void __launch_bounds__(kThreadsPerBlock)
    bias_gradient_kernel(const double* __restrict__ G, int d_out, std::int64_t samples, std::int64_t count,
                         double* __restrict__ gradients, std::int64_t P, std::int64_t bias_offset) {
  const std::int64_t total = count * d_out;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t v = i / d_out;
    const int o = int(i - v * d_out);
    const double* g = G + v * d_out * samples + o;
    double sum = 0.0;
    for (std::int64_t s = 0; s < samples; ++s) sum += g[s * d_out];
    gradients[v * P + bias_offset + o] = sum;
  }
}

// E (= W^T g, dL/da) *= activation'(z), with a = activate(z) beside it; for the R-operator (d1 and ed2 not null)
// also d1 = activation'(z) and ed2 = E activation''(z), as the CPU's Tape::backward.
__global__ void __launch_bounds__(kThreadsPerBlock)
    activation_backward_kernel(double* __restrict__ E, const double* __restrict__ Z, const double* __restrict__ A,
                               std::int64_t total, Activation activation, double* __restrict__ d1,
                               double* __restrict__ ed2) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const detail::ActivationSlopes<double> slopes = detail::activation_slopes(activation, Z[i], A[i]);
    if (d1 != nullptr) {
      d1[i] = slopes.first;
      ed2[i] = E[i] * slopes.second;
    }
    E[i] *= slopes.first;
  }
}

// R a = activation'(z) (.) R z, elementwise.
__global__ void __launch_bounds__(kThreadsPerBlock)
    multiply_kernel(double* __restrict__ out, const double* __restrict__ a, const double* __restrict__ b,
                    std::int64_t total) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    out[i] = a[i] * b[i];
  }
}

// R g_L = H_loss(z_L) R z_L / normalizer for each (vector, sample) column, in place (detail::sample_loss_hessian_apply
// on the curvature output_gradient_kernel kept).
__global__ void __launch_bounds__(kThreadsPerBlock)
    output_curvature_kernel(double* __restrict__ RZ, const double* __restrict__ curvature, int outputs,
                            std::int64_t columns, LossKind loss, double inverse) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t c = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; c < columns; c += stride) {
    double* v = RZ + c * outputs;
    detail::sample_loss_hessian_apply(loss, curvature + c * outputs, outputs, v, inverse, v);
  }
}

// R g_{l-1} = R e_{l-1} (.) sigma'(z_{l-1}) + e_{l-1} (.) sigma''(z_{l-1}) (.) R z_{l-1}, over R z_{l-1}'s storage.
__global__ void __launch_bounds__(kThreadsPerBlock)
    r_backward_kernel(double* __restrict__ RZ, const double* __restrict__ RE, const double* __restrict__ d1,
                      const double* __restrict__ ed2, std::int64_t total) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    RZ[i] = RE[i] * d1[i] + ed2[i] * RZ[i];
  }
}

}  // namespace

MlpGradient::MlpGradient(Resources& resources) : resources_(resources), stream_(resources.stream()) {
  // IEEE FP64, as MlpLoss (the CPU's dgemm arithmetic).
  HESSA_CUBLAS_TRY(cublasSetMathMode(resources_.cublas(), CUBLAS_DEFAULT_MATH));
}

std::size_t MlpGradient::bytes_per_vector(const MlpModel& model, bool second_order) {
  // Per layer z, a and g (3 widths a sample); second order: sigma'(z), (dL/da) sigma''(z), R z and R a (4 more),
  // the output's curvature and R e (at most max_width).
  std::size_t doubles = 0;
  for (std::size_t l = 1; l < model.widths.size(); ++l)
    doubles += (second_order ? 7 : 3) * std::size_t(model.widths[l]);
  if (second_order) doubles += std::size_t(model.outputs()) + std::size_t(model.max_width());
  return doubles * model.data.samples * sizeof(double);
}

void MlpGradient::upload(const MlpModel& model) {
  const Dataset& d = model.data;
  if (model.widths.size() < 2 || d.features != model.widths.front() || d.targets < model.target_columns() ||
      d.samples == 0 || d.x.size() != d.samples * std::size_t(d.features) ||
      d.y.size() != d.samples * std::size_t(d.targets)) {
    throw std::invalid_argument("MlpGradient: the data set does not fit the model (make_dataset checks it)");
  }
  if (d.samples > std::size_t(INT_MAX)) {
    throw InputError("the CUDA model gradient takes at most " + std::to_string(INT_MAX) +
                     " samples; the data set has " + std::to_string(d.samples));
  }
  x_.resize(d.x.size());
  copy_to_device(x_.data(), d.x.data(), d.x.size(), stream_);
  y_.resize(d.y.size());
  copy_to_device(y_.data(), d.y.data(), d.y.size(), stream_);
}

void MlpGradient::evaluate(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
                           double* gradients, bool second_order) {
  if (count == 0) return;
  if (count > kMaxBatch) throw std::invalid_argument("MlpGradient::evaluate: more vectors than kMaxBatch");
  const int batch = int(count);
  const int m = int(model.data.samples);
  const int layers = model.layer_count();
  const std::int32_t* widths = model.widths.data();
  const std::int64_t P = model.parameter_count();
  cublasHandle_t handle = resources_.cublas();
  const double one = 1.0;
  const double zero = 0.0;
  // Per layer and vector: z, a (hidden layers; the output's a is its z) and g, each d_out x m column-major.
  z_.resize(std::size_t(layers));
  a_.resize(std::size_t(layers));
  g_.resize(std::size_t(layers));
  d1_.resize(std::size_t(layers));
  ed2_.resize(std::size_t(layers));
  for (int l = 0; l < layers; ++l) {
    const std::size_t plane = std::size_t(widths[l + 1]) * std::size_t(m);
    z_[std::size_t(l)].resize(count * plane);
    g_[std::size_t(l)].resize(count * plane);
    if (l + 1 < layers) a_[std::size_t(l)].resize(count * plane);
    if (second_order && l + 1 < layers) {
      d1_[std::size_t(l)].resize(count * plane);
      ed2_[std::size_t(l)].resize(count * plane);
    }
  }
  if (second_order) curvature_.resize(count * std::size_t(model.outputs()) * std::size_t(m));
  second_order_count_ = second_order ? count : 0;
  auto activations = [&](int l) -> const double* {
    return l + 1 < layers ? a_[std::size_t(l)].data() : z_[std::size_t(l)].data();
  };
  // Forward: Z_l = W_l A_{l-1} (W_l row-major d_out x d_in = column-major d_in x d_out, hence op T), + b_l, act.
  for (int l = 0; l < layers; ++l) {
    const int d_in = widths[l], d_out = widths[l + 1];
    const long long plane = (long long)d_out * m;
    const double* A = l == 0 ? x_.data() : activations(l - 1);
    const long long A_stride = l == 0 ? 0 : (long long)d_in * m;
    double* Z = z_[std::size_t(l)].data();
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_T, CUBLAS_OP_N, d_out, m, d_in, &one,
                                               parameters + detail::layer_weight_offset(widths, l), d_in, P, A, d_in,
                                               A_stride, &zero, Z, d_out, plane, batch));
    const std::int64_t total = std::int64_t(batch) * plane;
    const std::int64_t bias = detail::layer_bias_offset(widths, l);
    if (l + 1 < layers) {
      bias_activation_keep_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(
          Z, a_[std::size_t(l)].data(), parameters, P, bias, d_out, plane, total, model.activation);
      HESSA_CUDA_CHECK_LAUNCH(bias_activation_keep_kernel, stream_);
    } else {
      bias_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(Z, parameters, P, bias, d_out, plane, total);
      HESSA_CUDA_CHECK_LAUNCH(bias_kernel, stream_);
    }
  }
  output_gradient_kernel<<<unsigned(batch), kLossThreads, 0, stream_>>>(
      z_.back().data(), g_.back().data(), model.outputs(), m, y_.data(), model.data.targets, model.loss, losses,
      second_order ? curvature_.data() : nullptr);
  HESSA_CUDA_CHECK_LAUNCH(output_gradient_kernel, stream_);
  // Backward: dW_l^T (d_in x d_out, W's storage) = A_{l-1} g_l^T into each vector's gradient; db_l = row sums of
  // g_l; g_{l-1} = (W_l^T g_l) (.) act'(z_{l-1}).
  for (int l = layers - 1; l >= 0; --l) {
    const int d_in = widths[l], d_out = widths[l + 1];
    const long long plane = (long long)d_out * m;
    const double* A = l == 0 ? x_.data() : activations(l - 1);
    const long long A_stride = l == 0 ? 0 : (long long)d_in * m;
    const double* G = g_[std::size_t(l)].data();
    const std::int64_t weight = detail::layer_weight_offset(widths, l);
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_T, d_in, d_out, m, &one, A, d_in,
                                               A_stride, G, d_out, plane, &zero, gradients + weight, d_in, P, batch));
    const std::int64_t rows = std::int64_t(batch) * d_out;
    bias_gradient_kernel<<<grid_blocks(rows), kThreadsPerBlock, 0, stream_>>>(G, d_out, m, batch, gradients, P,
                                                                              detail::layer_bias_offset(widths, l));
    HESSA_CUDA_CHECK_LAUNCH(bias_gradient_kernel, stream_);
    if (l == 0) break;
    double* E = g_[std::size_t(l) - 1].data();
    const long long below = (long long)d_in * m;
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_N, d_in, m, d_out, &one,
                                               parameters + weight, d_in, P, G, d_out, plane, &zero, E, d_in, below,
                                               batch));
    const std::int64_t total = std::int64_t(batch) * below;
    activation_backward_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(
        E, z_[std::size_t(l) - 1].data(), a_[std::size_t(l) - 1].data(), total, model.activation,
        second_order ? d1_[std::size_t(l) - 1].data() : nullptr,
        second_order ? ed2_[std::size_t(l) - 1].data() : nullptr);
    HESSA_CUDA_CHECK_LAUNCH(activation_backward_kernel, stream_);
  }
}

void MlpGradient::hvp(const MlpModel& model, const double* parameters, std::size_t count, const double* directions,
                      std::int64_t directions_stride, double* hv, std::int64_t hv_stride) {
  if (count == 0) return;
  if (count > kMaxBatch) throw std::invalid_argument("MlpGradient::hvp: more vectors than kMaxBatch");
  if (second_order_count_ != count) {
    throw std::logic_error("MlpGradient::hvp without evaluate(second_order = true) at these vectors before it");
  }
  const int batch = int(count);
  const int m = int(model.data.samples);
  const int layers = model.layer_count();
  const std::int32_t* widths = model.widths.data();
  const std::int64_t P = model.parameter_count();
  const long long V = directions_stride;  // each vector's direction (0: shared)
  cublasHandle_t handle = resources_.cublas();
  const double one = 1.0;
  const double zero = 0.0;
  rz_.resize(std::size_t(layers));
  ra_.resize(std::size_t(layers));
  for (int l = 0; l < layers; ++l) {
    const std::size_t plane = std::size_t(widths[l + 1]) * std::size_t(m);
    rz_[std::size_t(l)].resize(count * plane);
    if (l + 1 < layers) ra_[std::size_t(l)].resize(count * plane);
  }
  re_.resize(count * std::size_t(model.max_width()) * std::size_t(m));
  auto input = [&](int l) -> const double* { return l == 0 ? x_.data() : a_[std::size_t(l) - 1].data(); };
  auto input_stride = [&](int l) -> long long { return l == 0 ? 0 : (long long)widths[l] * m; };
  // Forward: R z_l = R W_l a_{l-1} + W_l R a_{l-1} + R b_l, R a_l = sigma'(z_l) (.) R z_l.
  for (int l = 0; l < layers; ++l) {
    const int d_in = widths[l], d_out = widths[l + 1];
    const long long plane = (long long)d_out * m;
    const std::int64_t weight = detail::layer_weight_offset(widths, l);
    double* RZ = rz_[std::size_t(l)].data();
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_T, CUBLAS_OP_N, d_out, m, d_in, &one,
                                               directions + weight, d_in, V, input(l), d_in, input_stride(l), &zero, RZ,
                                               d_out, plane, batch));
    if (l > 0) {
      HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_T, CUBLAS_OP_N, d_out, m, d_in, &one,
                                                 parameters + weight, d_in, P, ra_[std::size_t(l) - 1].data(), d_in,
                                                 (long long)d_in * m, &one, RZ, d_out, plane, batch));
    }
    const std::int64_t total = std::int64_t(batch) * plane;
    bias_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(
        RZ, directions, V, detail::layer_bias_offset(widths, l), d_out, plane, total);
    HESSA_CUDA_CHECK_LAUNCH(bias_kernel, stream_);
    if (l + 1 < layers) {
      multiply_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(ra_[std::size_t(l)].data(),
                                                                            d1_[std::size_t(l)].data(), RZ, total);
      HESSA_CUDA_CHECK_LAUNCH(multiply_kernel, stream_);
    }
  }
  const std::int64_t columns = std::int64_t(batch) * m;
  output_curvature_kernel<<<grid_blocks(columns), kThreadsPerBlock, 0, stream_>>>(
      rz_.back().data(), curvature_.data(), model.outputs(), columns, model.loss,
      1.0 / detail::loss_normalizer(model.loss, m, model.outputs()));
  HESSA_CUDA_CHECK_LAUNCH(output_curvature_kernel, stream_);
  // Backward: R dW_l = R g_l a_{l-1}^T + g_l R a_{l-1}^T (transposed, W's storage), R db_l = row sums of R g_l,
  // R e_{l-1} = W_l^T R g_l + R W_l^T g_l, R g_{l-1} = R e_{l-1} (.) sigma' + e_{l-1} sigma'' (.) R z_{l-1}.
  for (int l = layers - 1; l >= 0; --l) {
    const int d_in = widths[l], d_out = widths[l + 1];
    const long long plane = (long long)d_out * m;
    const std::int64_t weight = detail::layer_weight_offset(widths, l);
    const double* RG = rz_[std::size_t(l)].data();
    const double* G = g_[std::size_t(l)].data();
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_T, d_in, d_out, m, &one, input(l), d_in,
                                               input_stride(l), RG, d_out, plane, &zero, hv + weight, d_in, hv_stride,
                                               batch));
    if (l > 0) {
      HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_T, d_in, d_out, m, &one,
                                                 ra_[std::size_t(l) - 1].data(), d_in, (long long)d_in * m, G, d_out,
                                                 plane, &one, hv + weight, d_in, hv_stride, batch));
    }
    const std::int64_t rows = std::int64_t(batch) * d_out;
    bias_gradient_kernel<<<grid_blocks(rows), kThreadsPerBlock, 0, stream_>>>(RG, d_out, m, batch, hv, hv_stride,
                                                                              detail::layer_bias_offset(widths, l));
    HESSA_CUDA_CHECK_LAUNCH(bias_gradient_kernel, stream_);
    if (l == 0) break;
    const long long below = (long long)d_in * m;
    double* RE = re_.data();
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_N, d_in, m, d_out, &one,
                                               parameters + weight, d_in, P, RG, d_out, plane, &zero, RE, d_in, below,
                                               batch));
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(handle, CUBLAS_OP_N, CUBLAS_OP_N, d_in, m, d_out, &one,
                                               directions + weight, d_in, V, G, d_out, plane, &one, RE, d_in, below,
                                               batch));
    const std::int64_t total = std::int64_t(batch) * below;
    r_backward_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(
        rz_[std::size_t(l) - 1].data(), RE, d1_[std::size_t(l) - 1].data(), ed2_[std::size_t(l) - 1].data(), total);
    HESSA_CUDA_CHECK_LAUNCH(r_backward_kernel, stream_);
  }
}

void MlpGradient::hessian_vector_products(const MlpModel& model, const double* points, std::size_t count,
                                          const double* directions, std::size_t directions_stride, int r, double* f,
                                          double* g, double* hv) {
  if (count == 0) return;
  upload(model);
  const std::size_t P = std::size_t(model.parameter_count());
  const std::size_t rP = std::size_t(r) * P;
  const bool shared = directions_stride == 0;
  // Per vector: the pass's arrays (the R-operator's only when there are directions), theta, f, g, its directions
  // (unless shared) and its r products.
  const std::size_t per_vector = bytes_per_vector(model, r > 0) + sizeof(double) * (2 * P + 1 + (shared ? 0 : rP) + rP);
  std::size_t free = 0, total = 0;
  HESSA_CUDA_TRY(cudaMemGetInfo(&free, &total));
  const std::size_t fit = free / 2 / std::max<std::size_t>(per_vector, 1);
  if (fit == 0) {
    throw InputError("one parameter vector's Hessian-vector products need " + std::to_string(per_vector >> 20) +
                     " MiB of device memory; half the free memory is " + std::to_string(free / 2 >> 20) +
                     " MiB: use --backend cpu");
  }
  const std::size_t batch = std::min({kMaxBatch, count, fit});
  theta_.resize(batch * P);
  losses_.resize(batch);
  gradients_.resize(batch * P);
  products_.resize(std::max<std::size_t>(batch * rP, 1));
  directions_.resize(std::max<std::size_t>(shared ? rP : batch * rP, 1));
  if (shared) copy_to_device(directions_.data(), directions, rP, stream_);
  for (std::size_t first = 0; first < count; first += batch) {
    const std::size_t n = std::min(batch, count - first);
    copy_to_device(theta_.data(), points + first * P, n * P, stream_);
    if (directions_stride == rP) {
      copy_to_device(directions_.data(), directions + first * rP, n * rP, stream_);
    } else if (!shared) {
      // Each point's r directions, directions_stride apart on the host, packed r P apart here.
      for (std::size_t v = 0; v < n; ++v) {
        copy_to_device(directions_.data() + v * rP, directions + (first + v) * directions_stride, rP, stream_);
      }
    }
    evaluate(model, theta_.data(), n, losses_.data(), gradients_.data(), r > 0);
    for (int k = 0; k < r; ++k) {
      hvp(model, theta_.data(), n, directions_.data() + std::size_t(k) * P, shared ? 0 : std::int64_t(rP),
          products_.data() + std::size_t(k) * P, std::int64_t(rP));
    }
    copy_to_host(f + first, losses_.data(), n, stream_);
    copy_to_host(g + first * P, gradients_.data(), n * P, stream_);
    copy_to_host(hv + first * rP, products_.data(), n * rP, stream_);
    // The host buffers are the caller's, and the next batch reuses the device ones: wait before either.
    HESSA_CUDA_TRY(cudaStreamSynchronize(stream_));
  }
}

}  // namespace hessa::cuda

namespace hessa::detail {

bool cuda_model_gradient_available(std::string* why) {
  int device_count = 0;
  const cudaError_t status = cudaGetDeviceCount(&device_count);
  if (status != cudaSuccess || device_count == 0) {
    (void)cudaGetLastError();
    if (why != nullptr) {
      *why = status != cudaSuccess ? std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(status)
                                   : std::string("cudaGetDeviceCount found no CUDA device");
    }
    return false;
  }
  return true;
}

void cuda_mlp_loss_gradient(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
                            double* gradients) {
  int device_count = 0;
  HESSA_CUDA_TRY(cudaGetDeviceCount(&device_count));
  cuda::Resources resources(cuda::device_from_env(device_count));
  cuda::MlpGradient gradient(resources);
  gradient.upload(model);
  const std::size_t P = std::size_t(model.parameter_count());
  cuda::device_buffer<double> theta, values, grads;
  for (std::size_t first = 0; first < count; first += cuda::MlpGradient::kMaxBatch) {
    const std::size_t n = std::min(cuda::MlpGradient::kMaxBatch, count - first);
    theta.resize(n * P);
    values.resize(n);
    grads.resize(n * P);
    cuda::copy_to_device(theta.data(), parameters + first * P, n * P, resources.stream());
    gradient.evaluate(model, theta.data(), n, values.data(), grads.data());
    cuda::copy_to_host(losses + first, values.data(), n, resources.stream());
    cuda::copy_to_host(gradients + first * P, grads.data(), n * P, resources.stream());
    HESSA_CUDA_TRY(cudaStreamSynchronize(resources.stream()));
  }
}

}  // namespace hessa::detail
