// Forward-mode dual numbers with L tangent lanes: v + sum_l d_l e_l (e_l e_m = 0). Seeding x_k's lane l with
// direction l's k-th entry carries L directional derivatives through any computation at once; run through the
// tape's reverse sweep (detail/tape.hpp) it gives H d_l for every lane (forward-over-reverse). The value part
// is computed by exactly the double operations the interpreter performs, so f is the same bit for bit.
// Kinks follow the value, as hyper-dual numbers do: abs at 0 is +x, min/max at a tie pick the first argument.
#pragma once

#include <math.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

template <int L>
struct Tangent {
  double v;
  double d[L];
  HESSA_HD Tangent() : v(0.0) {
    for (int l = 0; l < L; ++l) d[l] = 0.0;
  }
  HESSA_HD Tangent(double real) : v(real) {  // NOLINT: constants promote implicitly
    for (int l = 0; l < L; ++l) d[l] = 0.0;
  }
};

// g(x) given g(v) and g'(v).
template <int L>
HESSA_HD inline Tangent<L> chain(const Tangent<L>& x, double g0, double g1) {
  Tangent<L> r;
  r.v = g0;
  for (int l = 0; l < L; ++l) r.d[l] = g1 * x.d[l];
  return r;
}

// g(x, y) given g(v) and its partials.
template <int L>
HESSA_HD inline Tangent<L> chain2(const Tangent<L>& x, const Tangent<L>& y, double g0, double gx, double gy) {
  Tangent<L> r;
  r.v = g0;
  for (int l = 0; l < L; ++l) r.d[l] = gx * x.d[l] + gy * y.d[l];
  return r;
}

template <int L>
HESSA_HD inline Tangent<L> operator-(const Tangent<L>& x) {
  Tangent<L> r;
  r.v = -x.v;
  for (int l = 0; l < L; ++l) r.d[l] = -x.d[l];
  return r;
}
template <int L>
HESSA_HD inline Tangent<L> operator+(const Tangent<L>& x, const Tangent<L>& y) {
  Tangent<L> r;
  r.v = x.v + y.v;
  for (int l = 0; l < L; ++l) r.d[l] = x.d[l] + y.d[l];
  return r;
}
template <int L>
HESSA_HD inline Tangent<L> operator-(const Tangent<L>& x, const Tangent<L>& y) {
  Tangent<L> r;
  r.v = x.v - y.v;
  for (int l = 0; l < L; ++l) r.d[l] = x.d[l] - y.d[l];
  return r;
}
template <int L>
HESSA_HD inline Tangent<L> operator*(const Tangent<L>& x, const Tangent<L>& y) {
  Tangent<L> r;
  r.v = x.v * y.v;
  for (int l = 0; l < L; ++l) r.d[l] = x.v * y.d[l] + x.d[l] * y.v;
  return r;
}
template <int L>
HESSA_HD inline Tangent<L> operator/(const Tangent<L>& x, const Tangent<L>& y) {
  Tangent<L> r;
  r.v = x.v / y.v;  // the quotient itself, as the interpreter divides
  const double inv = 1.0 / y.v;
  for (int l = 0; l < L; ++l) r.d[l] = (x.d[l] - r.v * y.d[l]) * inv;
  return r;
}

// The reverse sweep's in-place accumulations (detail/tape.hpp), one lane loop each.
template <int L>
HESSA_HD inline void add_to(Tangent<L>& acc, const Tangent<L>& x) {
  acc.v += x.v;
  for (int l = 0; l < L; ++l) acc.d[l] += x.d[l];
}
template <int L>
HESSA_HD inline void subtract_from(Tangent<L>& acc, const Tangent<L>& x) {
  acc.v -= x.v;
  for (int l = 0; l < L; ++l) acc.d[l] -= x.d[l];
}
template <int L>
HESSA_HD inline void add_product(Tangent<L>& acc, const Tangent<L>& x, const Tangent<L>& y) {
  acc.v += x.v * y.v;
  for (int l = 0; l < L; ++l) acc.d[l] += x.v * y.d[l] + x.d[l] * y.v;
}
template <int L>
HESSA_HD inline void subtract_product(Tangent<L>& acc, const Tangent<L>& x, const Tangent<L>& y) {
  acc.v -= x.v * y.v;
  for (int l = 0; l < L; ++l) acc.d[l] -= x.v * y.d[l] + x.d[l] * y.v;
}
template <int L>
HESSA_HD inline Tangent<L> scaled(double s, const Tangent<L>& x) {
  Tangent<L> r;
  r.v = s * x.v;
  for (int l = 0; l < L; ++l) r.d[l] = s * x.d[l];
  return r;
}

