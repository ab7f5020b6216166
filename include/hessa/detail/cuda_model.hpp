// Host entry points to the CUDA model-loss gradient (kernels/model_gradient.cu), in host types only, for the CPU/CUDA
// parity tests and callers without a Backend. In a build without CUDA (host/backend/cuda_not_built.cpp) the gradient
// is unavailable and cuda_mlp_loss_gradient throws DeviceError.
#pragma once

#include <cstddef>
#include <string>

#include "hessa/model.hpp"

namespace hessa::detail {

// Whether this build has the CUDA backend and a usable GPU; `why` (may be null) says why not.
bool cuda_model_gradient_available(std::string* why);

// cpu::mlp_loss_gradient on the first usable GPU, host memory in and out: losses (count) and gradients (count x P,
// row-major) at `count` parameter vectors (count x P, row-major). Synchronizes.
void cuda_mlp_loss_gradient(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
                            double* gradients);

}  // namespace hessa::detail
