// Elementary functions for the interpreter's scalar type. Overloads for double live here;
// a hyper-dual scalar adds its own overloads next to its type so the interpreter stays generic.
#pragma once

#include <math.h>

#include "hessa/hd.hpp"

namespace hessa::detail {

HESSA_HD inline double s_sin(double a) { return ::sin(a); }
HESSA_HD inline double s_cos(double a) { return ::cos(a); }
HESSA_HD inline double s_tan(double a) { return ::tan(a); }
HESSA_HD inline double s_asin(double a) { return ::asin(a); }
HESSA_HD inline double s_acos(double a) { return ::acos(a); }
HESSA_HD inline double s_atan(double a) { return ::atan(a); }
HESSA_HD inline double s_sinh(double a) { return ::sinh(a); }
HESSA_HD inline double s_cosh(double a) { return ::cosh(a); }
HESSA_HD inline double s_tanh(double a) { return ::tanh(a); }
HESSA_HD inline double s_exp(double a) { return ::exp(a); }
HESSA_HD inline double s_log(double a) { return ::log(a); }
HESSA_HD inline double s_log1p(double a) { return ::log1p(a); }
HESSA_HD inline double s_expm1(double a) { return ::expm1(a); }
HESSA_HD inline double s_sqrt(double a) { return ::sqrt(a); }
HESSA_HD inline double s_cbrt(double a) { return ::cbrt(a); }
HESSA_HD inline double s_abs(double a) { return ::fabs(a); }
HESSA_HD inline double s_erf(double a) { return ::erf(a); }
// The real part of a scalar (a hyper-dual number adds its overload): branches follow it.
HESSA_HD inline double real_part(double a) { return a; }
HESSA_HD inline double s_pow(double a, double b) { return ::pow(a, b); }
HESSA_HD inline double s_atan2(double a, double b) { return ::atan2(a, b); }
HESSA_HD inline double s_hypot(double a, double b) { return ::hypot(a, b); }
// NaN-propagating min/max: a NaN argument must surface as a non-finite f, not be silently dropped.
HESSA_HD inline double s_min(double a, double b) { return (a != a || b != b) ? a + b : (b < a ? b : a); }
HESSA_HD inline double s_max(double a, double b) { return (a != a || b != b) ? a + b : (b > a ? b : a); }

}  // namespace hessa::detail
