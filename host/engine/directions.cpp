#include "engine/directions.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <memory>

#include "hessa/detail/analysis.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {
namespace {

// "1,0,-1" -> its numbers; false when any piece is not a whole number.
bool parse_inline(const std::string& spec, std::vector<double>& out) {
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = spec.find(',', start);
    const std::string piece = spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    char* end = nullptr;
    const double v = std::strtod(piece.c_str(), &end);
    if (piece.empty() || end == piece.c_str() || *end != '\0') return false;
    out.push_back(v);
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

void check_direction(const double* d, int n, const std::string& where) {
  double norm2 = 0.0;
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(d[i])) throw InputError(where + ": a direction's entries must be finite numbers");
    norm2 += d[i] * d[i];
  }
  if (norm2 == 0.0) throw InputError(where + ": a direction must not be zero");
}

}  // namespace

Directions read_directions(const std::vector<std::string>& specs, int n) {
  Directions d;
  d.n = n;
  for (const std::string& spec : specs) {
    std::vector<double> inline_values;
    if (parse_inline(spec, inline_values)) {
      if (int(inline_values.size()) != n) {
        throw InputError("--direction " + spec + ": expected n = " + std::to_string(n) + " numbers, found " +
                         std::to_string(inline_values.size()));
      }
      check_direction(inline_values.data(), n, "--direction " + spec);
      d.values.insert(d.values.end(), inline_values.begin(), inline_values.end());
      continue;
    }
    const std::unique_ptr<PointReader> reader = open_point_reader(spec);  // InputError for what is not a file
    if (reader->dimension() != n) {
      throw InputError(spec + ": directions have " + std::to_string(reader->dimension()) +
                       " columns; the function has n = " + std::to_string(n));
    }
    std::vector<double> rows;
    const std::size_t before = d.values.size() / std::size_t(n);
    while (reader->read(4096, rows) > 0) d.values.insert(d.values.end(), rows.begin(), rows.end());
    for (std::size_t k = before; k < d.values.size() / std::size_t(n); ++k) {
      check_direction(d.values.data() + k * std::size_t(n), n, spec + ", direction " + std::to_string(k - before + 1));
    }
    if (d.values.size() / std::size_t(n) == before) throw InputError(spec + ": no directions in the file");
  }
  return d;
}

std::vector<std::string> direction_column_names(const Directions& d) {
  std::vector<std::string> names;
  for (int k = 0; k < d.count(); ++k) names.push_back("curv_d" + std::to_string(k));
  for (int k = 0; k < d.count(); ++k) names.push_back("taylor_d" + std::to_string(k));
  return names;
}

void add_direction_columns(const Directions& d, ChunkResult& result) {
  const int m = d.count();
  const int n = d.n;
  const std::size_t nn = std::size_t(n) * std::size_t(n);
  result.extra_columns.assign(2 * std::size_t(m), std::vector<double>(result.count));
  for (std::size_t p = 0; p < result.count; ++p) {
    for (int k = 0; k < m; ++k) {
      const detail::DirectionalTerms t = detail::directional_terms(
          n, d.values.data() + std::size_t(k) * n, result.gradient.data() + p * n, result.hessian.data() + p * nn);
      result.extra_columns[std::size_t(k)][p] = t.curvature;
      result.extra_columns[std::size_t(m) + std::size_t(k)][p] = detail::quadratic_prediction(result.points[p].f, t);
    }
  }
}

void add_direction_columns_by_hvp(const Directions& d, Backend& backend, const Objective& objective,
                                  const double* points, ChunkResult& result) {
  constexpr std::size_t kBlockBytes = std::size_t(64) << 20;
  const int m = d.count();
  const int n = d.n;
  const std::size_t rn = std::size_t(m) * std::size_t(n);
  const std::size_t block = std::clamp<std::size_t>(kBlockBytes / (sizeof(double) * (rn + std::size_t(n) + 1)), 1,
                                                    std::max<std::size_t>(result.count, 1));
  const std::size_t first_column = result.extra_columns.size();  // appended after any columns already there
  result.extra_columns.resize(first_column + 2 * std::size_t(m), std::vector<double>(result.count));
  std::vector<double> f(block), g(block * std::size_t(n)), hv(block * rn);
  for (std::size_t first = 0; first < result.count; first += block) {
    const std::size_t count = std::min(block, result.count - first);
    backend.hessian_vector_products(objective, points + first * std::size_t(n), count, d.values.data(), 0, m, f.data(),
                                    g.data(), hv.data());
    for (std::size_t q = 0; q < count; ++q) {
      const std::size_t p = first + q;
      for (int k = 0; k < m; ++k) {
        double curvature = std::nan(""), taylor = std::nan("");
        if (result.points[p].status == PointStatus::Ok) {
          const detail::DirectionalTerms t = detail::directional_terms_from_hv(
              n, d.values.data() + std::size_t(k) * std::size_t(n), g.data() + q * std::size_t(n),
              hv.data() + q * rn + std::size_t(k) * std::size_t(n));
          curvature = t.curvature;
          taylor = detail::quadratic_prediction(result.points[p].f, t);
        }
        result.extra_columns[first_column + std::size_t(k)][p] = curvature;
        result.extra_columns[first_column + std::size_t(m) + std::size_t(k)][p] = taylor;
      }
    }
  }
}

}  // namespace hessa
