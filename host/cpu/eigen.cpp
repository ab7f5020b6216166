// CPU eigensolve: cyclic Jacobi (detail/small_eigen.hpp) for n <= 3, else LAPACK per Hessian: dsyevd (divide and
// conquer), or for banded Hessians (exact zeros outside a band of width <= n/8) dsbevd, or a sort of the diagonal;
// OpenMP over the batch.
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

namespace {

// The lower bandwidth of a column-major n x n matrix: the largest r - c with H_rc != 0 (0: diagonal).
int lower_bandwidth(int n, const double* H) {
  int b = 0;
  for (int c = 0; c < n; ++c) {
    for (int r = n - 1; r > c + b; --r) {
      if (H[std::int64_t(c) * n + r] != 0.0) {
        b = r - c;
        break;
      }
    }
  }
  return b;
}

// Banded Hessians (exact stencils give exact zeros: a chain like rosenbrock's is tridiagonal) skip the dense
// tridiagonal reduction: diagonal ones are sorted, narrow bands go to dsbevd (band reduction, O(n^2 b)).
constexpr int kBandedFraction = 8;  // bandwidth <= n / 8 counts as banded

// Ascending eigenvalues (and vectors into V, column-major) of a diagonal matrix.
void diagonal_eigen(int n, const double* H, double* w, double* V, std::vector<int>& order) {
  order.resize(std::size_t(n));
  for (int i = 0; i < n; ++i) order[std::size_t(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return H[std::int64_t(a) * n + a] < H[std::int64_t(b) * n + b]; });
  for (int k = 0; k < n; ++k) w[k] = H[std::int64_t(order[std::size_t(k)]) * n + order[std::size_t(k)]];
  if (V != nullptr) {
    std::fill(V, V + std::int64_t(n) * n, 0.0);
    for (int k = 0; k < n; ++k) V[std::int64_t(k) * n + order[std::size_t(k)]] = 1.0;
  }
}

}  // namespace

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
  // dsbevd's workspace for the widest band taken: it needs less than dsyevd's at every bandwidth.
  const lapack_int lwork = std::max(lapack_int(work_query), lapack_int(2 * n * n + 5 * n + 1));
  const lapack_int liwork = std::max(iwork_query, lapack_int(5 * n + 3));
  const int widest_band = n / kBandedFraction;
#pragma omp parallel
  {
    std::vector<double> a(static_cast<std::size_t>(nn));
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<lapack_int> iwork(static_cast<std::size_t>(liwork));
    std::vector<int> order;
#pragma omp for schedule(dynamic, 64)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      double* wp = w + p * n;
      double* Vp = V != nullptr ? V + p * nn : nullptr;
      const double* Hp = H + p * nn;
      if (status[p] != PointStatus::Ok) {
        for (int k = 0; k < n; ++k) wp[k] = std::nan("");
        if (Vp != nullptr) std::fill(Vp, Vp + nn, std::nan(""));
        info[p] = 0;
        continue;
      }
      const int band = lower_bandwidth(n, Hp);
      if (band == 0) {
        diagonal_eigen(n, Hp, wp, Vp, order);
        info[p] = 0;
        continue;
      }
      if (band <= widest_band) {
        // Lower band storage: AB(1 + r - c, c) = H(r, c) for c <= r <= c + band, leading dimension band + 1.
        const int ldab = band + 1;
        for (int c = 0; c < n; ++c) {
          for (int d = 0; d <= band; ++d)
            a[std::size_t(c) * ldab + d] = c + d < n ? Hp[std::int64_t(c) * n + c + d] : 0.0;
        }
        info[p] = int(LAPACKE_dsbevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, band, a.data(), ldab, wp, Vp, n, work.data(),
                                          lwork, iwork.data(), liwork));
        continue;
      }
      double* target = Vp != nullptr ? Vp : a.data();  // dsyevd overwrites its input with the vectors
      std::memcpy(target, Hp, sizeof(double) * std::size_t(nn));
      info[p] = int(
          LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, 'L', n, target, n, wp, work.data(), lwork, iwork.data(), liwork));
    }
  }
}

}  // namespace hessa::cpu
