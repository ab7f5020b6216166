// CUDA eigensolve: the shared small-n Jacobi (n <= 3), else batched symmetric eigendecomposition with cuSOLVER,
// as host/cpu/eigen.cpp does with LAPACK dsyevd. H stays intact (the analysis needs it); a copy is solved in place.
#include <algorithm>
#include <cassert>
#include <climits>
#include <cstdint>
#include <string>

#include "cuda_stages.cuh"
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/eigen_batch.hpp"
#include "hessa/detail/small_eigen.hpp"

namespace hessa::cuda {
namespace {

// syevj's tolerance is relative: it stops when off(A)_F <= tol * ||A||_F. Its eigenvalue error is then about tol *
// ||H||_F: 1e-14 sits six orders below the ~1e-8 relative noise of a finite-difference Hessian and eight below the
// default zero-eigenvalue band (1e-6), so LAPACK and syevj agree to far better than either's input is known. Machine
// epsilon (cuSOLVER's default) would only buy sweeps whose effect is below that noise.
constexpr double kSyevjTolerance = 1e-14;
// Jacobi converges quadratically once off(A) is small: n <= 32 typically needs under 15 sweeps. 100 is
// cuSOLVER's default; only a pathological matrix reaches it, and it is then reported per point
// (info != 0 -> EigenNotConverged), never an exception.
constexpr int kSyevjMaxSweeps = 100;

// A = H for points whose stencil values were finite, the identity otherwise: a NaN/Inf matrix must not
// reach the solver, where it could cost the batch its full sweep budget or its convergence report.
__global__ void __launch_bounds__(kThreadsPerBlock)
    prepare_kernel(int n, std::int64_t count, const double* __restrict__ H, const PointStatus* __restrict__ status,
                   double* __restrict__ A) {
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t total = count * nn;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / nn;
    const std::int64_t s = k % nn;
    A[k] = status[p] == PointStatus::Ok ? H[k] : (s / n == s % n ? 1.0 : 0.0);
  }
}

// Failed points report NaN eigenvalues (and eigenvectors) and info = 0, as the CPU backend's skipped points.
__global__ void __launch_bounds__(kThreadsPerBlock)
    mask_failed_kernel(int n, std::int64_t count, const PointStatus* __restrict__ status, double* __restrict__ w,
                       double* __restrict__ V, int* __restrict__ info) {
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t slots = n + (V != nullptr ? nn : 0);
  const std::int64_t total = count * slots;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t k = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < total; k += stride) {
    const std::int64_t p = k / slots;
    const std::int64_t s = k % slots;
    if (status[p] == PointStatus::Ok) continue;
    if (s < n) {
      w[p * n + s] = detail::nan_value();
      if (s == 0) info[p] = 0;
    } else {
      V[p * nn + (s - n)] = detail::nan_value();
    }
  }
}

// n <= kSmallEigenMaxN: one thread per matrix runs the shared Jacobi solver (detail/small_eigen.hpp) on a
// register-sized copy; failed points get NaN like the batched path's masking.
__global__ void __launch_bounds__(kThreadsPerBlock)
    small_jacobi_kernel(int n, std::int64_t count, const double* __restrict__ H, const PointStatus* __restrict__ status,
                        double* __restrict__ w, double* __restrict__ V, int* __restrict__ info) {
  const std::int64_t nn = std::int64_t(n) * n;
  const std::int64_t stride = std::int64_t(gridDim.x) * blockDim.x;
  for (std::int64_t p = std::int64_t(blockIdx.x) * blockDim.x + threadIdx.x; p < count; p += stride) {
    double* wp = w + p * n;
    double* Vp = V != nullptr ? V + p * nn : nullptr;
    if (status[p] != PointStatus::Ok) {
      for (int k = 0; k < n; ++k) wp[k] = detail::nan_value();
      if (Vp != nullptr)
        for (std::int64_t k = 0; k < nn; ++k) Vp[k] = detail::nan_value();
      info[p] = 0;
      continue;
    }
    double a[detail::kSmallEigenMaxN * detail::kSmallEigenMaxN];
    for (std::int64_t k = 0; k < nn; ++k) a[k] = H[p * nn + k];
    info[p] = detail::jacobi_eigen(a, n, wp, Vp);
  }
}

cusolverEigMode_t eig_mode(bool vectors) { return vectors ? CUSOLVER_EIG_MODE_VECTOR : CUSOLVER_EIG_MODE_NOVECTOR; }

}  // namespace

const char* eigen_method_name(EigenMethod method) {
  switch (method) {
    case EigenMethod::SmallJacobi: return "small Jacobi";
    case EigenMethod::SyevjBatched: return "syevjBatched";
    case EigenMethod::XsyevBatched: break;
  }
  return "XsyevBatched";
}

Eigensolver::Eigensolver(Resources& resources) : resources_(resources) {
  HESSA_CUSOLVER_TRY(cusolverDnXsyevjSetTolerance(syevj_params_.get(), kSyevjTolerance));
  HESSA_CUSOLVER_TRY(cusolverDnXsyevjSetMaxSweeps(syevj_params_.get(), kSyevjMaxSweeps));
  // Ascending, as LAPACK returns them and as detail::classify expects (lambda[0] = min, lambda[n-1] = max).
  HESSA_CUSOLVER_TRY(cusolverDnXsyevjSetSortEig(syevj_params_.get(), 1));
}

