// The curvature of a function without forming its Hessian: the extreme eigenvalues of H by Lanczos with full
// reorthogonalization, and tr H by Hutchinson's estimator, from the backend's exact Hessian-vector products
// (host/lanczos/). Many points at once, in lock step: each Lanczos step is one batched HVP call for every point
// still iterating.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "hessa/backend.hpp"
#include "hessa/objective.hpp"

namespace hessa {

struct LanczosOptions {
  int k = 1;                  // eigenvalues wanted at each end of the spectrum (k lowest and k highest)
  int max_steps = 100;        // Krylov dimension cap (at most N): memory (max_steps + 1) N doubles per point
  double tol = 1e-8;          // converged when every reported value's residual <= tol max|theta| of its point
  std::uint64_t seed = 1;     // start vectors and probes: from (seed, the point's index), whatever the batching
  int trace_probes = 0;       // Hutchinson probes (Rademacher); 0: no trace estimate
  int density_probes = 0;     // stochastic Lanczos quadrature: probe vectors (0: no spectral density)
  int density_steps = 100;    // Lanczos steps per probe (at most N): nodes and weights per probe
  bool ritz_vectors = false;  // keep the 2k Ritz vectors (count x 2k x N)
};

// Per point p of a batch of `count`, N coordinates:
struct LanczosResult {
  std::size_t count = 0;
  int n = 0;
  int k = 0;                             // min(options.k, N)
  std::vector<double> f;                 // count
  std::vector<double> gradient;          // count x N (exact, from the first HVP)
  std::vector<double> lowest, highest;   // count x k, ascending: the k lowest and the k highest Ritz values
  std::vector<double> lowest_residual;   // count x k: ||H y - theta y|| of each (y unit, computed by an HVP)
  std::vector<double> highest_residual;  // count x k
  std::vector<int> steps;                // Lanczos steps taken
  std::vector<std::uint8_t> converged;   // 1: every residual <= tol max|theta| (or the Krylov space is invariant)
  std::vector<double> gHg;               // g'Hg (one more HVP, for the gradient step's quantities)
  std::vector<double> trace, trace_se;   // Hutchinson's mean of z'Hz and its standard error (NaN without probes)
  std::vector<double> ritz_vectors;      // count x 2k x N when asked: the lowest k, then the highest k
  // Stochastic Lanczos quadrature (density_probes > 0), count x probes x m (m = min(density_steps, N)): for probe v
  // (unit, Rademacher / sqrt N: lanczos_probe) the Ritz values theta_i of its m-step Lanczos and the weights
  // tau_i = (first entry of the ith eigenvector of T)^2, so sum_i tau_i g(theta_i) ~ v' g(H) v, exact for
  // polynomials g of degree < 2m, and the density is the mean over probes of sum_i tau_i delta(lambda - theta_i).
  // A probe whose Krylov space closes early pads with NaN nodes and 0 weights.
  std::vector<double> density_nodes, density_weights;
  int density_m = 0;
};

// Runs the Lanczos analysis of `objective` (its own coordinates; a subspace is not applied) at `count` points
// (count x N, row-major); `first_index` is the first point's index in the whole job (it seeds the start vectors,
// so a point gets the same answer in any chunk). Throws InputError for bad options (k < 1, max_steps < 1,
// tol not in (0, 1), trace_probes < 0).
void lanczos_analysis(Backend& backend, const Objective& objective, const double* points, std::size_t count,
                      std::uint64_t first_index, const LanczosOptions& options, LanczosResult& out);

// Probe `probe` of the density at point index `point` (n values, unit norm): what lanczos_analysis uses.
void lanczos_probe(std::uint64_t seed, std::uint64_t point, int probe, int n, double* v);

// Vectors of n doubles the analysis holds per point in flight: the Krylov basis (m + 1, m = max(steps, density_steps)
// capped at n), four for the HVP (point, direction, product, gradient), 2 (2k + 1) for Ritz vectors and their
// products, 16 for a block of trace probes and their products: steps + 23 + 4k for the defaults.
std::size_t lanczos_vectors_per_point(int n, const LanczosOptions& options);
// Host memory the analysis holds per point in flight, in bytes: those vectors and the small tridiagonal work.
std::size_t lanczos_bytes_per_point(int n, const LanczosOptions& options);

}  // namespace hessa
