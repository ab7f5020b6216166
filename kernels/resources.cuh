// One cuda::Resources per device, as RAFT's `resources`: the device, the one stream every stage enqueues on, the
// cuSOLVER and cuBLAS handles bound to that stream (created on first use: an expression never needs cuBLAS) and a
// reusable device workspace. The backend owns it; its stages hold it by reference instead of private handles.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <optional>

#include "cuda_check.cuh"
#include "device_buffer.cuh"
#include "device_select.cuh"

namespace hessa::cuda {

class Resources {
 public:
  // Makes `device` current and creates the stream on it.
  explicit Resources(int device) : device_(device) {}
  Resources(const Resources&) = delete;
  Resources& operator=(const Resources&) = delete;

  int device() const { return device_.id; }
  // For entry points, which the pipeline may call from another thread than the one that made the backend.
  void make_current() const { device_.make_current(); }
  cudaStream_t stream() const { return stream_.get(); }

  cusolverDnHandle_t cusolver() {
    if (!cusolver_) {
      cusolver_.emplace();
      HESSA_CUSOLVER_TRY(cusolverDnSetStream(cusolver_->get(), stream()));
    }
    return cusolver_->get();
  }

  cublasHandle_t cublas() {
    if (!cublas_) {
      cublas_.emplace();
      HESSA_CUBLAS_TRY(cublasSetStream(cublas_->get(), stream()));
    }
    return cublas_->get();
  }

  // At least `bytes` of device scratch, valid until the next call: for a stage's library workspace, used between
  // two calls and dead after its last enqueued use (one stream orders the stages; cudaFree, when it grows, waits).
  // Doubles, so that it is aligned for any routine. Only grows.
  void* workspace(std::size_t bytes) {
    workspace_.resize((bytes + sizeof(double) - 1) / sizeof(double));
    return workspace_.data();
  }
  // Device bytes the workspace holds now: a larger one replaces them (it is freed before it grows).
  std::size_t workspace_bytes() const { return workspace_.capacity() * sizeof(double); }

 private:
  // Declaration order is construction order: the device first; destruction runs the other way, so the handles
  // and the workspace go before the stream they are bound to.
  CurrentDevice device_;
  CudaStream stream_;
  std::optional<CusolverHandle> cusolver_;
  std::optional<CublasHandle> cublas_;
  device_buffer<double> workspace_;
};

}  // namespace hessa::cuda
