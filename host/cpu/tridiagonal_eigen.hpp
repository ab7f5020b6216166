// Eigenvalues of symmetric tridiagonal matrices, several at once in SIMD lanes (tridiagonal_eigen.cpp).
#pragma once

namespace hessa::cpu {

// Matrices per call: one AVX-512 vector of doubles.
constexpr int kTridiagonalLanes = 8;

// The eigenvalues of kTridiagonalLanes symmetric tridiagonal n x n matrices, interleaved by lane: lane k's
// diagonal is d[i * kTridiagonalLanes + k] and its off-diagonal e[i * kTridiagonalLanes + k] (i < n - 1; row n - 1
// of e is scratch). On return d holds each lane's eigenvalues, unordered. info[k]: 0, or for a lane that did not
// converge in 30 sweeps an eigenvalue the index of the first that failed (1-based, as LAPACK's), or 1 for a
// matrix with a non-finite entry (its eigenvalues are then NaN). A lane of zeros costs nothing: pad with them.
void tridiagonal_eigenvalues_lanes(int n, double* d, double* e, int* info);

}  // namespace hessa::cpu
