// CUDA model loss: an MLP's mean loss at a batch of parameter vectors, as host/cpu/model_loss.cpp. Per layer one
// strided-batched GEMM over the vectors (the data set broadcast with stride 0), then bias + activation; the
// per-sample losses (detail/mlp.hpp) are summed by one block per vector.
#include <algorithm>
#include <climits>
#include <stdexcept>
#include <string>

#include "cuda_stages.cuh"
#include "hessa/detail/mlp.hpp"
#include "hessa/errors.hpp"

namespace hessa::cuda {
namespace {

constexpr int kLossThreads = 256;  // a power of two: the reduction halves it

// Z of every vector v (d_out x samples, column-major, `plane` = d_out samples apart) += v's bias b_l, then the
// activation on hidden layers (the output layer stays linear, as torch.nn.Linear).
__global__ void __launch_bounds__(kThreadsPerBlock)
    bias_activation_kernel(double* __restrict__ Z, const double* __restrict__ parameters, std::int64_t P,
                           std::int64_t bias_offset, int d_out, std::int64_t plane, std::int64_t total,
                           Activation activation, bool hidden) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t i = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += stride) {
    const std::int64_t v = i / plane;
    const int o = int((i - v * plane) % d_out);
    const double z = Z[i] + parameters[v * P + bias_offset + o];
    Z[i] = hidden ? detail::activate(activation, z) : z;
  }
}

// losses[v] = sum_s sample_loss(z_s, y_s) / loss_normalizer: block v strides over the samples, then a
// shared-memory tree sums the threads' partial sums.
__global__ void __launch_bounds__(kLossThreads)
    loss_kernel(const double* __restrict__ Z, int outputs, std::int64_t samples, const double* __restrict__ y,
                int targets, LossKind loss, double* __restrict__ losses) {
  __shared__ double partial[kLossThreads];
  const std::int64_t v = blockIdx.x;
  const double* z = Z + v * outputs * samples;
  double sum = 0.0;
  for (std::int64_t s = threadIdx.x; s < samples; s += blockDim.x) {
    sum += detail::sample_loss(loss, z + s * outputs, outputs, y + s * targets);
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int half = kLossThreads / 2; half > 0; half /= 2) {
    if (int(threadIdx.x) < half) partial[threadIdx.x] += partial[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) losses[v] = partial[0] / detail::loss_normalizer(loss, samples, outputs);
}

// The widest layer output (widths[1..]): one activation plane per vector holds any layer's Z.
int widest_output(const MlpModel& model) { return *std::max_element(model.widths.begin() + 1, model.widths.end()); }

}  // namespace

MlpLoss::MlpLoss(Resources& resources) : resources_(resources), stream_(resources.stream()) {
  // IEEE FP64 (no fixed-point emulation): the arithmetic of the CPU's dgemm. The device's one handle is MlpLoss's
  // alone to configure so far; a second cuBLAS user would set its own mode before its calls.
  HESSA_CUBLAS_TRY(cublasSetMathMode(resources_.cublas(), CUBLAS_DEFAULT_MATH));
}

std::size_t MlpLoss::bytes_per_vector(const MlpModel& model) {
  return 2 * std::size_t(widest_output(model)) * model.data.samples * sizeof(double);
}

void MlpLoss::upload(const MlpModel& model) {
  const Dataset& d = model.data;
  if (model.widths.size() < 2 || d.features != model.widths.front() || d.targets < model.target_columns() ||
      d.samples == 0 || d.x.size() != d.samples * std::size_t(d.features) ||
      d.y.size() != d.samples * std::size_t(d.targets)) {
    throw std::invalid_argument("MlpLoss: the data set does not fit the model (make_dataset checks it)");
  }
  // cuBLAS takes the GEMM's column count (the samples) as an int.
  if (d.samples > std::size_t(INT_MAX)) {
    throw InputError("the CUDA model loss takes at most " + std::to_string(INT_MAX) + " samples; the data set has " +
                     std::to_string(d.samples));
  }
  x_.resize(d.x.size());
  copy_to_device(x_.data(), d.x.data(), d.x.size(), stream_);
  y_.resize(d.y.size());
  copy_to_device(y_.data(), d.y.data(), d.y.size(), stream_);
}

void MlpLoss::evaluate(const MlpModel& model, const double* parameters, std::size_t count, double* losses) {
  if (count == 0) return;
  if (count > kMaxBatch) throw std::invalid_argument("MlpLoss::evaluate: more vectors than kMaxBatch");
  const int batch = int(count);
  const int m = int(model.data.samples);
  const int layers = model.layer_count();
  const std::int32_t* widths = model.widths.data();
  const std::int64_t P = model.parameter_count();
  const std::size_t plane_capacity = std::size_t(widest_output(model)) * std::size_t(m);
  activations_[0].resize(count * plane_capacity);
  activations_[1].resize(count * plane_capacity);
  const double one = 1.0;
  const double zero = 0.0;
  const double* A = x_.data();  // layer input, d_in x m per vector; the data set is shared (stride 0)
  long long A_stride = 0;
  for (int l = 0; l < layers; ++l) {
    const int d_in = widths[l];
    const int d_out = widths[l + 1];
    double* Z = activations_[l % 2].data();
    const long long plane = (long long)d_out * m;
    // Z (d_out x m) = W_l A, W_l stored row-major d_out x d_in = column-major d_in x d_out (lda = d_in), hence
    // op T; vector v's W_l starts at parameters + v P + weight offset.
    HESSA_CUBLAS_TRY(cublasDgemmStridedBatched(resources_.cublas(), CUBLAS_OP_T, CUBLAS_OP_N, d_out, m, d_in, &one,
                                               parameters + detail::layer_weight_offset(widths, l), d_in, P, A, d_in,
                                               A_stride, &zero, Z, d_out, plane, batch));
    const std::int64_t total = std::int64_t(batch) * plane;
    bias_activation_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(
        Z, parameters, P, detail::layer_bias_offset(widths, l), d_out, plane, total, model.activation, l + 1 < layers);
    HESSA_CUDA_CHECK_LAUNCH(bias_activation_kernel, stream_);
    A = Z;
    A_stride = plane;
  }
  loss_kernel<<<unsigned(batch), kLossThreads, 0, stream_>>>(A, model.outputs(), m, y_.data(), model.data.targets,
                                                             model.loss, losses);
  HESSA_CUDA_CHECK_LAUNCH(loss_kernel, stream_);
}

}  // namespace hessa::cuda