template <int L>
HESSA_HD inline double real_part(const Tangent<L>& x) {
  return x.v;
}
template <int L>
HESSA_HD inline bool has_tangent(const Tangent<L>& x) {
  for (int l = 0; l < L; ++l) {
    if (x.d[l] != 0.0) return true;
  }
  return false;
}

template <int L>
HESSA_HD inline Tangent<L> s_sin(const Tangent<L>& x) {
  return chain(x, ::sin(x.v), ::cos(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_cos(const Tangent<L>& x) {
  return chain(x, ::cos(x.v), -::sin(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_tan(const Tangent<L>& x) {
  const double t = ::tan(x.v);
  return chain(x, t, 1.0 + t * t);
}
template <int L>
HESSA_HD inline Tangent<L> s_asin(const Tangent<L>& x) {
  return chain(x, ::asin(x.v), 1.0 / ::sqrt(1.0 - x.v * x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_acos(const Tangent<L>& x) {
  return chain(x, ::acos(x.v), -1.0 / ::sqrt(1.0 - x.v * x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_atan(const Tangent<L>& x) {
  return chain(x, ::atan(x.v), 1.0 / (1.0 + x.v * x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_sinh(const Tangent<L>& x) {
  return chain(x, ::sinh(x.v), ::cosh(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_cosh(const Tangent<L>& x) {
  return chain(x, ::cosh(x.v), ::sinh(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_tanh(const Tangent<L>& x) {
  const double t = ::tanh(x.v);
  return chain(x, t, 1.0 - t * t);
}
template <int L>
HESSA_HD inline Tangent<L> s_exp(const Tangent<L>& x) {
  const double e = ::exp(x.v);
  return chain(x, e, e);
}
template <int L>
HESSA_HD inline Tangent<L> s_expm1(const Tangent<L>& x) {
  return chain(x, ::expm1(x.v), ::exp(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_log(const Tangent<L>& x) {
  return chain(x, ::log(x.v), 1.0 / x.v);
}
template <int L>
HESSA_HD inline Tangent<L> s_log1p(const Tangent<L>& x) {
  return chain(x, ::log1p(x.v), 1.0 / (1.0 + x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_sqrt(const Tangent<L>& x) {
  const double s = ::sqrt(x.v);
  return chain(x, s, 0.5 / s);
}
template <int L>
HESSA_HD inline Tangent<L> s_cbrt(const Tangent<L>& x) {
  const double r = ::cbrt(x.v);
  return chain(x, r, 1.0 / (3.0 * r * r));
}
template <int L>
HESSA_HD inline Tangent<L> s_abs(const Tangent<L>& x) {
  return x.v >= 0.0 ? x : -x;
}
template <int L>
HESSA_HD inline Tangent<L> s_erf(const Tangent<L>& x) {
  return chain(x, ::erf(x.v), 1.12837916709551257390 * ::exp(-x.v * x.v));
}
// x^y: the power rule when y carries no tangent (valid for negative x with integer y; y = 0 gives exactly 1, as
// the hyper-dual rule), else also the exp(y log x) term.
template <int L>
HESSA_HD inline Tangent<L> s_pow(const Tangent<L>& x, const Tangent<L>& y) {
  const double value = ::pow(x.v, y.v);
  if (!has_tangent(y)) {
    if (y.v == 0.0) return Tangent<L>(1.0);
    return chain(x, value, y.v * ::pow(x.v, y.v - 1.0));
  }
  return chain2(x, y, value, y.v * ::pow(x.v, y.v - 1.0), value * ::log(x.v));
}
template <int L>
HESSA_HD inline Tangent<L> s_atan2(const Tangent<L>& y, const Tangent<L>& x) {
  const double r2 = x.v * x.v + y.v * y.v;
  return chain2(y, x, ::atan2(y.v, x.v), x.v / r2, -y.v / r2);
}
template <int L>
HESSA_HD inline Tangent<L> s_hypot(const Tangent<L>& x, const Tangent<L>& y) {
  const double r = ::hypot(x.v, y.v);
  return chain2(x, y, r, x.v / r, y.v / r);
}
template <int L>
HESSA_HD inline Tangent<L> s_min(const Tangent<L>& x, const Tangent<L>& y) {
  if (x.v != x.v || y.v != y.v) return x + y;  // NaN propagates, as for doubles
  return y.v < x.v ? y : x;
}
template <int L>
HESSA_HD inline Tangent<L> s_max(const Tangent<L>& x, const Tangent<L>& y) {
  if (x.v != x.v || y.v != y.v) return x + y;
  return y.v > x.v ? y : x;
}

}  // namespace hessa::detail
