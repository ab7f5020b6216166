// CPU eigensolve: cyclic Jacobi (detail/small_eigen.hpp) for n <= 3, else LAPACK dsyevd (divide and conquer)
// per Hessian; OpenMP over the batch.
// Workspaces are queried once and allocated once per thread.
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/small_eigen.hpp"

// OpenBLAS's own threads fight OpenMP's over tiny matrices (measured: 20x slower at n = 32 on 2 cores).
// Weak: absent when LAPACK is not OpenBLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace hessa::cpu {

// n <= kSmallEigenMaxN: the shared Jacobi solver, no LAPACK call (whose per-call overhead dominates there).
void small_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                      int* info) {
  const std::int64_t nn = std::int64_t(n) * n;
#pragma omp parallel
  {
    std::vector<double> a(static_cast<std::size_t>(nn));  // any n works; eigensolve() uses it for n <= 3
#pragma omp for schedule(static)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      double* wp = w + p * n;
      double* Vp = V != nullptr ? V + p * nn : nullptr;
      if (status[p] != PointStatus::Ok) {
        for (int k = 0; k < n; ++k) wp[k] = std::nan("");
        if (Vp != nullptr) std::fill(Vp, Vp + nn, std::nan(""));
        info[p] = 0;
        continue;
      }
      std::memcpy(a.data(), H + p * nn, sizeof(double) * std::size_t(nn));
      info[p] = detail::jacobi_eigen(a.data(), n, wp, Vp);
    }
  }
}

void use_single_threaded_blas() {
  static const bool done = [] {
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
    return true;
  }();
  (void)done;
}

void eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V, int* info) {
  if (n <= detail::kSmallEigenMaxN) {
    small_eigensolve(n, count, H, status, w, V, info);
  } else {
    lapack_eigensolve(n, count, H, status, w, V, info);
  }
}

void lapack_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                       int* info) {
  use_single_threaded_blas();
  const char jobz = V != nullptr ? 'V' : 'N';
  const std::int64_t nn = std::int64_t(n) * n;
  // Workspace query: the same for every matrix of this n and jobz.
  double work_query = 0.0;
  lapack_int iwork_query = 0;
  std::vector<double> probe(std::size_t(nn), 0.0);
  std::vector<double> probe_w(static_cast<std::size_t>(n));
  LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, probe.data(), n, probe_w.data(), &work_query, -1, &iwork_query,
                      -1);
  const lapack_int lwork = lapack_int(work_query);
  const lapack_int liwork = iwork_query;
#pragma omp parallel
  {
    std::vector<double> a(static_cast<std::size_t>(nn));
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<lapack_int> iwork(static_cast<std::size_t>(liwork));
#pragma omp for schedule(dynamic, 64)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      double* wp = w + p * n;
      if (status[p] != PointStatus::Ok) {
        for (int k = 0; k < n; ++k) wp[k] = std::nan("");
        if (V != nullptr) std::fill(V + p * nn, V + (p + 1) * nn, std::nan(""));
        info[p] = 0;
        continue;
      }
      double* target = V != nullptr ? V + p * nn : a.data();  // dsyevd overwrites its input with the vectors
      std::memcpy(target, H + p * nn, sizeof(double) * std::size_t(nn));
      info[p] = int(
          LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, target, n, wp, work.data(), lwork, iwork.data(), liwork));
    }
  }
}

}  // namespace hessa::cpu
