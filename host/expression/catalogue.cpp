// The catalogue of named functions (hessa expression language) and their analytic facts.
// Stationary points were found by Newton's method in double precision (gradient norm < 1e-13).
#include "hessa/catalogue.hpp"

#include <cmath>
#include <sstream>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {

std::string CatalogueEntry::dimension_text() const {
  return dimension > 0 ? std::to_string(dimension) : "n >= " + std::to_string(min_dimension);
}

namespace {

using Points = std::vector<std::vector<double>>;

void set_H(double* H, int n, int r, int c, double v) {
  H[c * n + r] = v;
  H[r * n + c] = v;
}

Points fixed_samples(std::initializer_list<std::vector<double>> points) { return Points(points); }

// Deterministic, irregular sample points for dimension-generic functions.
Points generic_samples(int n) {
  Points points;
  for (int s = 0; s < 3; ++s) {
    std::vector<double> x(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) x[std::size_t(i)] = 0.37 * (s + 1) * std::sin(1.3 * i + 0.7 * s) + 0.11 * s;
    points.push_back(x);
  }
  return points;
}

std::vector<StationaryPoint> none(int) { return {}; }

CatalogueEntry saddle() {
  CatalogueEntry e;
  e.name = "saddle";
  e.description = "x0^2 - x1^2: the textbook saddle (minimum along x0, maximum along x1)";
  e.dimension = 2;
  e.expression = "x0^2 - x1^2";
  e.gradient = [](const double* x, int, double* g) {
    g[0] = 2 * x[0];
    g[1] = -2 * x[1];
  };
  e.hessian = [](const double*, int n, double* H) {
    set_H(H, n, 0, 0, 2);
    set_H(H, n, 1, 1, -2);
    set_H(H, n, 0, 1, 0);
  };
  e.stationary_points = [](int) { return std::vector<StationaryPoint>{{{0, 0}, PointClass::Saddle}}; };
  e.sample_points = [](int) { return fixed_samples({{0.5, -1.25}, {3, 2}}); };
  return e;
}

CatalogueEntry monkey_saddle() {
  CatalogueEntry e;
  e.name = "monkey_saddle";
  e.description = "x0^3 - 3 x0 x1^2: three valleys meet at a degenerate stationary point (H = 0)";
  e.dimension = 2;
  e.expression = "x0^3 - 3*x0*x1^2";
  e.gradient = [](const double* x, int, double* g) {
    g[0] = 3 * x[0] * x[0] - 3 * x[1] * x[1];
    g[1] = -6 * x[0] * x[1];
  };
  e.hessian = [](const double* x, int n, double* H) {
    set_H(H, n, 0, 0, 6 * x[0]);
    set_H(H, n, 0, 1, -6 * x[1]);
    set_H(H, n, 1, 1, -6 * x[0]);
  };
  e.stationary_points = [](int) { return std::vector<StationaryPoint>{{{0, 0}, PointClass::Degenerate}}; };
  e.sample_points = [](int) { return fixed_samples({{0.7, -0.4}, {-1.5, 2.25}}); };
  return e;
}

CatalogueEntry quartic() {
  CatalogueEntry e;
  e.name = "quartic";
  e.description = "sum x_i^4: a minimum the second-derivative test cannot see (H = 0 at the origin)";
  e.min_dimension = 1;
  e.expression = "sum(i, 0, n-1, x[i]^4)";
  e.gradient = [](const double* x, int n, double* g) {
    for (int i = 0; i < n; ++i) g[i] = 4 * std::pow(x[i], 3);
  };
  e.hessian = [](const double* x, int n, double* H) {
    for (int i = 0; i < n * n; ++i) H[i] = 0;
    for (int i = 0; i < n; ++i) H[i * n + i] = 12 * x[i] * x[i];
  };
  e.stationary_points = [](int n) {
    return std::vector<StationaryPoint>{{std::vector<double>(std::size_t(n), 0.0), PointClass::Degenerate}};
  };
  e.sample_points = generic_samples;
  return e;
}

CatalogueEntry rosenbrock() {
  CatalogueEntry e;
  e.name = "rosenbrock";
  e.description = "sum 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2: curved valley, minimum at (1, ..., 1)";
  e.min_dimension = 2;
  e.expression = "sum(i, 0, n-2, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2)";
  e.gradient = [](const double* x, int n, double* g) {
    for (int i = 0; i < n; ++i) {
      g[i] = 0;
      if (i < n - 1) g[i] += -400 * x[i] * (x[i + 1] - x[i] * x[i]) - 2 * (1 - x[i]);
      if (i > 0) g[i] += 200 * (x[i] - x[i - 1] * x[i - 1]);
    }
  };
  e.hessian = [](const double* x, int n, double* H) {
    for (int i = 0; i < n * n; ++i) H[i] = 0;
    for (int i = 0; i < n; ++i) {
      double d = 0;
      if (i < n - 1) d += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
      if (i > 0) d += 200;
      H[i * n + i] = d;
      if (i < n - 1) set_H(H, n, i, i + 1, -400 * x[i]);
    }
  };
  e.stationary_points = [](int n) {
    return std::vector<StationaryPoint>{{std::vector<double>(std::size_t(n), 1.0), PointClass::Minimum}};
  };
  e.sample_points = generic_samples;
  return e;
}

CatalogueEntry himmelblau() {
  CatalogueEntry e;
  e.name = "himmelblau";
  e.description = "(x0^2 + x1 - 11)^2 + (x0 + x1^2 - 7)^2: 4 minima, 4 saddles, 1 maximum";
  e.dimension = 2;
  e.expression = "(x0^2 + x1 - 11)^2 + (x0 + x1^2 - 7)^2";
  e.gradient = [](const double* x, int, double* g) {
    const double a = x[0] * x[0] + x[1] - 11, b = x[0] + x[1] * x[1] - 7;
    g[0] = 4 * x[0] * a + 2 * b;
    g[1] = 2 * a + 4 * x[1] * b;
  };
  e.hessian = [](const double* x, int n, double* H) {
    set_H(H, n, 0, 0, 12 * x[0] * x[0] + 4 * x[1] - 42);
    set_H(H, n, 0, 1, 4 * x[0] + 4 * x[1]);
    set_H(H, n, 1, 1, 4 * x[0] + 12 * x[1] * x[1] - 26);
  };
  e.stationary_points = [](int) {
    return std::vector<StationaryPoint>{
        {{3.0, 2.0}, PointClass::Minimum},
        {{-2.805118086952745, 3.131312518250573}, PointClass::Minimum},
        {{-3.779310253377747, -3.2831859912861696}, PointClass::Minimum},
        {{3.5844283403304917, -1.8481265269644036}, PointClass::Minimum},
        {{-0.2708445906673476, -0.9230385564799815}, PointClass::Maximum},
        {{0.08667750455539634, 2.884254701174776}, PointClass::Saddle},
        {{-3.0730257507643897, -0.08135304428796751}, PointClass::Saddle},
        {{3.385154183607021, 0.07385187983774928}, PointClass::Saddle},
        {{-0.12796134673068005, -1.9537149802445766}, PointClass::Saddle},
    };
  };
  e.sample_points = [](int) { return fixed_samples({{1.0, 1.0}, {-2.5, 0.5}, {4.0, -3.0}}); };
  return e;
}

CatalogueEntry six_hump_camel() {
  CatalogueEntry e;
  e.name = "six_hump_camel";
  e.description = "(4 - 2.1 x0^2 + x0^4/3) x0^2 + x0 x1 + (-4 + 4 x1^2) x1^2: 6 minima, 7 saddles, 2 maxima";
  e.dimension = 2;
  e.expression = "(4 - 2.1*x0^2 + x0^4/3)*x0^2 + x0*x1 + (-4 + 4*x1^2)*x1^2";
  e.gradient = [](const double* x, int, double* g) {
    g[0] = 8 * x[0] - 8.4 * std::pow(x[0], 3) + 2 * std::pow(x[0], 5) + x[1];
    g[1] = x[0] - 8 * x[1] + 16 * std::pow(x[1], 3);
  };
  e.hessian = [](const double* x, int n, double* H) {
    set_H(H, n, 0, 0, 8 - 25.2 * x[0] * x[0] + 10 * std::pow(x[0], 4));
    set_H(H, n, 0, 1, 1);
    set_H(H, n, 1, 1, -8 + 48 * x[1] * x[1]);
  };
  e.stationary_points = [](int) {
    const PointClass m = PointClass::Minimum, s = PointClass::Saddle, M = PointClass::Maximum;
    return std::vector<StationaryPoint>{
        {{-1.7036067149699814, 0.7960835686726251}, m},   {{-1.6380679841897785, -0.22867406904439408}, s},
        {{-1.6071047529201974, -0.5686514548841313}, m},  {{-1.2960702671671092, -0.6050843880386585}, s},
        {{-1.2302298765166526, -0.16233458445899498}, M}, {{-1.1092053368047865, 0.7682680925095399}, s},
        {{-0.08984201310031807, 0.7126564030207396}, m},  {{0.0, 0.0}, s},
        {{0.08984201310031807, -0.7126564030207396}, m},  {{1.1092053368047865, -0.7682680925095399}, s},
        {{1.2302298765166524, 0.16233458445899493}, M},   {{1.2960702671671092, 0.6050843880386585}, s},
        {{1.6071047529201976, 0.5686514548841313}, m},    {{1.6380679841897785, 0.22867406904439408}, s},
        {{1.7036067149699814, -0.7960835686726251}, m},
    };
  };
  e.sample_points = [](int) { return fixed_samples({{0.5, 0.5}, {-1.2, 0.3}, {2.0, -1.0}}); };
  return e;
}

CatalogueEntry styblinski_tang() {
  CatalogueEntry e;
  e.name = "styblinski_tang";
  e.description = "1/2 sum x_i^4 - 16 x_i^2 + 5 x_i: 3^n stationary points (2^n minima)";
  e.min_dimension = 1;
  e.expression = "0.5*sum(i, 0, n-1, x[i]^4 - 16*x[i]^2 + 5*x[i])";
  e.gradient = [](const double* x, int n, double* g) {
    for (int i = 0; i < n; ++i) g[i] = 0.5 * (4 * std::pow(x[i], 3) - 32 * x[i] + 5);
  };
  e.hessian = [](const double* x, int n, double* H) {
    for (int i = 0; i < n * n; ++i) H[i] = 0;
    for (int i = 0; i < n; ++i) H[i * n + i] = 6 * x[i] * x[i] - 16;
  };
  e.stationary_points = [](int n) {
    // Per coordinate: roots of 4t^3 - 32t + 5; the outer two have f'' > 0, the middle one f'' < 0.
    const double roots[3] = {-2.903534027771177, 0.1567312567803401, 2.746802770990837};
    std::vector<StationaryPoint> points;
    if (n > 4) return points;  // 3^n grows fast; tests use small n
    int total = 1;
    for (int i = 0; i < n; ++i) total *= 3;
    for (int code = 0; code < total; ++code) {
      std::vector<double> x(static_cast<std::size_t>(n));
      int maxima = 0;
      for (int i = 0, c = code; i < n; ++i, c /= 3) {
        x[std::size_t(i)] = roots[c % 3];
        maxima += (c % 3 == 1);
      }
      const PointClass type = maxima == 0   ? PointClass::Minimum
                              : maxima == n ? PointClass::Maximum
                                            : PointClass::Saddle;
      points.push_back({x, type});
    }
    return points;
  };
  e.sample_points = generic_samples;
  return e;
}

CatalogueEntry rastrigin() {
  CatalogueEntry e;
  e.name = "rastrigin";
  e.description = "10 n + sum x_i^2 - 10 cos(2 pi x_i): a regular lattice of local minima, global one at 0";
  e.min_dimension = 1;
  e.expression = "10*n + sum(i, 0, n-1, x[i]^2 - 10*cos(2*pi*x[i]))";
  e.gradient = [](const double* x, int n, double* g) {
    for (int i = 0; i < n; ++i) g[i] = 2 * x[i] + 20 * M_PI * std::sin(2 * M_PI * x[i]);
  };
  e.hessian = [](const double* x, int n, double* H) {
    for (int i = 0; i < n * n; ++i) H[i] = 0;
    for (int i = 0; i < n; ++i) H[i * n + i] = 2 + 40 * M_PI * M_PI * std::cos(2 * M_PI * x[i]);
  };
  e.stationary_points = [](int n) {
    return std::vector<StationaryPoint>{{std::vector<double>(std::size_t(n), 0.0), PointClass::Minimum}};
  };
  e.sample_points = generic_samples;
  return e;
}

CatalogueEntry booth() {
  CatalogueEntry e;
  e.name = "booth";
  e.description = "(x0 + 2 x1 - 7)^2 + (2 x0 + x1 - 5)^2: a quadratic bowl, minimum at (1, 3)";
  e.dimension = 2;
  e.expression = "(x0 + 2*x1 - 7)^2 + (2*x0 + x1 - 5)^2";
  e.gradient = [](const double* x, int, double* g) {
    const double a = x[0] + 2 * x[1] - 7, b = 2 * x[0] + x[1] - 5;
    g[0] = 2 * a + 4 * b;
    g[1] = 4 * a + 2 * b;
  };
  e.hessian = [](const double*, int n, double* H) {
    set_H(H, n, 0, 0, 10);
    set_H(H, n, 0, 1, 8);
    set_H(H, n, 1, 1, 10);
  };
  e.stationary_points = [](int) { return std::vector<StationaryPoint>{{{1, 3}, PointClass::Minimum}}; };
  e.sample_points = [](int) { return fixed_samples({{0, 0}, {-4.5, 7.25}}); };
  return e;
}

CatalogueEntry beale() {
  CatalogueEntry e;
  e.name = "beale";
  e.description = "(1.5 - x0 + x0 x1)^2 + (2.25 - x0 + x0 x1^2)^2 + (2.625 - x0 + x0 x1^3)^2: minimum at (3, 0.5)";
  e.dimension = 2;
  e.expression = "(1.5 - x0 + x0*x1)^2 + (2.25 - x0 + x0*x1^2)^2 + (2.625 - x0 + x0*x1^3)^2";
  // f = sum_k u_k^2 with u_k = c_k - x + x y^k: g = 2 sum u_k grad u_k, H = 2 sum (grad u_k grad u_k' + u_k hess u_k).
  auto terms = [](const double* x, double u[3], double du[3][2], double d2u[3][3]) {
    const double c[3] = {1.5, 2.25, 2.625};
    for (int k = 0; k < 3; ++k) {
      const int p = k + 1;
      u[k] = c[k] - x[0] + x[0] * std::pow(x[1], p);
      du[k][0] = std::pow(x[1], p) - 1;
      du[k][1] = p * x[0] * std::pow(x[1], p - 1);
      d2u[k][0] = 0;                                                         // d2/dx2
      d2u[k][1] = p * std::pow(x[1], p - 1);                                 // d2/dxdy
      d2u[k][2] = p > 1 ? p * (p - 1) * x[0] * std::pow(x[1], p - 2) : 0.0;  // d2/dy2
    }
  };
  e.gradient = [terms](const double* x, int, double* g) {
    double u[3], du[3][2], d2u[3][3];
    terms(x, u, du, d2u);
    g[0] = g[1] = 0;
    for (int k = 0; k < 3; ++k) {
      g[0] += 2 * u[k] * du[k][0];
      g[1] += 2 * u[k] * du[k][1];
    }
  };
  e.hessian = [terms](const double* x, int n, double* H) {
    double u[3], du[3][2], d2u[3][3];
    terms(x, u, du, d2u);
    double hxx = 0, hxy = 0, hyy = 0;
    for (int k = 0; k < 3; ++k) {
      hxx += 2 * (du[k][0] * du[k][0] + u[k] * d2u[k][0]);
      hxy += 2 * (du[k][0] * du[k][1] + u[k] * d2u[k][1]);
      hyy += 2 * (du[k][1] * du[k][1] + u[k] * d2u[k][2]);
    }
    set_H(H, n, 0, 0, hxx);
    set_H(H, n, 0, 1, hxy);
    set_H(H, n, 1, 1, hyy);
  };
  e.stationary_points = [](int) {
    return std::vector<StationaryPoint>{{{3, 0.5}, PointClass::Minimum}, {{0, 1}, PointClass::Saddle}};
  };
  e.sample_points = [](int) { return fixed_samples({{1, 1}, {-1.5, 0.75}, {2.5, -0.5}}); };
  return e;
}

std::string format_double(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

}  // namespace

const std::vector<CatalogueEntry>& catalogue() {
  static const std::vector<CatalogueEntry> entries = {saddle(),     monkey_saddle(),  quartic(),         rosenbrock(),
                                                      himmelblau(), six_hump_camel(), styblinski_tang(), rastrigin(),
                                                      booth(),      beale()};
  return entries;
}

const CatalogueEntry* find_catalogue_entry(const std::string& name) {
  for (const CatalogueEntry& e : catalogue())
    if (e.name == name) return &e;
  return nullptr;
}

CatalogueEntry quadratic_form(const std::string& name, const std::vector<double>& A, int n) {
  CatalogueEntry e;
  e.name = name;
  e.description = "1/2 x'Ax for the " + std::to_string(n) + "x" + std::to_string(n) + " symmetric matrix A";
  e.dimension = n;
  // 0.5 * sum_r x_r * (sum_c A_rc x_c), written out: the language has no matrix literals.
  std::ostringstream text;
  text << "0.5*(";
  for (int r = 0; r < n; ++r) {
    text << (r ? "\n + " : "") << "x" << r << "*(";
    bool first = true;
    for (int c = 0; c < n; ++c) {
      const double a = A[std::size_t(r) * n + c];
      if (a == 0.0) continue;
      text << (first ? "" : " + ") << "(" << format_double(a) << ")*x" << c;
      first = false;
    }
    text << (first ? "0)" : ")");
  }
  text << ")";
  e.expression = text.str();
  e.gradient = [A, n](const double* x, int, double* g) {
    for (int r = 0; r < n; ++r) {
      g[r] = 0;
      for (int c = 0; c < n; ++c) g[r] += A[std::size_t(r) * n + c] * x[c];
    }
  };
  e.hessian = [A, n](const double*, int, double* H) {
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c) H[c * n + r] = A[std::size_t(r) * n + c];
  };
  e.stationary_points = none;
  e.sample_points = generic_samples;
  return e;
}

