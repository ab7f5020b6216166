// Which GPU the CUDA backend uses: HESSA_CUDA_DEVICE=k (default 0), made current before anything is created on it.
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <string>

#include "cuda_check.cuh"
#include "hessa/errors.hpp"

namespace hessa::cuda {

// HESSA_CUDA_DEVICE=k picks device k (default 0); a bad value is the user's to fix (InputError).
inline int device_from_env(int device_count) {
  const char* value = std::getenv("HESSA_CUDA_DEVICE");
  if (value == nullptr || *value == '\0') return 0;
  char* end = nullptr;
  const long device = std::strtol(value, &end, 10);
  if (end == value || *end != '\0' || device < 0 || device >= device_count) {
    throw InputError(std::string("HESSA_CUDA_DEVICE=") + value + ": expected a device number from 0 to " +
                     std::to_string(device_count - 1));
  }
  return int(device);
}

// Makes the device current for the calling thread. The first member of cuda::Resources, so that its stream,
// handles and buffers are created on it; call make_current() again in entry points, which the pipeline
// may call from another thread than the one that constructed the backend.
struct CurrentDevice {
  explicit CurrentDevice(int device) : id(device) { HESSA_CUDA_TRY(cudaSetDevice(device)); }
  void make_current() const { HESSA_CUDA_TRY(cudaSetDevice(id)); }
  int id;
};

}  // namespace hessa::cuda
