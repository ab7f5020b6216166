// A hand-filled result over two chunks, for the result writers' tests (test_result_writers.cpp) and the atomic
// output tests (test_output_file.cpp): 5 points of n = 3 with every optional array and the special doubles.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "hessa/io.hpp"
#include "io_support.hpp"

namespace hessa::test {

// Values are chosen so that a swapped index shows: H(r,c) = 100r + 10c + q + 0.1 (not symmetric), component r
// of eigenvector k = 1000k + r + q/7, at global point q. Special values: -0, denormals, DBL_MAX, NaN, +Inf.
inline constexpr int kN = 3;
inline constexpr int kPoints = 5;

inline double coordinate(int q, int i) {
  if (q == 0 && i == 0) return -0.0;
  if (q == 1 && i == 1) return 4.9e-324;
  if (q == 2 && i == 2) return 1.7976931348623157e308;
  return (q + 1) * 0.1 + i / 3.0;
}
inline double hessian_entry(int q, int r, int c) { return 100.0 * r + 10.0 * c + q + 0.1; }
inline double eigenvector_entry(int q, int k, int r) { return 1000.0 * k + r + q / 7.0; }

inline PointAnalysis analysis(int q) {
  const PointClass classes[] = {PointClass::Minimum, PointClass::Unknown, PointClass::Saddle, PointClass::Noncritical,
                                PointClass::Degenerate};
  const PointStatus statuses[] = {PointStatus::Ok, PointStatus::NonfiniteF, PointStatus::Ok,
                                  PointStatus::EigenNotConverged, PointStatus::Ok};
  const std::int8_t uphill[] = {-1, 0, 1, -1, 1};
  PointAnalysis a{};
  a.f = std::sqrt(2.0) * (q + 1);
  a.grad_norm = q * 1e-7 / 3;
  a.lambda_min = -q / 7.0;
  a.lambda_max = q / 7.0 + 1;
  a.lr_max = q == 2 ? kNaN : 1 / a.lambda_max;
  a.gHg = -q / 3.0;
  a.step_opt = q % 2 ? kNaN : 0.25;
  a.step = 0.125 * q;
  a.taylor_pred = M_PI * q;
  a.f_step = q == 3 ? kInf : std::exp(q);
  a.confidence = q == 1 ? kNaN : 1.5 + q;
  a.hess_err = 1e-9 * (q + 1) / 7;
  a.grad_err = q == 4 ? kNaN : 3e-11 * q;
  a.morse_index = q == 1 ? -1 : q;
  a.point_class = classes[q];
  a.status = statuses[q];
  a.uphill = uphill[q];
  return a;
}

inline OutputLayout full_layout() {
  OutputLayout layout;
  layout.n = kN;
  layout.coordinate_names = {"x", "y", "z"};
  layout.gradient = layout.hessian = layout.eigenvalues = layout.eigenvectors = true;
  return layout;
}

// Points [first, first + count) as a chunk; matrices column-major as ChunkResult documents.
inline std::pair<std::vector<double>, ChunkResult> chunk(int first, int count) {
  std::vector<double> points;
  ChunkResult r;
  AnalysisOptions all;
  all.keep_gradient = all.keep_hessian = all.keep_eigenvalues = all.eigenvectors = true;
  r.resize(std::size_t(count), kN, all);
  for (int p = 0; p < count; ++p) {
    const int q = first + p;
    r.points[std::size_t(p)] = analysis(q);
    for (int i = 0; i < kN; ++i) {
      points.push_back(coordinate(q, i));
      r.gradient[std::size_t(p * kN + i)] = q - i * 0.5 + 1e-3;
      r.eigenvalues[std::size_t(p * kN + i)] = i - q / 9.0;
      for (int j = 0; j < kN; ++j) {
        r.hessian[std::size_t(p * kN * kN + j * kN + i)] = hessian_entry(q, i, j);           // H(i, j)
        r.eigenvectors[std::size_t(p * kN * kN + i * kN + j)] = eigenvector_entry(q, i, j);  // component j of k=i
      }
    }
  }
  return {points, r};
}

inline const std::string kMetadata = R"({"tool":"hessa","note":"caf\u00e9 \u2713","n":3})";

// Writes points 0-2 and 3-4 as two chunks and finishes.
inline void write_two_chunks(const std::string& path, const OutputLayout& layout = full_layout()) {
  auto writer = open_result_writer(path, layout);
  for (const auto& [first, count] : {std::pair{0, 3}, std::pair{3, 2}}) {
    auto [points, result] = chunk(first, count);
    writer->write(points.data(), result);
  }
  writer->finish(kMetadata);
}

}  // namespace hessa::test