CatalogueEntry quadratic_form_from_file(const std::string& path) {
  auto reader = open_point_reader(path);
  const int n = reader->dimension();
  std::vector<double> A;
  std::vector<double> rows;
  while (reader->read(4096, rows) > 0) A.insert(A.end(), rows.begin(), rows.end());
  const int row_count = int(A.size() / std::size_t(n));
  if (row_count != n) {
    throw InputError(path, 0, 0,
                     "a quadratic form needs a square matrix: found " + std::to_string(row_count) + " rows of " +
                         std::to_string(n) + " numbers");
  }
  double scale = 0;
  for (double a : A) scale = std::max(scale, std::fabs(a));
  for (int r = 0; r < n; ++r) {
    for (int c = r + 1; c < n; ++c) {
      const double d = std::fabs(A[std::size_t(r) * n + c] - A[std::size_t(c) * n + r]);
      if (d > 1e-12 * scale) {
        throw InputError(path, r + 1, c + 1,
                         "the matrix is not symmetric: A[" + std::to_string(r) + "][" + std::to_string(c) +
                             "] = " + format_double(A[std::size_t(r) * n + c]) + " but A[" + std::to_string(c) + "][" +
                             std::to_string(r) + "] = " + format_double(A[std::size_t(c) * n + r]));
      }
    }
  }
  return quadratic_form("quadratic:" + path, A, n);
}

}  // namespace hessa
