// Stencil layout and step rule: every evaluation index maps to a distinct perturbation, and back.
#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "hessa/detail/stencil.hpp"

namespace hessa::detail {
namespace {

TEST(Stencil, PairNumberingRoundTripsForManyDimensions) {
  for (int n : {2, 3, 7, 64, 200, 1000}) {
    const int64_t pairs = int64_t(n) * (n - 1) / 2;
    int64_t p = 0;
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j, ++p) {
        ASSERT_EQ(pair_number(n, i, j), p);
        int ri = -1, rj = -1;
        pair_from_number(n, p, &ri, &rj);
        ASSERT_EQ(ri, i) << "n=" << n << " p=" << p;
        ASSERT_EQ(rj, j) << "n=" << n << " p=" << p;
      }
    }
    EXPECT_EQ(p, pairs);
  }
}

TEST(Stencil, EvaluationCountsMatchTheFormulas) {
  for (int n : {1, 2, 5, 128}) {
    EXPECT_EQ(stencil_size(StencilKind::Central, n), 2 * int64_t(n) * n + 1);
    EXPECT_EQ(stencil_size(StencilKind::Compact, n), int64_t(n) * n + n + 1);
  }
}

TEST(Stencil, EveryEvaluationIsADistinctPerturbationAndIndexFunctionsAgree) {
  for (StencilKind kind : {StencilKind::Central, StencilKind::Compact}) {
    const int n = 6;
    std::set<std::tuple<int, int, int, int>> seen;
    for (int64_t e = 0; e < stencil_size(kind, n); ++e) {
      const StencilOffset off = stencil_offset(kind, n, e);
      EXPECT_TRUE(seen.insert({off.i, off.sign_i, off.j, off.sign_j}).second) << "duplicate at e=" << e;
      if (off.i >= 0 && off.j < 0) {
        EXPECT_EQ(axis_eval(off.i, off.sign_i), e);
      }
      if (off.j >= 0) {
        const int combo = kind == StencilKind::Central ? (off.sign_i > 0 ? 0 : 2) + (off.sign_j > 0 ? 0 : 1)
                                                       : (off.sign_i > 0 ? 0 : 1);
        EXPECT_EQ(pair_eval(kind, n, off.i, off.j, combo), e);
        EXPECT_LT(off.i, off.j);
      }
    }
  }
}

TEST(Stencil, StepIsExactlyRepresentableAndScaled) {
  for (double x : {0.0, 1.0, -3.7, 1e6, 1.0 / 3.0, -1e-9}) {
    const double h = fd_step(x, 1.220703125e-4);
    EXPECT_EQ((x + h) - x, h) << x;  // the step actually taken
    EXPECT_NEAR(h, 1.220703125e-4 * std::max(std::fabs(x), 1.0), 1e-16 * std::max(std::fabs(x), 1.0) * 4);
  }
}

TEST(Stencil, PerturbedPointReadsShiftedCoordinatesOnly) {
  const double x[3] = {1, 2, 3};
  const StencilOffset off{0, 1, 2, -1, 0};
  const PerturbedPoint p = perturbed_point(x, off, 0.5);
  EXPECT_EQ(p(0), 1.5);
  EXPECT_EQ(p(1), 2.0);
  EXPECT_EQ(p(2), 3.0 - 1.5);
}

}  // namespace
}  // namespace hessa::detail