Eigensolver::WorkspaceSize Eigensolver::query(const Shape& shape, double* A, double* w) const {
  WorkspaceSize size;
  const cusolverEigMode_t jobz = eig_mode(shape.vectors);
  if (shape.method == EigenMethod::SyevjBatched) {
    assert(shape.n <= kSyevjMaxN && shape.batch <= INT_MAX);
    int lwork = 0;
    HESSA_CUSOLVER_TRY(cusolverDnDsyevjBatched_bufferSize(resources_.cusolver(), jobz, CUBLAS_FILL_MODE_LOWER, shape.n,
                                                          A, shape.n, w, &lwork, syevj_params_.get(),
                                                          int(shape.batch)));
    size.lwork = lwork;  // negative: cuSOLVER's int arithmetic overflowed at this batch
    size.device_bytes = detail::workspace_bytes_from_lwork(lwork, sizeof(double));
  } else {
    HESSA_CUSOLVER_TRY(cusolverDnXsyevBatched_bufferSize(
        resources_.cusolver(), xsyev_params_.get(), jobz, CUBLAS_FILL_MODE_LOWER, std::int64_t(shape.n), CUDA_R_64F, A,
        std::int64_t(shape.n), CUDA_R_64F, w, CUDA_R_64F, &size.device_bytes, &size.host_bytes, shape.batch));
  }
  return size;
}

Eigensolver::Footprint Eigensolver::footprint(EigenMethod method, int n, bool vectors) const {
  if (method == EigenMethod::SmallJacobi) return {0, 0, SIZE_MAX};  // no workspace, no batch limit
  // The queries read only the shapes, but pass real device pointers of the queried size all the same.
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  device_buffer<double> probe_A(2 * nn);
  device_buffer<double> probe_w(2 * std::size_t(n));
  const WorkspaceSize one = query({method, n, 1, vectors}, probe_A.data(), probe_w.data());
  const WorkspaceSize two = query({method, n, 2, vectors}, probe_A.data(), probe_w.data());
  if (one.lwork < 0 || two.lwork < 0) {
    throw DeviceError("cusolverDnDsyevjBatched_bufferSize returned a negative workspace for n = " + std::to_string(n) +
                      " at a batch of 1 or 2");
  }
  Footprint fp;
  fp.bytes_per_matrix = two.device_bytes > one.device_bytes ? two.device_bytes - one.device_bytes : 0;
  fp.fixed_bytes = one.device_bytes - std::min(one.device_bytes, fp.bytes_per_matrix);
  fp.max_batch = detail::max_eigen_batch(n);  // batch * n^2 within int32, for either routine
  if (method == EigenMethod::SyevjBatched) {
    // batchSize and lwork are ints: lwork(batch) = lwork(1) + (batch - 1) * slope must stay <= INT_MAX.
    fp.max_batch = std::min<std::size_t>(fp.max_batch, INT_MAX);
    const std::int64_t slope = std::int64_t(two.lwork) - one.lwork;
    if (slope > 0) fp.max_batch = std::min<std::size_t>(fp.max_batch, std::size_t((INT_MAX - one.lwork) / slope + 1));
  }
  return fp;
}

std::string Eigensolver::methods_run() const {
  std::string list;
  for (EigenMethod m : {EigenMethod::SmallJacobi, EigenMethod::SyevjBatched, EigenMethod::XsyevBatched}) {
    if ((methods_run_ & (1u << unsigned(m))) == 0) continue;
    list += (list.empty() ? "" : ", ") + std::string(eigen_method_name(m));
  }
  return list;
}

