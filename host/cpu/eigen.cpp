// CPU eigensolve: cyclic Jacobi (detail/small_eigen.hpp) for n <= 3, else LAPACK per Hessian: with eigenvectors
// dsyevd (divide and conquer), or for banded Hessians (exact zeros outside a band of width <= n/8) dsbevd, or a
// sort of the diagonal; eigenvalues alone by a tridiagonal reduction and the lane-batched QL iteration of
// tridiagonal_eigen.cpp. OpenMP over the batch.
// Workspaces are queried once and allocated once per thread.
#include <lapacke.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "cpu/tridiagonal_eigen.hpp"
#include "hessa/detail/small_eigen.hpp"

// OpenBLAS's own threads fight OpenMP's over tiny matrices (measured: 20x slower at n = 32 on 2 cores).
// Weak: absent when LAPACK is not OpenBLAS.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));
// OpenBLAS (pthreads build) starts its thread pool when the library loads, and those threads spin on
// sched_yield for ~2^28 cycles before they sleep: on 2 cores that took a fifth of a 0.16 s run from the OpenMP
// threads (n = 32, B = 4000). With one BLAS thread the pool is never used again, so it is stopped; a later
// openblas_set_num_threads(k > 1) by someone else restarts it.
extern "C" int blas_thread_shutdown_() __attribute__((weak));

namespace hessa::cpu {

// n <= kSmallEigenMaxN: the shared Jacobi solver, no LAPACK call (whose per-call overhead dominates there).
namespace {

// small_eigensolve for one n; with n a constant (kN > 0) the compiler unrolls detail::jacobi_eigen's loops for it,
// which changes no operation and so no bit (n = 2: a third of the time of the loops over a variable n).
template <int kN>
__attribute__((flatten)) int jacobi_eigen_n(double* a, int n, double* w, double* V) {
  return detail::jacobi_eigen(a, kN > 0 ? kN : n, w, V);
}

template <int kN>
void small_eigensolve_n(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                        int* info) {
  if constexpr (kN > 0) n = kN;
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
      info[p] = jacobi_eigen_n<kN>(a.data(), n, wp, Vp);
    }
  }
}

}  // namespace

void small_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                      int* info) {
  switch (n) {
    case 1: small_eigensolve_n<1>(n, count, H, status, w, V, info); break;
    case 2: small_eigensolve_n<2>(n, count, H, status, w, V, info); break;
    case 3: small_eigensolve_n<3>(n, count, H, status, w, V, info); break;
    default: small_eigensolve_n<0>(n, count, H, status, w, V, info); break;
  }
}

