// The lane-batched QL iteration (host/cpu/tridiagonal_eigen.cpp) against LAPACK's dsterf on the same tridiagonal
// matrices, and the eigenvalues-only path of the CPU eigen stage (tridiagonal reduction + lanes) against dsyevd.
// Both sides are backward stable, so eigenvalues agree to a small multiple of n eps ||T||: asserted at
// 8 n eps max|T_ij|.
#include <gtest/gtest.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "cpu/tridiagonal_eigen.hpp"

namespace hessa {
namespace {

constexpr int W = cpu::kTridiagonalLanes;
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr int kKinds = 9;

struct Tridiagonal {
  std::vector<double> d, e;  // e: n - 1 entries used, padded to n
};

// kind 0: normal entries; 1: split into blocks by exact zeros; 2: graded over 1e-6 .. 1e6 (stiff and soft modes); 3:
// the same eigenvalue many times (the identity times 3, with zero couplings except one); 4: rosenbrock's Hessian at a
// random point (the tridiagonal case hessa meets most); 5: the zero matrix; 6: tiny couplings (1e-12); 7 and 8:
// entries of order 1e200 and 1e-200.
Tridiagonal make_tridiagonal(int n, int kind, std::mt19937& rng) {
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(-2.0, 2.0);
  Tridiagonal t{std::vector<double>(std::size_t(n)), std::vector<double>(std::size_t(n), 0.0)};
  std::vector<double> x(static_cast<std::size_t>(n));
  for (double& v : x) v = uniform(rng);
  for (int i = 0; i < n; ++i) {
    const auto u = std::size_t(i);
    switch (kind) {
      case 0:
        t.d[u] = normal(rng);
        if (i + 1 < n) t.e[u] = normal(rng);
        break;
      case 1:
        t.d[u] = normal(rng);
        if (i + 1 < n) t.e[u] = i % 4 == 3 ? 0.0 : normal(rng);
        break;
      case 2: {
        const double scale = std::pow(10.0, -6.0 + 12.0 * double(i) / std::max(1, n - 1));
        t.d[u] = scale * normal(rng);
        if (i + 1 < n) t.e[u] = scale * normal(rng);
        break;
      }
      case 3:
        t.d[u] = 3.0;
        if (i + 1 < n) t.e[u] = i == n / 2 ? 1.0 : 0.0;
        break;
      case 4:
        t.d[u] =
            (i + 1 < n ? 2.0 - 400.0 * (x[u + 1] - x[u] * x[u]) + 800.0 * x[u] * x[u] : 0.0) + (i > 0 ? 200.0 : 0.0);
        if (i + 1 < n) t.e[u] = -400.0 * x[u];
        break;
      case 5: t.d[u] = 0.0; break;
      case 6:
        t.d[u] = normal(rng);
        if (i + 1 < n) t.e[u] = 1e-12 * normal(rng);
        break;
      default: {  // 7, 8: uniformly huge or tiny entries, beyond the range the sweeps take unscaled
        const double scale = kind == 7 ? 1e200 : 1e-200;
        t.d[u] = scale * normal(rng);
        if (i + 1 < n) t.e[u] = scale * normal(rng);
        break;
      }
    }
  }
  return t;
}

double largest_entry(const Tridiagonal& t) {
  double m = 0.0;
  for (double v : t.d) m = std::max(m, std::fabs(v));
  for (double v : t.e) m = std::max(m, std::fabs(v));
  return m;
}

std::vector<double> dsterf_eigenvalues(const Tridiagonal& t) {
  std::vector<double> d = t.d, e = t.e;
  EXPECT_EQ(LAPACKE_dsterf(lapack_int(d.size()), d.data(), e.data()), 0);
  return d;
}

// Runs W matrices through the lanes; returns each lane's sorted eigenvalues.
std::vector<std::vector<double>> lanes_eigenvalues(int n, const std::vector<Tridiagonal>& ts, int* info) {
  std::vector<double> d(std::size_t(n) * W, 0.0), e(std::size_t(n) * W, 0.0);
  for (int k = 0; k < int(ts.size()); ++k) {
    for (int i = 0; i < n; ++i) {
      d[std::size_t(i) * W + std::size_t(k)] = ts[std::size_t(k)].d[std::size_t(i)];
      e[std::size_t(i) * W + std::size_t(k)] = ts[std::size_t(k)].e[std::size_t(i)];
    }
  }
  cpu::tridiagonal_eigenvalues_lanes(n, d.data(), e.data(), info);
  std::vector<std::vector<double>> out(ts.size());
  for (std::size_t k = 0; k < ts.size(); ++k) {
    for (int i = 0; i < n; ++i) out[k].push_back(d[std::size_t(i) * W + k]);
    std::sort(out[k].begin(), out[k].end());
  }
  return out;
}

TEST(TridiagonalEigen, LanesMatchDsterfOnEveryKindOfTridiagonalMatrix) {
  std::mt19937 rng(5);
  for (int n : {1, 2, 3, 7, 32, 100}) {
    for (int trial = 0; trial < 4; ++trial) {
      // Every lane a different kind, so lanes converge at different times and sweep different ranges.
      std::vector<Tridiagonal> ts;
      for (int k = 0; k < W; ++k) ts.push_back(make_tridiagonal(n, (k + trial) % kKinds, rng));
      int info[W];
      const std::vector<std::vector<double>> got = lanes_eigenvalues(n, ts, info);
      for (int k = 0; k < W; ++k) {
        const std::vector<double> ref = dsterf_eigenvalues(ts[std::size_t(k)]);
        const double tolerance = 8.0 * n * kEps * largest_entry(ts[std::size_t(k)]);
        ASSERT_EQ(info[k], 0) << "n = " << n << ", lane " << k;
        for (int i = 0; i < n; ++i) {
          EXPECT_NEAR(got[std::size_t(k)][std::size_t(i)], ref[std::size_t(i)], tolerance)
              << "n = " << n << ", kind " << (k + trial) % kKinds << ", eigenvalue " << i;
        }
      }
    }
  }
}

// A lane's result depends on its own matrix only (masked lanes are not approximated): the same matrix gives the
// same bits in every lane, beside any neighbours. This is what keeps results independent of how points are chunked.
TEST(TridiagonalEigen, EachLaneIsBitIdenticalWhateverItsNeighbours) {
  std::mt19937 rng(6);
  const int n = 32;
  const Tridiagonal probe = make_tridiagonal(n, 4, rng);
  int info[W];
  std::vector<double> reference;
  for (int lane = 0; lane < W; ++lane) {
    std::vector<Tridiagonal> ts;
    for (int k = 0; k < W; ++k) ts.push_back(k == lane ? probe : make_tridiagonal(n, k % kKinds, rng));
    const std::vector<double> got = lanes_eigenvalues(n, ts, info)[std::size_t(lane)];
    if (lane == 0) reference = got;
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(std::memcmp(&got[std::size_t(i)], &reference[std::size_t(i)], sizeof(double)), 0)
          << "lane " << lane << ", eigenvalue " << i;
    }
  }
}

TEST(TridiagonalEigen, NonFiniteMatricesReportFailureAndNaNWithoutDisturbingOtherLanes) {
  std::mt19937 rng(7);
  const int n = 10;
  std::vector<Tridiagonal> ts;
  for (int k = 0; k < W; ++k) ts.push_back(make_tridiagonal(n, 0, rng));
  ts[2].e[3] = std::numeric_limits<double>::infinity();
  ts[5].d[0] = std::nan("");
  int info[W];
  const std::vector<std::vector<double>> got = lanes_eigenvalues(n, ts, info);
  for (int k = 0; k < W; ++k) {
    if (k == 2 || k == 5) {
      EXPECT_EQ(info[k], 1);
      for (double v : got[std::size_t(k)]) EXPECT_TRUE(std::isnan(v));
      continue;
    }
    EXPECT_EQ(info[k], 0);
    const std::vector<double> ref = dsterf_eigenvalues(ts[std::size_t(k)]);
    for (int i = 0; i < n; ++i)
      EXPECT_NEAR(got[std::size_t(k)][std::size_t(i)], ref[std::size_t(i)],
                  8.0 * n * kEps * largest_entry(ts[std::size_t(k)]));
  }
}

// The CPU eigen stage without eigenvectors (tridiagonal reduction: read off, dsbtrd or dsytrd; then the lanes)
// against dsyevd with eigenvectors on the same batch (tolerance 8 n eps ||H||, with ||H|| <= n max|H_ij|):
// dense, banded (bandwidth 2 at n = 24: dsbtrd), tridiagonal, diagonal and failed points mixed, and a batch
// size that leaves the last group of lanes partly empty.
TEST(TridiagonalEigen, EigenvaluesOnlyStageMatchesDsyevdOnMixedBatches) {
  std::mt19937 rng(8);
  std::normal_distribution<double> normal;
  for (int n : {4, 24, 65}) {
    const std::size_t count = 3 * W + 3;
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    std::vector<double> H(count * nn, 0.0);
    std::vector<PointStatus> status(count, PointStatus::Ok);
    std::vector<double> scale(count, 0.0);
    for (std::size_t p = 0; p < count; ++p) {
      const int band = p % 4 == 0 ? n : int(p % 4) - 1;  // dense, diagonal, tridiagonal, bandwidth 2
      double* A = H.data() + p * nn;
      for (int c = 0; c < n; ++c)
        for (int r = c; r < n && r - c <= band; ++r)
          A[std::size_t(c) * std::size_t(n) + std::size_t(r)] = A[std::size_t(r) * std::size_t(n) + std::size_t(c)] =
              normal(rng);
      for (std::size_t i = 0; i < nn; ++i) scale[p] = std::max(scale[p], std::fabs(A[i]));
      if (p == 5) status[p] = PointStatus::NonfiniteF;
    }
    std::vector<double> w(count * std::size_t(n)), w_ref(count * std::size_t(n)), V(count * nn);
    std::vector<int> info(count, -1), info_ref(count, -1);
    cpu::lapack_eigensolve(n, count, H.data(), status.data(), w.data(), nullptr, info.data());
    cpu::lapack_eigensolve(n, count, H.data(), status.data(), w_ref.data(), V.data(), info_ref.data());
    for (std::size_t p = 0; p < count; ++p) {
      ASSERT_EQ(info[p], 0) << "point " << p;
      for (int k = 0; k < n; ++k) {
        const double got = w[p * std::size_t(n) + std::size_t(k)];
        const double ref = w_ref[p * std::size_t(n) + std::size_t(k)];
        if (status[p] != PointStatus::Ok) {
          EXPECT_TRUE(std::isnan(got));
          continue;
        }
        EXPECT_NEAR(got, ref, 8.0 * n * kEps * n * scale[p]) << "n = " << n << ", point " << p << ", eigenvalue " << k;
        if (k > 0) {
          EXPECT_LE(w[p * std::size_t(n) + std::size_t(k) - 1], got);
        }
      }
    }
  }
}

// Strongly graded tridiagonals (1e-150 at the top to 1e150 at the bottom), where QL from the top loses its shift
// beside the large entries and the lanes give up after 30 sweeps: the stage falls back to dsterf (which picks QL
// or QR by the grading) for those matrices, so the answers still agree with dsterf's.
TEST(TridiagonalEigen, StronglyGradedMatricesFallBackToDsterf) {
  std::mt19937 rng(9);
  std::normal_distribution<double> normal;
  const int n = 100;
  const std::size_t count = W;
  std::vector<double> H(count * n * n, 0.0), w(count * n);
  std::vector<Tridiagonal> ts;
  for (std::size_t p = 0; p < count; ++p) {
    Tridiagonal t{std::vector<double>(n), std::vector<double>(n, 0.0)};
    for (int i = 0; i < n; ++i) {
      const double scale = std::pow(10.0, -150.0 + 300.0 * double(i) / (n - 1));
      t.d[std::size_t(i)] = scale * normal(rng);
      if (i + 1 < n) t.e[std::size_t(i)] = scale * normal(rng);
      double* A = H.data() + p * n * n;
      A[std::size_t(i) * n + std::size_t(i)] = t.d[std::size_t(i)];
      if (i + 1 < n)
        A[std::size_t(i) * n + std::size_t(i) + 1] = A[std::size_t(i + 1) * n + std::size_t(i)] = t.e[std::size_t(i)];
    }
    ts.push_back(t);
  }
  int lane_info[W];
  lanes_eigenvalues(n, ts, lane_info);
  int failed_in_lanes = 0;
  for (int k = 0; k < W; ++k) failed_in_lanes += lane_info[k] != 0;
  EXPECT_GT(failed_in_lanes, 0) << "the fallback is not exercised: these matrices no longer defeat the lanes";
  std::vector<PointStatus> status(count, PointStatus::Ok);
  std::vector<int> info(count, -1);
  cpu::lapack_eigensolve(n, count, H.data(), status.data(), w.data(), nullptr, info.data());
  for (std::size_t p = 0; p < count; ++p) {
    ASSERT_EQ(info[p], 0);
    const std::vector<double> ref = dsterf_eigenvalues(ts[p]);
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(w[p * n + std::size_t(i)], ref[std::size_t(i)], 8.0 * n * kEps * largest_entry(ts[p]))
          << "point " << p;
    }
  }
}

}  // namespace
}  // namespace hessa
