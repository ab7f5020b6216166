// RAII owners of device resources: device_buffer<T> (device memory) and handles for a CUDA stream, a
// cuSOLVER context, syevj parameters, 64-bit-API parameters and a cuBLAS context. The only place
// cudaMalloc/cudaFree appear.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cusolverDn.h>

#include <cstddef>
#include <type_traits>
#include <utility>

#include "cuda_check.cuh"

namespace hessa::cuda {

// Typed, sized device memory. Movable, not copyable. resize() keeps the allocation when it is big enough,
// so per-chunk workspaces are allocated once per job and reused by every later chunk of that size or less.
template <class T>
class device_buffer {
  static_assert(std::is_trivially_copyable_v<T>, "device memory holds only trivially copyable types");

 public:
  device_buffer() = default;
  explicit device_buffer(std::size_t count) { resize(count); }
  ~device_buffer() { release(); }

  device_buffer(const device_buffer&) = delete;
  device_buffer& operator=(const device_buffer&) = delete;
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)),
        size_(std::exchange(other.size_, 0)),
        capacity_(std::exchange(other.capacity_, 0)) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    if (this != &other) {
      release();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
  }

  // Makes room for `count` elements. Contents are not preserved when the buffer grows (workspaces only).
  void resize(std::size_t count) {
    if (count > capacity_) {
      release();
      void* p = nullptr;
      HESSA_CUDA_TRY(cudaMalloc(&p, count * sizeof(T)));
      data_ = static_cast<T*>(p);
      capacity_ = count;
    }
    size_ = count;
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return capacity_; }
  std::size_t bytes() const { return size_ * sizeof(T); }

 private:
  void release() noexcept {
    // A destructor cannot throw; cudaFree fails only when the context is already broken, which the
    // next checked call reports.
    if (data_ != nullptr) (void)cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
  }

  T* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

// Host -> device and device -> host copies of `count` elements on `stream` (no-ops for count == 0).
template <class T>
void copy_to_device(T* device, const T* host, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  HESSA_CUDA_TRY(cudaMemcpyAsync(device, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
}

template <class T>
void copy_to_host(T* host, const T* device, std::size_t count, cudaStream_t stream) {
  if (count == 0) return;
  HESSA_CUDA_TRY(cudaMemcpyAsync(host, device, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
}

// One owner for each opaque handle type: made by Traits::create (checked), released by Traits::destroy
// (status ignored, as for cudaFree above). Movable, not copyable.
template <class Handle, class Traits>
class UniqueHandle {
 public:
  UniqueHandle() { Traits::create(&handle_); }
  ~UniqueHandle() { reset(); }
  UniqueHandle(const UniqueHandle&) = delete;
  UniqueHandle& operator=(const UniqueHandle&) = delete;
  UniqueHandle(UniqueHandle&& other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  UniqueHandle& operator=(UniqueHandle&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  Handle get() const { return handle_; }

 private:
  void reset() noexcept {
    if (handle_ != Handle{}) Traits::destroy(handle_);
    handle_ = Handle{};
  }
  Handle handle_{};
};

struct StreamTraits {
  // Non-blocking: our work must not serialize against the legacy default stream of other libraries.
  static void create(cudaStream_t* s) { HESSA_CUDA_TRY(cudaStreamCreateWithFlags(s, cudaStreamNonBlocking)); }
  static void destroy(cudaStream_t s) noexcept { (void)cudaStreamDestroy(s); }
};
struct CusolverHandleTraits {
  static void create(cusolverDnHandle_t* h) { HESSA_CUSOLVER_TRY(cusolverDnCreate(h)); }
  static void destroy(cusolverDnHandle_t h) noexcept { (void)cusolverDnDestroy(h); }
};
struct SyevjInfoTraits {
  static void create(syevjInfo_t* p) { HESSA_CUSOLVER_TRY(cusolverDnCreateSyevjInfo(p)); }
  static void destroy(syevjInfo_t p) noexcept { (void)cusolverDnDestroySyevjInfo(p); }
};
struct CusolverParamsTraits {
  static void create(cusolverDnParams_t* p) { HESSA_CUSOLVER_TRY(cusolverDnCreateParams(p)); }
  static void destroy(cusolverDnParams_t p) noexcept { (void)cusolverDnDestroyParams(p); }
};
struct CublasHandleTraits {
  static void create(cublasHandle_t* h) { HESSA_CUBLAS_TRY(cublasCreate(h)); }
  static void destroy(cublasHandle_t h) noexcept { (void)cublasDestroy(h); }
};

using CudaStream = UniqueHandle<cudaStream_t, StreamTraits>;
using CusolverHandle = UniqueHandle<cusolverDnHandle_t, CusolverHandleTraits>;
using SyevjInfo = UniqueHandle<syevjInfo_t, SyevjInfoTraits>;
using CusolverParams = UniqueHandle<cusolverDnParams_t, CusolverParamsTraits>;
using CublasHandle = UniqueHandle<cublasHandle_t, CublasHandleTraits>;

}  // namespace hessa::cuda
