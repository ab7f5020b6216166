// Eigenvalues of symmetric tridiagonal matrices, kTridiagonalLanes at a time: the implicit QL iteration with
// Wilkinson shifts (the algorithm of EISPACK's tql1 / LAPACK's dsterf), each SIMD lane running its own matrix.
//
// Why not dsterf per matrix: its inner loop is one long dependency chain (a square root and a division a step),
// so one matrix at a time leaves the vector units idle; eight lanes in lock step go ~3x faster per matrix (n = 32,
// rosenbrock's Hessians) although each sweep runs over the union of the lanes' index ranges. Every lane computes
// exactly what the scalar iteration would: lanes outside their range are masked, not approximated.
#include "cpu/tridiagonal_eigen.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/avx2_clone.hpp"

namespace hessa::cpu {
namespace {

constexpr int W = kTridiagonalLanes;
constexpr int kMaxSweepsPerEigenvalue = 30;  // as EISPACK's tql1 (dsterf: 30 n sweeps in all)
constexpr double kEps = std::numeric_limits<double>::epsilon();

// The sweeps square entries, so, as dsterf does, a matrix whose largest entry is beyond sqrt(overflow) / 3 or
// below sqrt(underflow) / eps^2 is scaled by a power of two (exact) to that bound; any other is left as it is
// (scaling everything to 1 would push a graded matrix's small entries into underflow). Returns the exponent to
// undo (0: none), or false when the matrix has a non-finite entry.
bool scale_lane(int n, double* d, double* e, int k, int& exponent) {
  static const double kLargest = std::sqrt(std::numeric_limits<double>::max()) / 3.0;
  static const double kSmallest = std::sqrt(std::numeric_limits<double>::min()) / (kEps * kEps);
  double largest = 0.0;
  for (int i = 0; i < n; ++i) largest = std::max({largest, std::fabs(d[i * W + k]), std::fabs(e[i * W + k])});
  if (!std::isfinite(largest)) return false;
  exponent = 0;
  if (largest > kLargest) exponent = std::ilogb(largest) - std::ilogb(kLargest) + 1;
  if (largest > 0.0 && largest < kSmallest) exponent = std::ilogb(largest) - std::ilogb(kSmallest);
  if (exponent == 0) return true;
  for (int i = 0; i < n; ++i) {
    d[i * W + k] = std::ldexp(d[i * W + k], -exponent);
    e[i * W + k] = std::ldexp(e[i * W + k], -exponent);
  }
  return true;
}

// The first m >= l at which lane k's matrix splits (|e_m| negligible beside its neighbours on the diagonal).
int split_point(int n, const double* d, const double* e, int k, int l) {
  int m = l;
  for (; m < n - 1; ++m) {
    const double dd = std::fabs(d[m * W + k]) + std::fabs(d[(m + 1) * W + k]);
    if (std::fabs(e[m * W + k]) <= kEps * dd) break;
  }
  return m;
}

// One QL sweep, from row hi - 1 up to row lo, of every lane with lo <= i < hi; lanes with lo == hi sit it out.
// g, s, c, p: the sweep's running rotation, per lane. A lane whose rotation underflows to r = 0 stops there
// (underflowed[k]); its caller then deflates at its m as tql1 does.
HESSA_CPU_AVX512_CLONE
void ql_sweep(int top, int bottom, const double* lo, const double* hi, double* d, double* e, double* g, double* s,
              double* c, double* p, double* underflowed) {
  for (int i = top; i >= bottom; --i) {
    double* __restrict ei = e + std::ptrdiff_t(i) * W;
    double* __restrict di = d + std::ptrdiff_t(i) * W;
    const double row = double(i);
#pragma omp simd
    for (int k = 0; k < W; ++k) {
      const bool in = (row < hi[k]) & (row >= lo[k]) & (underflowed[k] == 0.0);
      const double f = s[k] * ei[k];
      const double b = c[k] * ei[k];
      const double r = std::sqrt(f * f + g[k] * g[k]);
      const bool zero = in & (r == 0.0);
      const bool rotate = in & (r != 0.0);
      const double inv = 1.0 / (r != 0.0 ? r : 1.0);
      const double sk = f * inv;
      const double ck = g[k] * inv;
      const double gg = di[W + k] - p[k];
      const double t = (di[k] - gg) * sk + 2.0 * ck * b;
      const double pk = sk * t;
      ei[W + k] = in ? r : ei[W + k];
      di[W + k] = rotate ? gg + pk : (zero ? di[W + k] - p[k] : di[W + k]);
      g[k] = rotate ? ck * t - b : g[k];
      p[k] = rotate ? pk : p[k];
      s[k] = rotate ? sk : s[k];
      c[k] = rotate ? ck : c[k];
      underflowed[k] = zero ? 1.0 : underflowed[k];
    }
  }
}

}  // namespace

void tridiagonal_eigenvalues_lanes(int n, double* d, double* e, int* info) {
  int l[W], m[W], sweeps[W], exponent[W];
  bool done[W];
  for (int k = 0; k < W; ++k) {
    e[(n - 1) * W + k] = 0.0;
    l[k] = 0;
    m[k] = 0;
    sweeps[k] = 0;
    info[k] = 0;
    done[k] = !scale_lane(n, d, e, k, exponent[k]);
    if (done[k]) {
      info[k] = 1;  // a non-finite entry: no eigenvalues
      for (int i = 0; i < n; ++i) d[i * W + k] = std::numeric_limits<double>::quiet_NaN();
    }
  }
  for (;;) {
    // Each lane: deflate converged eigenvalues (l advances) until its next sweep is known, or it is done.
    int top = -1, bottom = n;
    for (int k = 0; k < W; ++k) {
      while (!done[k]) {
        m[k] = split_point(n, d, e, k, l[k]);
        if (m[k] != l[k] && sweeps[k] < kMaxSweepsPerEigenvalue) break;
        if (m[k] != l[k] && info[k] == 0) info[k] = l[k] + 1;  // not converged: the first that failed
        sweeps[k] = 0;
        if (++l[k] == n) done[k] = true;
      }
      if (!done[k]) {
        top = std::max(top, m[k] - 1);
        bottom = std::min(bottom, l[k]);
      }
    }
    if (top < 0) break;
    alignas(64) double lo[W], hi[W], g[W], s[W], c[W], p[W], underflowed[W];
    for (int k = 0; k < W; ++k) {
      lo[k] = hi[k] = 0.0;
      g[k] = 0.0;
      s[k] = c[k] = 1.0;
      p[k] = underflowed[k] = 0.0;
      if (done[k]) continue;
      ++sweeps[k];
      const int lk = l[k], mk = m[k];
      lo[k] = double(lk);
      hi[k] = double(mk);
      // Wilkinson's shift from the leading 2 x 2 block, folded into the sweep's first rotation.
      const double q = (d[(lk + 1) * W + k] - d[lk * W + k]) / (2.0 * e[lk * W + k]);
      const double r = std::hypot(q, 1.0);
      g[k] = d[mk * W + k] - d[lk * W + k] + e[lk * W + k] / (q + std::copysign(r, q));
    }
    ql_sweep(top, bottom, lo, hi, d, e, g, s, c, p, underflowed);
    for (int k = 0; k < W; ++k) {
      if (done[k]) continue;
      if (underflowed[k] == 0.0) {
        d[l[k] * W + k] -= p[k];
        e[l[k] * W + k] = g[k];
      }
      e[m[k] * W + k] = 0.0;
    }
  }
  for (int k = 0; k < W; ++k) {
    if (exponent[k] == 0) continue;
    for (int i = 0; i < n; ++i) d[i * W + k] = std::ldexp(d[i * W + k], exponent[k]);
  }
}

}  // namespace hessa::cpu