void Eigensolver::eigensolve(EigenMethod method, int n, std::size_t count, const double* H, const PointStatus* status,
                             double* w, double* V, int* info) {
  if (count == 0) return;
  methods_run_ |= 1u << unsigned(method);
  const cudaStream_t stream = resources_.stream();
  assert(method != EigenMethod::SyevjBatched || n <= kSyevjMaxN);
  if (method == EigenMethod::SmallJacobi) {
    assert(n <= detail::kSmallEigenMaxN);
    small_jacobi_kernel<<<grid_blocks(std::int64_t(count)), kThreadsPerBlock, 0, stream>>>(n, std::int64_t(count), H,
                                                                                           status, w, V, info);
    HESSA_CUDA_CHECK_LAUNCH(small_jacobi_kernel, stream);
    return;
  }
  const bool vectors = V != nullptr;
  const std::int64_t nn = std::int64_t(n) * n;

  const Shape limit_key{method, n, 0, vectors};
  if (!have_limit_ || !(limit_shape_ == limit_key)) {
    max_batch_ = footprint(method, n, vectors).max_batch;
    limit_shape_ = limit_key;
    have_limit_ = true;
  }
  if (max_batch_ == 0) {  // else the loop below would take batches of 0 forever
    throw InputError("n = " + std::to_string(n) + ": one Hessian has more than 2^31 entries, more than cuSOLVER's " +
                     "batched eigensolvers address");
  }

  // The copy that is solved in place: V itself when eigenvectors are kept (cuSOLVER leaves them there).
  double* A = V;
  if (A == nullptr) {
    A_.resize(count * std::size_t(nn));
    A = A_.data();
  }
  const std::int64_t total = std::int64_t(count) * nn;
  prepare_kernel<<<grid_blocks(total), kThreadsPerBlock, 0, stream>>>(n, std::int64_t(count), H, status, A);
  HESSA_CUDA_CHECK_LAUNCH(prepare_kernel, stream);

  // The batch: the chunk's count within the int32 caps, its workspace asked of cuSOLVER at that very batch, halved
  // and asked again while it does not fit the device memory left (detail::plan_eigen_batch). Planned once per
  // (method, n, capped count, vectors): a later chunk of that shape reuses the workspace already held.
  const std::size_t cap = std::min(max_batch_, detail::eigen_batch_cap(n, count, method == EigenMethod::SyevjBatched));
  const Shape plan_key{method, n, std::int64_t(cap), vectors};
  if (!have_plan_ || !(plan_shape_ == plan_key)) {
    std::size_t free = 0, total_bytes = 0;
    HESSA_CUDA_TRY(cudaMemGetInfo(&free, &total_bytes));
    const std::size_t budget = detail::eigen_workspace_budget(free, resources_.workspace_bytes());
    WorkspaceSize at_plan{};
    const detail::EigenBatchPlan plan = detail::plan_eigen_batch(cap, budget, [&](std::size_t batch) {
      at_plan = query({method, n, std::int64_t(batch), vectors}, A, w);
      return at_plan.device_bytes;
    });
    if (plan.batch == 0) {
      throw DeviceError(std::string(eigen_method_name(method)) + ": the workspace for even one " + std::to_string(n) +
                        " x " + std::to_string(n) + " matrix (" + std::to_string(at_plan.device_bytes) +
                        " bytes) does not fit the " + std::to_string(budget) + " bytes of device memory left");
    }
    plan_batch_ = plan.batch;
    plan_shape_ = plan_key;
    have_plan_ = true;
    // The last query was at plan.batch: keep its sizes for the calls below.
    shape_ = {method, n, std::int64_t(plan.batch), vectors};
    sizes_ = at_plan;
    have_shape_ = true;
  }

  const cusolverEigMode_t jobz = eig_mode(vectors);
  for (std::size_t first = 0, batch = 0; first < count; first += batch) {
    batch = std::min(plan_batch_, count - first);
    double* A_batch = A + std::int64_t(first) * nn;
    double* w_batch = w + std::int64_t(first) * n;
    int* info_batch = info + first;

    // Two-phase: the size for this batch (the planned one, or a smaller last batch, which needs no more), then
    // the workspace (buffers only grow), reused by later chunks of the same shape.
    const Shape shape{method, n, std::int64_t(batch), vectors};
    if (!have_shape_ || !(shape_ == shape)) {
      sizes_ = query(shape, A_batch, w_batch);
      shape_ = shape;
      have_shape_ = true;
    }
    if (method == EigenMethod::SyevjBatched && sizes_.lwork < 0) {
      throw DeviceError("cusolverDnDsyevjBatched_bufferSize returned a negative workspace (" +
                        std::to_string(sizes_.lwork) + ") for n = " + std::to_string(n) +
                        ", batch = " + std::to_string(batch));
    }
    double* work = static_cast<double*>(resources_.workspace(sizes_.device_bytes));
    host_work_.resize(sizes_.host_bytes);

    if (method == EigenMethod::SyevjBatched) {
      HESSA_CUSOLVER_TRY(cusolverDnDsyevjBatched(resources_.cusolver(), jobz, CUBLAS_FILL_MODE_LOWER, n, A_batch, n,
                                                 w_batch, work, sizes_.lwork, info_batch, syevj_params_.get(),
                                                 int(batch)));
    } else {
      HESSA_CUSOLVER_TRY(cusolverDnXsyevBatched(
          resources_.cusolver(), xsyev_params_.get(), jobz, CUBLAS_FILL_MODE_LOWER, std::int64_t(n), CUDA_R_64F,
          A_batch, std::int64_t(n), CUDA_R_64F, w_batch, CUDA_R_64F, work, sizes_.device_bytes,
          host_work_.empty() ? nullptr : host_work_.data(), sizes_.host_bytes, info_batch, std::int64_t(batch)));
      // The host workspace is reused by the next call; do not let two calls share it in flight.
      if (!host_work_.empty() && first + batch < count) HESSA_CUDA_TRY(cudaStreamSynchronize(stream));
    }
  }

  mask_failed_kernel<<<grid_blocks(std::int64_t(count) * (n + (vectors ? nn : 0))), kThreadsPerBlock, 0, stream>>>(
      n, std::int64_t(count), status, w, V, info);
  HESSA_CUDA_CHECK_LAUNCH(mask_failed_kernel, stream);
}

}  // namespace hessa::cuda
