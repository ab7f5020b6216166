// Hyper-dual numbers a + b e1 + c e2 + d e1e2 (e1^2 = e2^2 = 0, e1e2 != 0): seeding x_i with e1 and x_j with e2
// makes f's e1e2 part exactly d2f/dxi dxj and its e1 part df/dxi, with no step size (Fike & Alonso, 2011).
// The interpreter runs on this type unchanged; elementary functions follow the chain rule
//   g(x) = g(a) + g'(a) b e1 + g'(a) c e2 + (g'(a) d + g''(a) b c) e1e2.
// Non-smooth functions take the derivatives of the branch selected by the real parts: abs(x) at 0 is +x,
// min/max at a tie return their first argument - one-sided, consistent values, documented in README.md.
#pragma once

#include <math.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

struct HyperDual {
  double a, b, c, d;
  HESSA_HD HyperDual() : a(0), b(0), c(0), d(0) {}
  HESSA_HD HyperDual(double real) : a(real), b(0), c(0), d(0) {}  // NOLINT: constants promote implicitly
  HESSA_HD HyperDual(double a_, double b_, double c_, double d_) : a(a_), b(b_), c(c_), d(d_) {}
};

// g applied to x, given g(a), g'(a), g''(a).
HESSA_HD inline HyperDual chain(const HyperDual& x, double g0, double g1, double g2) {
  return HyperDual(g0, g1 * x.b, g1 * x.c, g1 * x.d + g2 * x.b * x.c);
}

// g(x, y) given its value and first/second partials at the real parts.
HESSA_HD inline HyperDual chain2(const HyperDual& x, const HyperDual& y, double g, double gx, double gy, double gxx,
                                 double gxy, double gyy) {
  return HyperDual(g, gx * x.b + gy * y.b, gx * x.c + gy * y.c,
                   gx * x.d + gy * y.d + gxx * x.b * x.c + gxy * (x.b * y.c + y.b * x.c) + gyy * y.b * y.c);
}

HESSA_HD inline HyperDual operator-(const HyperDual& x) { return HyperDual(-x.a, -x.b, -x.c, -x.d); }
HESSA_HD inline HyperDual operator+(const HyperDual& x, const HyperDual& y) {
  return HyperDual(x.a + y.a, x.b + y.b, x.c + y.c, x.d + y.d);
}
HESSA_HD inline HyperDual operator-(const HyperDual& x, const HyperDual& y) {
  return HyperDual(x.a - y.a, x.b - y.b, x.c - y.c, x.d - y.d);
}
HESSA_HD inline HyperDual operator*(const HyperDual& x, const HyperDual& y) {
  return HyperDual(x.a * y.a, x.a * y.b + x.b * y.a, x.a * y.c + x.c * y.a,
                   x.a * y.d + x.b * y.c + x.c * y.b + x.d * y.a);
}
HESSA_HD inline HyperDual operator/(const HyperDual& x, const HyperDual& y) {
  const double inv = 1.0 / y.a;
  return x * chain(y, inv, -inv * inv, 2.0 * inv * inv * inv);
}

