// Status checks for CUDA runtime, cuSOLVER and cuBLAS calls: a failed call throws hessa::DeviceError
// naming the call text, the status (name and description), file and line. Kernels/ only.
// A failure turned into an exception also clears the runtime's last error, so that the next checked call does not
// report a stale one. HESSA_CUDA_SYNC=1 (or a build without NDEBUG) makes every launch check synchronize, so that a
// fault inside a kernel names its own launch instead of surfacing at the chunk's one cudaStreamSynchronize.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "hessa/errors.hpp"

namespace hessa::cuda {

// cuSOLVER has no status-to-string function; these are the names from cusolver_common.h.
inline const char* cusolver_status_name(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_SUCCESS: return "CUSOLVER_STATUS_SUCCESS";
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "CUSOLVER_STATUS_NOT_INITIALIZED";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "CUSOLVER_STATUS_ALLOC_FAILED";
    case CUSOLVER_STATUS_INVALID_VALUE: return "CUSOLVER_STATUS_INVALID_VALUE";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "CUSOLVER_STATUS_ARCH_MISMATCH";
    case CUSOLVER_STATUS_MAPPING_ERROR: return "CUSOLVER_STATUS_MAPPING_ERROR";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "CUSOLVER_STATUS_EXECUTION_FAILED";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "CUSOLVER_STATUS_INTERNAL_ERROR";
    case CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED: return "CUSOLVER_STATUS_MATRIX_TYPE_NOT_SUPPORTED";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "CUSOLVER_STATUS_NOT_SUPPORTED";
    case CUSOLVER_STATUS_ZERO_PIVOT: return "CUSOLVER_STATUS_ZERO_PIVOT";
    case CUSOLVER_STATUS_INVALID_LICENSE: return "CUSOLVER_STATUS_INVALID_LICENSE";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "CUSOLVER_STATUS_INVALID_WORKSPACE";
    default: return "CUSOLVER_STATUS_(other)";
  }
}

// Why the likely statuses happen, so a user reading the message can act on it.
inline const char* cusolver_status_hint(cusolverStatus_t status) {
  switch (status) {
    case CUSOLVER_STATUS_NOT_INITIALIZED: return "the cuSOLVER library or its handle was not initialized";
    case CUSOLVER_STATUS_ALLOC_FAILED: return "cuSOLVER could not allocate memory";
    case CUSOLVER_STATUS_INVALID_VALUE: return "an argument was invalid (size, leading dimension, batch)";
    case CUSOLVER_STATUS_ARCH_MISMATCH: return "the GPU lacks a feature this routine needs";
    case CUSOLVER_STATUS_EXECUTION_FAILED: return "a cuSOLVER kernel failed to launch or run";
    case CUSOLVER_STATUS_INTERNAL_ERROR: return "an internal cuSOLVER operation failed";
    case CUSOLVER_STATUS_NOT_SUPPORTED: return "this routine or parameter combination is not supported";
    case CUSOLVER_STATUS_INVALID_WORKSPACE: return "the workspace given was too small or misaligned";
    default: return "see cusolver_common.h";
  }
}

[[noreturn]] inline void throw_device_error(const char* call, const std::string& status, const char* file, int line) {
  // A non-sticky error stays "last" until read: read it here, or the next HESSA_CUDA_CHECK_LAUNCH would report
  // this failure again as its own. (A sticky error, a kernel fault, persists in the context regardless.)
  (void)cudaGetLastError();
  throw DeviceError(std::string(file) + ":" + std::to_string(line) + ": " + call + " failed: " + status);
}

inline void check_cuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) {
    throw_device_error(call, std::string(cudaGetErrorName(status)) + " (" + cudaGetErrorString(status) + ")", file,
                       line);
  }
}

inline void check_cusolver(cusolverStatus_t status, const char* call, const char* file, int line) {
  if (status != CUSOLVER_STATUS_SUCCESS) {
    throw_device_error(call,
                       std::string(cusolver_status_name(status)) + " = " + std::to_string(int(status)) + " (" +
                           cusolver_status_hint(status) + ")",
                       file, line);
  }
}

inline void check_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw_device_error(call, std::string(cublasGetStatusName(status)) + " (" + cublasGetStatusString(status) + ")",
                       file, line);
  }
}

// Whether launch checks synchronize: HESSA_CUDA_SYNC=1 in the environment (read once), or always in a build
// without NDEBUG. Off by default in release builds because a synchronization per launch serializes the host with
// the GPU.
inline bool sync_launch_checks() {
#ifndef NDEBUG
  return true;
#else
  static const bool on = [] {
    const char* value = std::getenv("HESSA_CUDA_SYNC");
    return value != nullptr && std::strcmp(value, "1") == 0;
  }();
  return on;
#endif
}

// After a <<<...>>> launch of `kernel` on `stream`: a bad configuration shows up at once; a fault inside the kernel
// here too when sync_launch_checks(), else at the next synchronizing call (which is checked as well).
inline void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  const cudaError_t launched = cudaGetLastError();
  if (launched != cudaSuccess) check_cuda(launched, (std::string("launch of ") + kernel).c_str(), file, line);
  if (sync_launch_checks()) {
    const cudaError_t ran = cudaStreamSynchronize(stream);
    if (ran != cudaSuccess) check_cuda(ran, (std::string(kernel) + " (HESSA_CUDA_SYNC)").c_str(), file, line);
  }
}

}  // namespace hessa::cuda

#define HESSA_CUDA_TRY(call) ::hessa::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define HESSA_CUSOLVER_TRY(call) ::hessa::cuda::check_cusolver((call), #call, __FILE__, __LINE__)
#define HESSA_CUBLAS_TRY(call) ::hessa::cuda::check_cublas((call), #call, __FILE__, __LINE__)
// After `kernel<<<..., stream>>>(...)`: HESSA_CUDA_CHECK_LAUNCH(kernel, stream); see check_launch.
#define HESSA_CUDA_CHECK_LAUNCH(kernel, stream) ::hessa::cuda::check_launch(#kernel, (stream), __FILE__, __LINE__)