void use_single_threaded_blas() {
  static const bool done = [] {
    if (openblas_set_num_threads != nullptr) openblas_set_num_threads(1);
    if (blas_thread_shutdown_ != nullptr) blas_thread_shutdown_();
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

// Eigenvalues only: each Hessian reduced to tridiagonal form (read off when it already is one; dsbtrd for a
// narrow band; dsytrd otherwise), then the tridiagonal eigenvalues kTridiagonalLanes matrices at a time
// (tridiagonal_eigen.cpp) where dsyevd would run dsterf on one. Measured (rosenbrock, n = 32, 4000 points):
// the eigen stage took half of `hessa analyze`'s time with dsterf.
void lapack_eigenvalues(int n, std::size_t count, const double* H, const PointStatus* status, double* w, int* info) {
  constexpr int W = kTridiagonalLanes;
  const std::int64_t nn = std::int64_t(n) * n;
  double work_query = 0.0;
  const auto un = static_cast<std::size_t>(n);
  std::vector<double> probe(static_cast<std::size_t>(nn), 0.0), probe_d(un), probe_e(un);
  LAPACKE_dsytrd_work(LAPACK_COL_MAJOR, 'L', n, probe.data(), n, probe_d.data(), probe_e.data(), probe_d.data(),
                      &work_query, -1);
  const lapack_int lwork = std::max(lapack_int(work_query), lapack_int(n));  // dsbtrd needs n
  const int widest_band = n / kBandedFraction;
  const std::int64_t groups = (std::int64_t(count) + W - 1) / W;
  const std::int64_t threads = std::max(1, omp_get_max_threads());
  const int grain = int(std::clamp<std::int64_t>(groups / (8 * threads), 1, 8));
#pragma omp parallel
  {
    std::vector<double> a(static_cast<std::size_t>(nn)), tau(un), work(static_cast<std::size_t>(lwork));
    std::vector<double> diagonal(un), off_diagonal(un), lanes_d(un * W), lanes_e(un * W), kept_d, kept_e;
    std::vector<int> order;
    std::int64_t lane_point[W];
    int lane_info[W];
#pragma omp for schedule(dynamic, grain)
    for (std::int64_t group = 0; group < groups; ++group) {
      int used = 0;
      const std::int64_t end = std::min<std::int64_t>(std::int64_t(count), (group + 1) * W);
      for (std::int64_t p = group * W; p < end; ++p) {
        double* wp = w + p * n;
        const double* Hp = H + p * nn;
        info[p] = 0;
        if (status[p] != PointStatus::Ok) {
          for (int k = 0; k < n; ++k) wp[k] = std::nan("");
          continue;
        }
        const int band = lower_bandwidth(n, Hp);
        if (band == 0) {
          diagonal_eigen(n, Hp, wp, nullptr, order);
          continue;
        }
        double* dg = diagonal.data();
        double* od = off_diagonal.data();
        if (band == 1) {
          for (int i = 0; i < n; ++i) dg[i] = Hp[std::int64_t(i) * n + i];
          for (int i = 0; i + 1 < n; ++i) od[i] = Hp[std::int64_t(i) * n + i + 1];
        } else if (band <= widest_band) {
          const int ldab = band + 1;
          for (int c = 0; c < n; ++c) {
            for (int r = 0; r <= band; ++r)
              a[std::size_t(c) * ldab + r] = c + r < n ? Hp[std::int64_t(c) * n + c + r] : 0.0;
          }
          double unused_q = 0.0;
          LAPACKE_dsbtrd_work(LAPACK_COL_MAJOR, 'N', 'L', n, band, a.data(), ldab, dg, od, &unused_q, 1, work.data());
        } else {
          std::memcpy(a.data(), Hp, sizeof(double) * std::size_t(nn));
          LAPACKE_dsytrd_work(LAPACK_COL_MAJOR, 'L', n, a.data(), n, dg, od, tau.data(), work.data(), lwork);
        }
        for (int i = 0; i < n; ++i) {
          lanes_d[std::size_t(i) * W + std::size_t(used)] = dg[i];
          lanes_e[std::size_t(i) * W + std::size_t(used)] = i + 1 < n ? od[i] : 0.0;
        }
        lane_point[used++] = p;
      }
      if (used == 0) continue;
      for (int k = used; k < W; ++k) {  // idle lanes: zero matrices, converged from the start
        for (int i = 0; i < n; ++i)
          lanes_d[std::size_t(i) * W + std::size_t(k)] = lanes_e[std::size_t(i) * W + std::size_t(k)] = 0.0;
      }
      kept_d = lanes_d;
      kept_e = lanes_e;
      tridiagonal_eigenvalues_lanes(n, lanes_d.data(), lanes_e.data(), lane_info);
      for (int k = 0; k < used; ++k) {
        double* wp = w + lane_point[k] * n;
        for (int i = 0; i < n; ++i) wp[i] = lanes_d[std::size_t(i) * W + std::size_t(k)];
        if (lane_info[k] != 0) {
          // Not converged in the lanes (a strongly graded matrix, whose shift is lost beside its large entries:
          // dsterf chooses QL or QR by the grading; the lanes always run QL): dsterf on the same tridiagonal.
          for (int i = 0; i < n; ++i) {
            wp[i] = kept_d[std::size_t(i) * W + std::size_t(k)];
            off_diagonal[std::size_t(i)] = kept_e[std::size_t(i) * W + std::size_t(k)];
          }
          lane_info[k] = int(LAPACKE_dsterf(n, wp, off_diagonal.data()));
        }
        std::sort(wp, wp + n);
        info[lane_point[k]] = lane_info[k];
      }
    }
  }
}

}  // namespace

void lapack_eigensolve(int n, std::size_t count, const double* H, const PointStatus* status, double* w, double* V,
                       int* info) {
  use_single_threaded_blas();
  if (V == nullptr) {
    lapack_eigenvalues(n, count, H, status, w, info);
    return;
  }
  const char jobz = 'V';
  const std::int64_t nn = std::int64_t(n) * n;
  // Workspace query: the same for every matrix of this n.
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
  // Grabs of up to 64 points, but at least ~8 per thread, so a small chunk is still shared by every thread.
  const int grain = int(std::clamp<std::size_t>(count / (8 * std::size_t(std::max(1, omp_get_max_threads()))), 1, 64));
#pragma omp parallel
  {
    std::vector<double> a(static_cast<std::size_t>(nn));
    std::vector<double> work(static_cast<std::size_t>(lwork));
    std::vector<lapack_int> iwork(static_cast<std::size_t>(liwork));
    std::vector<int> order;
#pragma omp for schedule(dynamic, grain)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      double* wp = w + p * n;
      double* Vp = V + p * nn;
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
