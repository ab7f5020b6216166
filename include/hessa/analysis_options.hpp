// What the user asks of an analysis run: stencil, step, thresholds, optional outputs.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

// The detail/ headers are included for the per-element helpers callers use (stencil_size, ...), not for types.
#include "hessa/detail/analysis.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/types.hpp"

namespace hessa {

// Default relative step: eps_mach^(1/4) balances O(h^2) truncation against eps*|f|/h^2 rounding for H.
inline constexpr double kDefaultStepScale = 1.220703125e-4;  // 2^-13, itself exactly representable
inline constexpr double kRichardsonStepScale = 1.953125e-3;  // 2^-9
// The gradient stencil differences reverse-mode gradients once: truncation ~h^2 g^(3)/6 against rounding
// ~eps|g|/h balance at h ~ eps^(1/3) ~ 6e-6; 2^-17 = 7.6e-6 is the nearest power of two.
inline constexpr double kGradientStepScale = 7.62939453125e-6;

inline constexpr double kDefaultGtol = 1e-4;

struct AnalysisOptions {
  StencilKind stencil = StencilKind::Central;
  double step_scale = kDefaultStepScale;
  // gtol: the FD gradient at an exact stationary point is not zero but ~h^2 f'''/6 (h = 1.2e-4 max(|x|,1)):
  // 1e-8 .. 1e-5 on landscapes of moderate scale (himmelblau's minima: up to 4e-6), so 1e-4.
  // Eigenvalues: FD Hessians carry ~1e-8 relative noise (truncation ~h^2, rounding ~eps|f|/h^2); the zero band
  // 1e-6 + 1e-6 max|lambda| sits well above it.
  Thresholds thresholds{kDefaultGtol, 1e-6, 1e-6};
  double lr = 0.0;  // > 0: evaluate the step x - lr g instead of x - step_opt g
  bool keep_gradient = false;
  bool keep_hessian = false;
  bool keep_eigenvalues = false;
  bool eigenvectors = false;
};

// Results for one chunk of points, host memory. Matrices are column-major n x n per point,
// contiguous over the chunk. Optional arrays are empty unless asked for in AnalysisOptions.
struct ChunkResult {
  std::size_t count = 0;
  int n = 0;
  std::vector<PointAnalysis> points;  // always
  std::vector<double> gradient;       // count * n, when keep_gradient
  std::vector<double> hessian;        // count * n * n, when keep_hessian
  std::vector<double> eigenvalues;    // count * n ascending, when keep_eigenvalues
  std::vector<double> eigenvectors;   // count * n * n, column k = eigenvector of eigenvalue k, when eigenvectors
  std::vector<std::vector<double>> extra_columns;  // caller-set, not the backend's: count values per extra column

  void resize(std::size_t points_in_chunk, int dimension, const AnalysisOptions& options);
};

const char* class_name(PointClass c);     // "minimum", ..., "" for Unknown
const char* status_name(PointStatus s);   // "ok", "nonfinite_f", "eig_not_converged"
const char* stencil_name(StencilKind k);  // "central", "compact", "richardson", "hyperdual", "gradient", "exact"
// The inverse of stencil_name; throws InputError for an unknown name.
StencilKind stencil_from_name(const std::string& name);
// Default relative step per stencil: eps^(1/4) ~ 2^-13 balances an O(h^2) Hessian's truncation against
// rounding eps|f|/h^2; after Richardson's O(h^4) the balance moves to eps^(1/6) ~ 2^-9; a difference of gradients
// balances at eps^(1/3) ~ 2^-17 (0 for hyperdual and exact, which take no step).
double default_step_scale(StencilKind k);

}  // namespace hessa
