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

namespace hessa::cpu {

// K independent values of a sweep scalar T (a Tangent<L>: K points' forward-over-reverse at once) as one scalar
// of the tape's sweeps: each node is dispatched once for K points, and every lane runs exactly T's own
// operations, so each lane is bit for bit the unpacked sweep's result. Branches are taken per lane.
template <class T, int K>
struct PointPack {
  T p[K];
  PointPack() = default;
  PointPack(double real) {  // NOLINT: constants promote implicitly
    for (int l = 0; l < K; ++l) p[l] = T(real);
  }
};

template <class T, int K, class F>
inline PointPack<T, K> pointwise(const PointPack<T, K>& x, F f) {
  PointPack<T, K> r;
  for (int l = 0; l < K; ++l) r.p[l] = f(x.p[l]);
  return r;
}
template <class T, int K, class F>
inline PointPack<T, K> pointwise(const PointPack<T, K>& x, const PointPack<T, K>& y, F f) {
  PointPack<T, K> r;
  for (int l = 0; l < K; ++l) r.p[l] = f(x.p[l], y.p[l]);
  return r;
}

template <class T, int K>
inline PointPack<T, K> operator-(const PointPack<T, K>& x) {
  return pointwise(x, [](const T& a) { return -a; });
}
template <class T, int K>
inline PointPack<T, K> operator+(const PointPack<T, K>& x, const PointPack<T, K>& y) {
  return pointwise(x, y, [](const T& a, const T& b) { return a + b; });
}
template <class T, int K>
inline PointPack<T, K> operator-(const PointPack<T, K>& x, const PointPack<T, K>& y) {
  return pointwise(x, y, [](const T& a, const T& b) { return a - b; });
}
template <class T, int K>
inline PointPack<T, K> operator*(const PointPack<T, K>& x, const PointPack<T, K>& y) {
  return pointwise(x, y, [](const T& a, const T& b) { return a * b; });
}
template <class T, int K>
inline PointPack<T, K> operator/(const PointPack<T, K>& x, const PointPack<T, K>& y) {
  return pointwise(x, y, [](const T& a, const T& b) { return a / b; });
}

// The reverse sweep's accumulations and branch rules: T's own (detail/tape.hpp, detail/tangent.hpp) per lane.
template <class T, int K>
inline void add_to(PointPack<T, K>& acc, const PointPack<T, K>& x) {
  for (int l = 0; l < K; ++l) detail::add_to(acc.p[l], x.p[l]);
}
template <class T, int K>
inline void subtract_from(PointPack<T, K>& acc, const PointPack<T, K>& x) {
  for (int l = 0; l < K; ++l) detail::subtract_from(acc.p[l], x.p[l]);
}
template <class T, int K>
inline void add_product(PointPack<T, K>& acc, const PointPack<T, K>& x, const PointPack<T, K>& y) {
  for (int l = 0; l < K; ++l) detail::add_product(acc.p[l], x.p[l], y.p[l]);
}
template <class T, int K>
inline void subtract_product(PointPack<T, K>& acc, const PointPack<T, K>& x, const PointPack<T, K>& y) {
  for (int l = 0; l < K; ++l) detail::subtract_product(acc.p[l], x.p[l], y.p[l]);
}
template <class T, int K>
inline PointPack<T, K> scaled(double s, const PointPack<T, K>& x) {
  return pointwise(x, [s](const T& a) { return detail::scaled(s, a); });
}
template <class T, int K>
inline void min_max_adjoint(detail::Op op, const PointPack<T, K>& a, const PointPack<T, K>& b, const PointPack<T, K>& g,
                            PointPack<T, K>& da, PointPack<T, K>& db) {
  for (int l = 0; l < K; ++l) detail::min_max_adjoint(op, a.p[l], b.p[l], g.p[l], da.p[l], db.p[l]);
}
template <class T, int K>
inline void abs_adjoint(const PointPack<T, K>& a, const PointPack<T, K>& g, PointPack<T, K>& da) {
  for (int l = 0; l < K; ++l) detail::abs_adjoint(a.p[l], g.p[l], da.p[l]);
}

#define HESSA_POINT_PACK_UNARY(name)                      \
  template <class T, int K>                               \
  inline PointPack<T, K> name(const PointPack<T, K>& x) { \
    return pointwise(x, [](const T& a) {                  \
      using detail::name;                                 \
      return name(a);                                     \
    });                                                   \
  }
HESSA_POINT_PACK_UNARY(s_sin)
HESSA_POINT_PACK_UNARY(s_cos)
HESSA_POINT_PACK_UNARY(s_tan)
HESSA_POINT_PACK_UNARY(s_asin)
HESSA_POINT_PACK_UNARY(s_acos)
HESSA_POINT_PACK_UNARY(s_atan)
HESSA_POINT_PACK_UNARY(s_sinh)
HESSA_POINT_PACK_UNARY(s_cosh)
HESSA_POINT_PACK_UNARY(s_tanh)
HESSA_POINT_PACK_UNARY(s_exp)
HESSA_POINT_PACK_UNARY(s_log)
HESSA_POINT_PACK_UNARY(s_log1p)
HESSA_POINT_PACK_UNARY(s_expm1)
HESSA_POINT_PACK_UNARY(s_sqrt)
HESSA_POINT_PACK_UNARY(s_cbrt)
HESSA_POINT_PACK_UNARY(s_abs)
#undef HESSA_POINT_PACK_UNARY

#define HESSA_POINT_PACK_BINARY(name)                                               \
  template <class T, int K>                                                         \
  inline PointPack<T, K> name(const PointPack<T, K>& x, const PointPack<T, K>& y) { \
    return pointwise(x, y, [](const T& a, const T& b) {                             \
      using detail::name;                                                           \
      return name(a, b);                                                            \
    });                                                                             \
  }
HESSA_POINT_PACK_BINARY(s_pow)
HESSA_POINT_PACK_BINARY(s_atan2)
HESSA_POINT_PACK_BINARY(s_hypot)
HESSA_POINT_PACK_BINARY(s_min)
HESSA_POINT_PACK_BINARY(s_max)
#undef HESSA_POINT_PACK_BINARY

}  // namespace hessa::cpu
