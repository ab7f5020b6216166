// CUDA Jacobians (Backend::evaluate_jacobians of the CUDA backend): the CPU's two loops (host/cpu/jacobian.cpp)
// as thin grid-stride kernels over the shared detail/jacobian.hpp math, on the backend's stream; programs, points
// and workspaces live in device_buffers reused across chunks.
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "hessa/detail/jacobian.hpp"
#include "hessa/jacobian.hpp"
#include "jacobian.cuh"

namespace hessa {
namespace {

using cuda::grid_blocks;
using cuda::kThreadsPerBlock;

// One thread per (point, output, evaluation). The interpreter's stack lives in local memory: ~1 KiB of doubles,
// ~3.7 KiB of hyper-duals, hence two kernels rather than one that would reserve the larger frame for both.
__global__ void __launch_bounds__(kThreadsPerBlock)
    jacobian_fd_kernel(const detail::ProgramView* __restrict__ programs, int k, JacobianMode mode, double step_scale,
                       const double* __restrict__ points, std::int64_t total, double* __restrict__ values) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t index = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += stride) {
    detail::jacobian_evaluate_fd(programs, k, mode, step_scale, points, index, values);
  }
}

__global__ void __launch_bounds__(kThreadsPerBlock)
    jacobian_dual_kernel(const detail::ProgramView* __restrict__ programs, int k, const double* __restrict__ points,
                         std::int64_t total, double* __restrict__ values, double* __restrict__ derivs) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t index = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; index < total; index += stride) {
    detail::jacobian_evaluate_dual(programs, k, points, index, values, derivs);
  }
}

// One thread per point: f, its k x m block of J, the error estimate and the status.
__global__ void __launch_bounds__(kThreadsPerBlock)
    jacobian_assemble_kernel(JacobianMode mode, int m, int k, double step_scale, const double* __restrict__ points,
                             std::int64_t count, std::int64_t per_point, const double* __restrict__ values,
                             const double* __restrict__ derivs, double* __restrict__ f, double* __restrict__ J,
                             double* __restrict__ error, PointStatus* __restrict__ status) {
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    status[p] = detail::assemble_jacobian_point(mode, m, k, step_scale, points + p * m, values + p * per_point,
                                                derivs != nullptr ? derivs + p * per_point : nullptr, f + p * k,
                                                J + p * k * m, error + p);
  }
}

}  // namespace

namespace cuda {

void Jacobians::compute(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                        const double* points, std::size_t count, JacobianResult& out) {
  const int m = functions[0].dimension();
  const int k = int(functions.size());

  // All k programs in one buffer; views hold device pointers into it. A few hundred bytes each: copied
  // every chunk rather than cached (a later CompiledFunction may reuse a freed program's address).
  std::vector<std::size_t> offsets;
  host_code_.clear();
  for (const CompiledFunction& f : functions) {
    offsets.push_back(host_code_.size());
    host_code_.insert(host_code_.end(), f.code().begin(), f.code().end());
  }
  code_.resize(host_code_.size());
  host_views_.clear();
  for (int i = 0; i < k; ++i) {
    const auto size = std::int32_t(functions[std::size_t(i)].code().size());
    host_views_.push_back({code_.data() + offsets[std::size_t(i)], size, m});
  }
  views_.resize(host_views_.size());
  copy_to_device(code_.data(), host_code_.data(), host_code_.size(), stream_);
  copy_to_device(views_.data(), host_views_.data(), host_views_.size(), stream_);
  points_.resize(count * std::size_t(m));
  copy_to_device(points_.data(), points, points_.size(), stream_);

  const std::int64_t per_point = std::int64_t(k) * detail::jacobian_evals_per_output(mode, m);
  const std::int64_t total = std::int64_t(count) * per_point;
  values_.resize(std::size_t(total));
  if (mode == JacobianMode::Dual) derivs_.resize(std::size_t(total));
  double* derivs = mode == JacobianMode::Dual ? derivs_.data() : nullptr;
  f_.resize(out.f.size());
  J_.resize(out.J.size());
  error_.resize(count);
  status_.resize(count);

  if (mode == JacobianMode::Dual) {
    jacobian_dual_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(views_.data(), k, points_.data(), total,
                                                                               values_.data(), derivs);
    HESSA_CUDA_CHECK_LAUNCH(jacobian_dual_kernel, stream_);
  } else {
    jacobian_fd_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream_>>>(views_.data(), k, mode, step_scale,
                                                                             points_.data(), total, values_.data());
    HESSA_CUDA_CHECK_LAUNCH(jacobian_fd_kernel, stream_);
  }
  jacobian_assemble_kernel<<<grid_blocks(std::int64_t(count)), kThreadsPerBlock, 0, stream_>>>(
      mode, m, k, step_scale, points_.data(), std::int64_t(count), per_point, values_.data(), derivs, f_.data(),
      J_.data(), error_.data(), status_.data());
  HESSA_CUDA_CHECK_LAUNCH(jacobian_assemble_kernel, stream_);

  copy_to_host(out.f.data(), f_.data(), f_.size(), stream_);
  copy_to_host(out.J.data(), J_.data(), J_.size(), stream_);
  copy_to_host(out.error.data(), error_.data(), error_.size(), stream_);
  copy_to_host(out.status.data(), status_.data(), status_.size(), stream_);
  // Also where a fault inside either kernel is reported; the host vectors above are read only after it.
  HESSA_CUDA_TRY(cudaStreamSynchronize(stream_));
}

}  // namespace cuda
}  // namespace hessa
