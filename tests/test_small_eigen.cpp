// The shared small-n Jacobi eigensolver against LAPACK dsyevd on the same matrices: random, repeated and zero
// eigenvalues, diagonal and already-converged inputs. Both are backward stable: eigenvalues agree to a few
// ulps of ||A||, so 1e-13 ||A||; eigenvectors are checked by their residual ||Av - lambda v|| <= 1e-13 ||A||.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/small_eigen.hpp"

namespace hessa {
namespace {

std::vector<double> random_symmetric(int n, std::mt19937& rng, int kind) {
  std::normal_distribution<double> normal;
  std::vector<double> A(std::size_t(n) * n, 0.0);
  for (int c = 0; c < n; ++c)
    for (int r = 0; r <= c; ++r) {
      double v = normal(rng);
      if (kind == 1 && r != c) v = 0.0;                 // diagonal: already converged
      if (kind == 2) v = (r == c) ? 3.0 : 0.0;          // a triple eigenvalue
      if (kind == 3) v = 0.0;                           // the zero matrix (x^4 + y^4 at its minimum)
      if (kind == 4 && r != c) v = 1e-9 * normal(rng);  // nearly diagonal, tiny rotations
      A[std::size_t(c) * n + r] = A[std::size_t(r) * n + c] = v;
    }
  return A;
}

TEST(SmallEigen, JacobiMatchesLapackOnAllKindsOfSmallMatrices) {
  std::mt19937 rng(11);
  for (int n = 1; n <= 6; ++n) {
    for (int kind = 0; kind < 5; ++kind) {
      for (int trial = 0; trial < 20; ++trial) {
        const std::vector<double> A = random_symmetric(n, rng, kind);
        double norm = 0;
        for (double a : A) norm += a * a;
        norm = std::sqrt(norm);
        std::vector<double> w_jacobi(n), w_lapack(n), V(std::size_t(n) * n);
        int info_jacobi = -1, info_lapack = -1;
        const PointStatus ok = PointStatus::Ok;
        cpu::small_eigensolve(n, 1, A.data(), &ok, w_jacobi.data(), V.data(), &info_jacobi);
        cpu::lapack_eigensolve(n, 1, A.data(), &ok, w_lapack.data(), nullptr, &info_lapack);
        ASSERT_EQ(info_jacobi, 0);
        ASSERT_EQ(info_lapack, 0);
        for (int k = 0; k < n; ++k) {
          EXPECT_NEAR(w_jacobi[k], w_lapack[k], 1e-13 * std::max(norm, 1e-300)) << "n=" << n << " kind=" << kind;
          double residual = 0;
          for (int r = 0; r < n; ++r) {
            double Av = 0;
            for (int c = 0; c < n; ++c) Av += A[std::size_t(c) * n + r] * V[std::size_t(k) * n + c];
            residual = std::max(residual, std::fabs(Av - w_jacobi[k] * V[std::size_t(k) * n + r]));
          }
          EXPECT_LE(residual, 1e-13 * std::max(norm, 1.0)) << "n=" << n << " kind=" << kind;
        }
      }
    }
  }
}

TEST(SmallEigen, FailedPointsGetNaNAndAreNotSolved) {
  const double H[4] = {1, 0, 0, 2};
  const PointStatus failed = PointStatus::NonfiniteF;
  double w[2] = {0, 0};
  int info = -1;
  cpu::small_eigensolve(2, 1, H, &failed, w, nullptr, &info);
  EXPECT_TRUE(std::isnan(w[0]) && std::isnan(w[1]));
  EXPECT_EQ(info, 0);
}

// Banded Hessians skip the dense reduction (diagonal: a sort; bandwidth <= n/8: dsbevd). At n = 24 (bands 0 .. 3,
// and 4 = dense for contrast) they must give the Jacobi solver's eigenvalues to 1e-13 ||A|| (both backward stable),
// and eigenvectors with residual ||Av - lambda v|| <= 1e-13 ||A||.
TEST(BandedEigen, BandedAndDiagonalHessiansMatchTheJacobiSolver) {
  std::mt19937 rng(11);
  std::normal_distribution<double> normal;
  const int n = 24;
  for (int band = 0; band <= 4; ++band) {
    std::vector<double> A(std::size_t(n) * n, 0.0);
    for (int c = 0; c < n; ++c)
      for (int r = c; r < n && r <= c + band; ++r) A[std::size_t(c) * n + r] = A[std::size_t(r) * n + c] = normal(rng);
    const PointStatus ok = PointStatus::Ok;
    std::vector<double> w(n), w_ref(n), V(std::size_t(n) * n), V_ref(std::size_t(n) * n);
    int info = -1, info_ref = -1;
    cpu::lapack_eigensolve(n, 1, A.data(), &ok, w.data(), V.data(), &info);
    cpu::small_eigensolve(n, 1, A.data(), &ok, w_ref.data(), V_ref.data(), &info_ref);
    ASSERT_EQ(info, 0);
    ASSERT_EQ(info_ref, 0);
    double norm = 0.0;
    for (double a : A) norm = std::max(norm, std::fabs(a));
    norm *= n;
    for (int k = 0; k < n; ++k) {
      EXPECT_NEAR(w[k], w_ref[k], 1e-13 * norm) << "band " << band << " eigenvalue " << k;
      if (k > 0) {
        EXPECT_LE(w[k - 1], w[k]);
      }
      double residual = 0.0;
      for (int r = 0; r < n; ++r) {
        double Av = 0.0;
        for (int c = 0; c < n; ++c) Av += A[std::size_t(c) * n + r] * V[std::size_t(k) * n + c];
        residual = std::max(residual, std::fabs(Av - w[k] * V[std::size_t(k) * n + r]));
      }
      EXPECT_LE(residual, 1e-13 * norm) << "band " << band << " eigenvector " << k;
    }
    std::vector<double> w_values(n);
    cpu::lapack_eigensolve(n, 1, A.data(), &ok, w_values.data(), nullptr, &info);  // eigenvalues only
    for (int k = 0; k < n; ++k) EXPECT_NEAR(w_values[k], w_ref[k], 1e-13 * norm) << "band " << band;
  }
}

}  // namespace
}  // namespace hessa
