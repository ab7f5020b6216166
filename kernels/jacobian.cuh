// The CUDA backend's Jacobian stage (jacobian.cu): evaluate every (point, output, evaluation), then assemble f, J
// and the error estimate per point, as host/cpu/jacobian.cpp does on the CPU.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <vector>

#include "cuda_stages.cuh"
#include "device_buffer.cuh"
#include "hessa/detail/bytecode.hpp"
#include "hessa/jacobian.hpp"
#include "resources.cuh"

namespace hessa::cuda {

// Programs, points and workspaces persist across chunks (buffers only grow).
class Jacobians {
 public:
  explicit Jacobians(Resources& resources) : stream_(resources.stream()) {}

  // Backend::evaluate_jacobians: `functions` checked and `out` resized by the caller, count >= 1. Synchronizes:
  // `out` is complete when this returns.
  void compute(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
               const double* points, std::size_t count, JacobianResult& out);

 private:
  cudaStream_t stream_;
  std::vector<detail::Instruction> host_code_;
  std::vector<detail::ProgramView> host_views_;
  device_buffer<detail::Instruction> code_;
  device_buffer<detail::ProgramView> views_;
  device_buffer<double> points_, values_, derivs_, f_, J_, error_;
  device_buffer<PointStatus> status_;
};

}  // namespace hessa::cuda
