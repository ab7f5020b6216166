// Batched search for stationary points (grad f = 0) from many starts: Levenberg-Marquardt on g(x) = 0 with
// J = H taken from the backend's eigenpairs, one backend call per iteration over all active starts, then
// deduplication of the converged points with the number of starts that reached each (its basin count).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hessa/backend.hpp"

namespace hessa {

// Axis-aligned box lower_i <= x_i <= upper_i. Its diagonal sets every length scale of the search.
struct SearchBox {
  std::vector<double> lower;
  std::vector<double> upper;

  int dimension() const { return int(lower.size()); }
  double diagonal() const;
  bool contains(const double* x) const;
};

// counts[i] points per coordinate, evenly spaced with both ends included (1 point: the middle), row-major with
// the last coordinate varying fastest.
std::vector<double> grid_points(const SearchBox& box, const std::vector<int>& counts);

// 2^-17 ~ eps^(1/3): the step that minimizes a central-difference gradient's error (truncation h^2 f'''/6
// against rounding eps |f| / h). The search only needs g to be accurate: the iteration's fixed point is where the
// FD gradient vanishes, so g's error, ~1e-10 here against ~1e-6 at the Hessian's 2^-13, is the error of the
// points found; the Hessian (noisier at this step, ~4e-6 |f|) only sets how fast the iteration gets there.
inline constexpr double kCriticalSearchStepScale = 7.62939453125e-6;

struct CriticalSearchOptions {
  SearchBox box;               // required: the scale of the problem (trust radius, tolerances)
  bool confine_to_box = true;  // a start whose next iterate leaves the box is dropped (counted in left_box)
  StencilKind stencil = StencilKind::Central;
  double step_scale = kCriticalSearchStepScale;  // relative FD step during the search
  int max_iterations = 100;                      // backend evaluations per start, the first (at the start) included
  // Convergence, at an accepted iterate x (D = box diagonal, G = median ||g|| over the starts):
  //   ||g|| <= gradient_rtol * G, or ||H^+ g|| (the Newton step) <= step_rtol * D, or a rejected step while
  //   ||H^+ g|| <= noise_floor_rtol * D (||g|| cannot be lowered further through the FD noise).
  double gradient_rtol = 1e-10;
  double step_rtol = 1e-9;
  double noise_floor_rtol = 1e-7;
  double trust_radius_rtol = 0.05;  // no step longer than this times D
  // Converged points closer than max(dedup_rtol * D, dedup_fd_steps * h) are one stationary point, h the search's
  // largest FD step in the box (step_scale * max(1, max |bound|)): FD derivatives cannot resolve structure finer
  // than h, and at a degenerate point they split it (x^3 - 3xy^2 has FD roots (0, +-h/sqrt 3) near 0).
  double dedup_rtol = 1e-6;
  double dedup_fd_steps = 4.0;
  double mu_initial = 1e-3;        // mu at a start = mu_initial * max lambda^2 (Marquardt's tau)
  double mu_decrease = 1.0 / 3.0;  // after an accepted step
  double mu_increase = 4.0;        // after a rejected one
};

enum class StartOutcome : std::int8_t { Converged, LeftBox, NotConverged, Failed };

struct CriticalSearchResult {
  int n = 0;
  // The unique stationary points, sorted by coordinates (lexicographic): row-major, count() x n.
  std::vector<double> points;
  std::vector<std::size_t> basin_count;  // starts that converged to each point
  std::vector<double> grad_norm;         // ||g|| at each point (the search's stencil and step)
  // Per start.
  std::vector<StartOutcome> outcome;
  std::vector<std::ptrdiff_t> basin_of_start;  // index into points, -1 when the start did not converge
  std::vector<int> iterations;                 // backend evaluations the start used
  std::size_t starts = 0, converged = 0, left_box = 0, not_converged = 0;
  std::size_t failed = 0;         // f non-finite (or the eigensolver failed) at the start itself
  int rounds = 0;                 // backend.analyze rounds over the batch
  double gradient_tolerance = 0;  // the absolute ||g|| tolerance used (gradient_rtol * G)
  double dedup_distance = 0;      // the distance under which two converged points were merged
  double seconds = 0;

  std::size_t count() const { return basin_count.size(); }
};

// Runs the search from `starts` (row-major, starts.size() / n points; n = f.dimension() = box dimension).
// Throws std::invalid_argument when the box does not match f's dimension or has lower > upper.
CriticalSearchResult find_critical_points(const CompiledFunction& f, Backend& backend,
                                          const CriticalSearchOptions& options, const std::vector<double>& starts);
// The same for any objective (a caller's BatchFunction, say; the backend must accept it: check_batch_function).
CriticalSearchResult find_critical_points(const Objective& f, Backend& backend, const CriticalSearchOptions& options,
                                          const std::vector<double>& starts);

const char* outcome_name(StartOutcome outcome);  // "converged", "left_box", "not_converged", "failed"

}  // namespace hessa
