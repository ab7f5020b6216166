// K independent doubles as one scalar of the tape's sweeps (detail/tape.hpp): the gradient stencil runs K stencil
// points through one dispatch of each tape node, and the lane loops vectorize. Arithmetic is lane by lane with the
// operations a double sweep performs, and elementary functions call the same scalar libm per lane, so every lane is
// bit for bit the double sweep's result. Branches (min, max, abs) are taken per lane.
#pragma once

#include <math.h>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/scalar_math.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::cpu {

template <int K>
struct LanePack {
  double v[K];
  LanePack() {
    for (int l = 0; l < K; ++l) v[l] = 0.0;
  }
  LanePack(double real) {  // NOLINT: constants promote implicitly
    for (int l = 0; l < K; ++l) v[l] = real;
  }
};

template <int K, class F>
inline LanePack<K> lanewise(const LanePack<K>& x, F f) {
  LanePack<K> r;
  for (int l = 0; l < K; ++l) r.v[l] = f(x.v[l]);
  return r;
}
template <int K, class F>
inline LanePack<K> lanewise(const LanePack<K>& x, const LanePack<K>& y, F f) {
  LanePack<K> r;
  for (int l = 0; l < K; ++l) r.v[l] = f(x.v[l], y.v[l]);
  return r;
}

template <int K>
inline LanePack<K> operator-(const LanePack<K>& x) {
  return lanewise(x, [](double a) { return -a; });
}
template <int K>
inline LanePack<K> operator+(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return a + b; });
}
template <int K>
inline LanePack<K> operator-(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return a - b; });
}
template <int K>
inline LanePack<K> operator*(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return a * b; });
}
template <int K>
inline LanePack<K> operator/(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return a / b; });
}

// The reverse sweep's accumulations, in place.
template <int K>
inline void add_to(LanePack<K>& acc, const LanePack<K>& x) {
  for (int l = 0; l < K; ++l) acc.v[l] += x.v[l];
}
template <int K>
inline void subtract_from(LanePack<K>& acc, const LanePack<K>& x) {
  for (int l = 0; l < K; ++l) acc.v[l] -= x.v[l];
}
template <int K>
inline void add_product(LanePack<K>& acc, const LanePack<K>& x, const LanePack<K>& y) {
  for (int l = 0; l < K; ++l) acc.v[l] += x.v[l] * y.v[l];
}
template <int K>
inline void subtract_product(LanePack<K>& acc, const LanePack<K>& x, const LanePack<K>& y) {
  for (int l = 0; l < K; ++l) acc.v[l] -= x.v[l] * y.v[l];
}
template <int K>
inline LanePack<K> scaled(double s, const LanePack<K>& x) {
  return lanewise(x, [s](double a) { return s * a; });
}
template <int K>
inline void min_max_adjoint(detail::Op op, const LanePack<K>& a, const LanePack<K>& b, const LanePack<K>& g,
                            LanePack<K>& da, LanePack<K>& db) {
  for (int l = 0; l < K; ++l) {
    const detail::Selected s = detail::min_max_selected(op, a.v[l], b.v[l]);
    if (s != detail::Selected::Second) da.v[l] += g.v[l];
    if (s != detail::Selected::First) db.v[l] += g.v[l];
  }
}
template <int K>
inline void abs_adjoint(const LanePack<K>& a, const LanePack<K>& g, LanePack<K>& da) {
  for (int l = 0; l < K; ++l) da.v[l] += a.v[l] >= 0.0 ? g.v[l] : -g.v[l];
}

#define HESSA_LANE_PACK_UNARY(name)                            \
  template <int K>                                             \
  inline LanePack<K> name(const LanePack<K>& x) {              \
    LanePack<K> r;                                             \
    for (int l = 0; l < K; ++l) r.v[l] = detail::name(x.v[l]); \
    return r;                                                  \
  }
HESSA_LANE_PACK_UNARY(s_sin)
HESSA_LANE_PACK_UNARY(s_cos)
HESSA_LANE_PACK_UNARY(s_tan)
HESSA_LANE_PACK_UNARY(s_asin)
HESSA_LANE_PACK_UNARY(s_acos)
HESSA_LANE_PACK_UNARY(s_atan)
HESSA_LANE_PACK_UNARY(s_sinh)
HESSA_LANE_PACK_UNARY(s_cosh)
HESSA_LANE_PACK_UNARY(s_tanh)
HESSA_LANE_PACK_UNARY(s_exp)
HESSA_LANE_PACK_UNARY(s_log)
HESSA_LANE_PACK_UNARY(s_log1p)
HESSA_LANE_PACK_UNARY(s_expm1)
HESSA_LANE_PACK_UNARY(s_sqrt)
HESSA_LANE_PACK_UNARY(s_cbrt)
#undef HESSA_LANE_PACK_UNARY

#define HESSA_LANE_PACK_BINARY(name)                                    \
  template <int K>                                                      \
  inline LanePack<K> name(const LanePack<K>& x, const LanePack<K>& y) { \
    LanePack<K> r;                                                      \
    for (int l = 0; l < K; ++l) r.v[l] = detail::name(x.v[l], y.v[l]);  \
    return r;                                                           \
  }
HESSA_LANE_PACK_BINARY(s_pow)
HESSA_LANE_PACK_BINARY(s_atan2)
HESSA_LANE_PACK_BINARY(s_hypot)
#undef HESSA_LANE_PACK_BINARY

// Branch-free forms (vectorizable), each equal to the scalar one lane by lane.
template <int K>
inline LanePack<K> s_abs(const LanePack<K>& x) {
  return lanewise(x, [](double a) { return ::fabs(a); });
}
template <int K>
inline LanePack<K> s_min(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return detail::s_min(a, b); });
}
template <int K>
inline LanePack<K> s_max(const LanePack<K>& x, const LanePack<K>& y) {
  return lanewise(x, y, [](double a, double b) { return detail::s_max(a, b); });
}

}  // namespace hessa::cpu
