// Shared test helpers: compiling expressions, analyzing points, GPU skipping, tolerance helpers.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/expression.hpp"

namespace hessa::test {

// Skips the current test (reported as skipped by ctest) when no usable CUDA device exists.
#define HESSA_SKIP_WITHOUT_GPU(backend_ptr, why)                  \
  do {                                                            \
    if (!(backend_ptr)) GTEST_SKIP() << "no usable GPU: " << why; \
  } while (0)

inline CompiledFunction compile(const std::string& text, int n, std::vector<std::string> vars = {}) {
  ExpressionOptions options;
  options.dimension = n;
  options.variable_names = std::move(vars);
  return compile_expression(text, options);
}

inline CompiledFunction compile_entry(const CatalogueEntry& e, int n) {
  ExpressionOptions options;
  options.dimension = n;
  options.source_name = e.name;
  return compile_expression(e.expression, options);
}

// Flattens a list of points to row-major storage.
inline std::vector<double> flatten(const std::vector<std::vector<double>>& points) {
  std::vector<double> flat;
  for (const auto& p : points) flat.insert(flat.end(), p.begin(), p.end());
  return flat;
}

inline ChunkResult analyze_points(Backend& backend, const CompiledFunction& f,
                                  const std::vector<std::vector<double>>& points, AnalysisOptions options = {}) {
  ChunkResult result;
  const std::vector<double> flat = flatten(points);
  backend.analyze(f, options, flat.data(), points.size(), result);
  return result;
}

// max_ij |A_ij - B_ij| / max(max_ij |B_ij|, 1): relative to the matrix's scale, so near-zero entries
// of a large Hessian are judged against its size, as FD noise is.
inline double scaled_max_error(const double* a, const double* b, std::size_t count) {
  double scale = 1.0;
  double err = 0.0;
  for (std::size_t k = 0; k < count; ++k) {
    scale = std::max(scale, std::fabs(b[k]));
    err = std::max(err, std::fabs(a[k] - b[k]));
  }
  return err / scale;
}

// "1.23e-05": measured errors as RecordProperty values.
inline std::string scientific(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", v);
  return text;
}

}  // namespace hessa::test
