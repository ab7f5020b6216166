// Status checks for CUDA runtime, cuSOLVER and cuBLAS calls: a failed call throws hessa::DeviceError
// naming the call text, the status (name and description), file and line. Kernels/ only.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

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

}  // namespace hessa::cuda

#define HESSA_CUDA_TRY(call) ::hessa::cuda::check_cuda((call), #call, __FILE__, __LINE__)
#define HESSA_CUSOLVER_TRY(call) ::hessa::cuda::check_cusolver((call), #call, __FILE__, __LINE__)
#define HESSA_CUBLAS_TRY(call) ::hessa::cuda::check_cublas((call), #call, __FILE__, __LINE__)
// After a <<<...>>> launch: a bad configuration shows up here; faults inside the kernel surface at the
// next synchronizing call (analyze() ends with one), which is checked as well.
#define HESSA_CUDA_CHECK_LAUNCH() ::hessa::cuda::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
