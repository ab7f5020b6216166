// Cyclic Jacobi eigensolver for the small symmetric matrices that dominate batch runs (n <= kSmallEigenMaxN):
// one thread per matrix on the GPU, one call per matrix on the CPU, no library call and no workspace.
// Shared by both backends; LAPACK dsyevd / cuSOLVER take over above the cut-over.
#pragma once

#include <math.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

// Largest n solved here. Measured on the CPU (bench: BM_CpuEigenJacobi vs BM_CpuEigenLapack, 20000 Hessians,
// 2 threads): n = 2: 0.68 vs 1.69 ms (one rotation is exact); n = 3: 4.5 vs 4.4 ms (a tie, and no BLAS call);
// n = 4: 9.1 vs 8.0 ms, so LAPACK from n = 4 on. The GPU side (vs syevjBatched) is not measured yet.
inline constexpr int kSmallEigenMaxN = 3;

// Eigenvalues of the symmetric n x n column-major A (overwritten) into w, ascending; eigenvectors into the
// columns of V (column-major) when V != nullptr. Returns 0 when the off-diagonal mass fell below
// eps^2 * ||A||_F^2 within the sweep limit, 1 otherwise (reported like LAPACK's info > 0).
HESSA_HD inline int jacobi_eigen(double* A, int n, double* w, double* V) {
  if (V != nullptr) {
    for (int c = 0; c < n; ++c)
      for (int r = 0; r < n; ++r) V[c * n + r] = r == c ? 1.0 : 0.0;
  }
  double total = 0.0;
  for (int k = 0; k < n * n; ++k) total += A[k] * A[k];
  const double eps = 2.220446049250313e-16;
  const double target = eps * eps * total;
  int converged = 0;
  for (int sweep = 0; sweep < 50; ++sweep) {
    double off = 0.0;
    for (int c = 1; c < n; ++c)
      for (int r = 0; r < c; ++r) off += A[c * n + r] * A[c * n + r];
    if (off <= target) {
      converged = 1;
      break;
    }
    for (int p = 0; p < n - 1; ++p) {
      for (int q = p + 1; q < n; ++q) {
        const double apq = A[q * n + p];
        if (apq == 0.0) continue;
        // Rotation that zeroes A_pq (Golub & Van Loan, Alg. 8.4.1): t = sign(theta) / (|theta| + sqrt(theta^2+1)).
        const double theta = (A[q * n + q] - A[p * n + p]) / (2.0 * apq);
        const double t = (theta >= 0.0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
        const double cs = 1.0 / sqrt(t * t + 1.0);
        const double sn = t * cs;
        for (int k = 0; k < n; ++k) {  // A <- A J (columns p, q)
          const double akp = A[p * n + k], akq = A[q * n + k];
          A[p * n + k] = cs * akp - sn * akq;
          A[q * n + k] = sn * akp + cs * akq;
        }
        for (int k = 0; k < n; ++k) {  // A <- J' A (rows p, q)
          const double apk = A[k * n + p], aqk = A[k * n + q];
          A[k * n + p] = cs * apk - sn * aqk;
          A[k * n + q] = sn * apk + cs * aqk;
        }
        A[q * n + p] = 0.0;
        A[p * n + q] = 0.0;
        if (V != nullptr) {
          for (int k = 0; k < n; ++k) {
            const double vkp = V[p * n + k], vkq = V[q * n + k];
            V[p * n + k] = cs * vkp - sn * vkq;
            V[q * n + k] = sn * vkp + cs * vkq;
          }
        }
      }
    }
  }
  for (int k = 0; k < n; ++k) w[k] = A[k * n + k];
  // Insertion sort, ascending, carrying the eigenvector columns along.
  for (int k = 1; k < n; ++k) {
    for (int m = k; m > 0 && w[m] < w[m - 1]; --m) {
      const double tw = w[m];
      w[m] = w[m - 1];
      w[m - 1] = tw;
      if (V != nullptr) {
        for (int r = 0; r < n; ++r) {
          const double tv = V[m * n + r];
          V[m * n + r] = V[(m - 1) * n + r];
          V[(m - 1) * n + r] = tv;
        }
      }
    }
  }
  return converged ? 0 : 1;
}

}  // namespace hessa::detail
