// The vectorizable exp and tanh of the CPU model loss (host/cpu/vector_math.hpp) against libm: their error
// bounds in ulps over the ranges an MLP meets, their limits, and signs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>

#include "cpu/vector_math.hpp"

namespace hessa::cpu {
namespace {

// |a - b| in units of b's last place (libm's exp and tanh are within 1 ulp of the truth, so the bounds below
// allow 1 ulp more than Cephes documents for these algorithms: exp 1.5 -> 2.5, tanh 3.6 measured -> 5).
double ulps(double a, double b) { return std::fabs(a - b) / (std::nextafter(std::fabs(b), INFINITY) - std::fabs(b)); }

TEST(VectorMath, ExpIsWithinTwoAndAHalfUlpsOfLibm) {
  std::mt19937_64 rng(3);
  double worst = 0.0;
  for (int i = 0; i < 200000; ++i) {
    const double x = -700.0 + 1400.0 * double(rng() >> 11) * 0x1.0p-53;
    worst = std::fmax(worst, ulps(vector_exp(x), std::exp(x)));
  }
  EXPECT_LE(worst, 2.5);
  EXPECT_EQ(vector_exp(0.0), 1.0);
}

TEST(VectorMath, TanhIsWithinFiveUlpsOfLibmAtEveryScale) {
  std::mt19937_64 rng(5);
  double worst = 0.0;
  for (int i = 0; i < 400000; ++i) {
    // Uniform in [-1, 1) times 2^(-30 .. 5): tiny arguments, the 0.625 switch and saturation all sampled.
    const double x = std::ldexp(2.0 * double(rng() >> 11) * 0x1.0p-53 - 1.0, int(i % 36) - 30);
    if (x == 0.0) continue;
    worst = std::fmax(worst, ulps(vector_tanh(x), std::tanh(x)));
  }
  EXPECT_LE(worst, 5.0);
}

TEST(VectorMath, TanhSaturatesAndKeepsItsSign) {
  EXPECT_EQ(vector_tanh(0.0), 0.0);
  EXPECT_EQ(vector_tanh(30.0), 1.0);
  EXPECT_EQ(vector_tanh(-30.0), -1.0);
  EXPECT_EQ(vector_tanh(1e300), 1.0);
  EXPECT_EQ(vector_tanh(-1e300), -1.0);
  EXPECT_LT(vector_tanh(-1e-20), 0.0);
  EXPECT_EQ(vector_tanh(1e-20), 1e-20);
}

TEST(VectorMath, SigmoidMatchesItsDefinition) {
  for (double z : {-40.0, -5.0, -0.3, 0.0, 0.7, 6.0, 40.0}) {
    const double expected = 1.0 / (1.0 + std::exp(-z));
    EXPECT_NEAR(vector_activate(Activation::Sigmoid, z), expected, 4e-16 * expected) << z;
  }
}

}  // namespace
}  // namespace hessa::cpu