HESSA_HD inline HyperDual s_sin(const HyperDual& x) {
  const double s = ::sin(x.a), c = ::cos(x.a);
  return chain(x, s, c, -s);
}
HESSA_HD inline HyperDual s_cos(const HyperDual& x) {
  const double s = ::sin(x.a), c = ::cos(x.a);
  return chain(x, c, -s, -c);
}
HESSA_HD inline HyperDual s_tan(const HyperDual& x) {
  const double t = ::tan(x.a), sec2 = 1.0 + t * t;
  return chain(x, t, sec2, 2.0 * t * sec2);
}
HESSA_HD inline HyperDual s_asin(const HyperDual& x) {
  const double r = 1.0 / ::sqrt(1.0 - x.a * x.a);
  return chain(x, ::asin(x.a), r, x.a * r * r * r);
}
HESSA_HD inline HyperDual s_acos(const HyperDual& x) {
  const double r = 1.0 / ::sqrt(1.0 - x.a * x.a);
  return chain(x, ::acos(x.a), -r, -x.a * r * r * r);
}
HESSA_HD inline HyperDual s_atan(const HyperDual& x) {
  const double r = 1.0 / (1.0 + x.a * x.a);
  return chain(x, ::atan(x.a), r, -2.0 * x.a * r * r);
}
HESSA_HD inline HyperDual s_sinh(const HyperDual& x) {
  const double s = ::sinh(x.a), c = ::cosh(x.a);
  return chain(x, s, c, s);
}
HESSA_HD inline HyperDual s_cosh(const HyperDual& x) {
  const double s = ::sinh(x.a), c = ::cosh(x.a);
  return chain(x, c, s, c);
}
HESSA_HD inline HyperDual s_tanh(const HyperDual& x) {
  const double t = ::tanh(x.a), sech2 = 1.0 - t * t;
  return chain(x, t, sech2, -2.0 * t * sech2);
}
HESSA_HD inline HyperDual s_exp(const HyperDual& x) {
  const double e = ::exp(x.a);
  return chain(x, e, e, e);
}
HESSA_HD inline HyperDual s_expm1(const HyperDual& x) {
  const double e = ::exp(x.a);
  return chain(x, ::expm1(x.a), e, e);
}
HESSA_HD inline HyperDual s_log(const HyperDual& x) {
  const double inv = 1.0 / x.a;
  return chain(x, ::log(x.a), inv, -inv * inv);
}
HESSA_HD inline HyperDual s_log1p(const HyperDual& x) {
  const double inv = 1.0 / (1.0 + x.a);
  return chain(x, ::log1p(x.a), inv, -inv * inv);
}
HESSA_HD inline HyperDual s_sqrt(const HyperDual& x) {
  const double s = ::sqrt(x.a);
  return chain(x, s, 0.5 / s, -0.25 / (s * x.a));
}
HESSA_HD inline HyperDual s_cbrt(const HyperDual& x) {
  const double r = ::cbrt(x.a);
  const double g1 = 1.0 / (3.0 * r * r);
  return chain(x, r, g1, -2.0 * g1 / (3.0 * x.a));
}
HESSA_HD inline HyperDual s_abs(const HyperDual& x) { return x.a >= 0.0 ? x : -x; }
// erf'(x) = 2/sqrt(pi) e^(-x^2), erf''(x) = -2 x erf'(x).
HESSA_HD inline HyperDual s_erf(const HyperDual& x) {
  const double g1 = 1.12837916709551257390 * ::exp(-x.a * x.a);
  return chain(x, ::erf(x.a), g1, -2.0 * x.a * g1);
}
HESSA_HD inline double real_part(const HyperDual& x) { return x.a; }
// x^y: power rule when y is a plain number (valid for negative x with integer y), else exp(y log x).
HESSA_HD inline HyperDual s_pow(const HyperDual& x, const HyperDual& y) {
  if (y.b == 0.0 && y.c == 0.0 && y.d == 0.0) {
    const double p = y.a;
    if (p == 0.0) return HyperDual(1.0);
    const double v = ::pow(x.a, p);
    if (x.a == 0.0) {
      // Derivatives at 0 exist only for p = 1 or p >= 2; pow(0, p - 1) / pow(0, p - 2) give them (or Inf).
      // p = 1: the second derivative is 0, not 0 * pow(0, -1) = NaN.
      const double g2 = p == 1.0 ? 0.0 : p * (p - 1.0) * ::pow(x.a, p - 2.0);
      return chain(x, v, p * ::pow(x.a, p - 1.0), g2);
    }
    return chain(x, v, p * v / x.a, p * (p - 1.0) * v / (x.a * x.a));
  }
  // General x^y (x > 0): the value from pow itself (as the double interpreter computes it, where exp(y log x)
  // would be off by ~eps |y log x|), partials g_x = y g / x, g_y = g log x, g_xx = y (y - 1) g / x^2,
  // g_xy = g (1 + y log x) / x, g_yy = g log^2 x.
  const double g = ::pow(x.a, y.a), l = ::log(x.a);
  return chain2(x, y, g, y.a * g / x.a, g * l, y.a * (y.a - 1.0) * g / (x.a * x.a), g * (1.0 + y.a * l) / x.a,
                g * l * l);
}
HESSA_HD inline HyperDual s_atan2(const HyperDual& y, const HyperDual& x) {
  // atan2(y, x): partials wrt x: -y/r2, wrt y: x/r2; second: xx 2xy/r4, xy (y^2 - x^2)/r4, yy -2xy/r4.
  const double r2 = x.a * x.a + y.a * y.a, r4 = r2 * r2;
  return chain2(x, y, ::atan2(y.a, x.a), -y.a / r2, x.a / r2, 2.0 * x.a * y.a / r4, (y.a * y.a - x.a * x.a) / r4,
                -2.0 * x.a * y.a / r4);
}
HESSA_HD inline HyperDual s_hypot(const HyperDual& x, const HyperDual& y) {
  const double r = ::hypot(x.a, y.a), r3 = r * r * r;
  return chain2(x, y, r, x.a / r, y.a / r, y.a * y.a / r3, -x.a * y.a / r3, x.a * x.a / r3);
}
HESSA_HD inline HyperDual s_min(const HyperDual& x, const HyperDual& y) {
  if (x.a != x.a || y.a != y.a) return x + y;  // NaN propagates, as for doubles
  return y.a < x.a ? y : x;
}
HESSA_HD inline HyperDual s_max(const HyperDual& x, const HyperDual& y) {
  if (x.a != x.a || y.a != y.a) return x + y;
  return y.a > x.a ? y : x;
}

HESSA_HD inline bool is_finite(const HyperDual& x) {
  return isfinite(x.a) && isfinite(x.b) && isfinite(x.c) && isfinite(x.d);
}

}  // namespace hessa::detail
