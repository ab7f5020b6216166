// exp and tanh written so that the compiler vectorizes loops over them (glibc's tanh was 84 % of a tanh MLP's
// loss evaluation, one element at a time). Cephes' algorithms (S. L. Moshier): exp by Cody-Waite reduction
// and a Pade form, |rel. error| <= 1.5 ulp; tanh by a rational form below 0.625, else (s - 1) / (s + 1) with
// s = e^(2|x|), < 5 ulp (tests/test_vector_math.cpp measures both against libm). Branch-free: both sides of a select
// are computed. Vectorizes only without trapping math (model_loss.cpp is compiled with -fno-trapping-math). CPU only:
// the CUDA kernels use the device's tanh / exp through detail::activate.
#pragma once

#include <cstdint>
#include <cstring>

#include "hessa/detail/mlp.hpp"

namespace hessa::cpu {

// e^x as the fraction (num / den) * scale, so that callers fold the division into their own (one division per
// element: divisions bound these loops).
struct ExpParts {
  double num, den, scale;
};

inline ExpParts exp_parts(double x) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2High = 6.93145751953125E-1;  // ln 2 = high + low; n * high is exact for |n| < 2^11
  constexpr double kLn2Low = 1.42860682030941723212E-6;
  constexpr double kRound = 6755399441055744.0;       // 1.5 * 2^52: adding it rounds to an integer in the low bits
  x = x > 709.0 ? 709.0 : (x < -708.0 ? -708.0 : x);  // e^x stays normal; the callers saturate long before
  const double t = x * kLog2e + kRound;
  const double n = t - kRound;  // round(x / ln 2)
  std::uint64_t bits;
  std::memcpy(&bits, &t, sizeof bits);  // 0x4338000000000000 + n: shifting by 52 drops the constant
  const std::uint64_t exponent = (bits + 1023) << 52;
  ExpParts e;
  std::memcpy(&e.scale, &exponent, sizeof e.scale);  // 2^n
  const double r = x - n * kLn2High - n * kLn2Low;   // |r| <= ln 2 / 2
  const double rr = r * r;
  const double p = r * ((1.26177193074810590878E-4 * rr + 3.02994407707441961300E-2) * rr + 9.99999999999999999910E-1);
  const double q =
      ((3.00198505138664455042E-6 * rr + 2.52448340349684104192E-3) * rr + 2.27265548208155028766E-1) * rr +
      2.00000000000000000009E0;
  e.num = q + p;  // e^r = 1 + 2 p / (q - p) = (q + p) / (q - p)
  e.den = q - p;
  return e;
}

inline double vector_exp(double x) {
  const ExpParts e = exp_parts(x);
  return e.num / e.den * e.scale;
}

// tanh x = x + x z P(z) / Q(z), z = x^2, below 0.625; else (s - 1) / (s + 1), s = e^(2|x|), with the sign of x.
inline double vector_tanh(double x) {
  const double a = x < 0.0 ? -x : x;
  const double z = x * x;
  const double P = (-9.64399179425052238628E-1 * z - 9.92877231001918586564E1) * z - 1.61468768441708447952E3;
  const double Q = ((z + 1.12811678491632931402E2) * z + 2.23548839060100448583E3) * z + 4.84406305325125486048E3;
  const ExpParts e = exp_parts(2.0 * (a > 22.0 ? 22.0 : a));  // tanh(22) == 1 in double
  const double s_num = e.num * e.scale;                       // s = s_num / e.den
  const bool small = a < 0.625;
  const double ratio = (small ? x * z * P : s_num - e.den) / (small ? Q : s_num + e.den);
  return small ? x + ratio : (x < 0.0 ? -ratio : ratio);
}

// 1 / (1 + e^-z) = den / (den + num scale).
inline double vector_sigmoid(double z) {
  const ExpParts e = exp_parts(-z);
  return e.den / (e.den + e.num * e.scale);
}

// The activation of detail/mlp.hpp, vectorized where it pays (tanh, sigmoid); relu and gelu as shared.
inline double vector_activate(Activation a, double z) {
  switch (a) {
    case Activation::Tanh: return vector_tanh(z);
    case Activation::Sigmoid: return vector_sigmoid(z);
    case Activation::Relu:
    case Activation::Gelu: break;
  }
  return detail::activate(a, z);
}

}  // namespace hessa::cpu
