#include "lanczos/lanczos_chunk.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "hessa/detail/analysis.hpp"

namespace hessa {

std::vector<ExtraDataset> lanczos_datasets(const LanczosOptions& options, int n) {
  const int k = std::min(options.k, n);
  std::vector<ExtraDataset> d = {
      {"lanczos_lowest", k, "[p, i]: the k lowest Ritz values of H at point p, ascending"},
      {"lanczos_highest", k, "[p, i]: the k highest Ritz values of H at point p, ascending"},
      {"lanczos_residual_lowest", k, "[p, i]: ||H y - theta y|| of lanczos_lowest[p, i] (y its unit Ritz vector)"},
      {"lanczos_residual_highest", k, "[p, i]: ||H y - theta y|| of lanczos_highest[p, i]"},
      {"lanczos_steps", 1, "Lanczos steps taken (Hessian-vector products of the iteration)"},
      {"lanczos_converged", 1, "1: every residual <= tol max|theta|; 0: the step cap came first"},
      {"abs_ratio", 1, "|lambda_min / lambda_max| (Li et al.'s convexity map)"},
      {"lr_diverge", 1, "2 / lambda_max: the gradient step at which descent on the quadratic model diverges"},
  };
  if (options.trace_probes > 0) {
    d.push_back({"trace", 1, "Hutchinson's estimate of tr H (mean of z'Hz over Rademacher z)"});
    d.push_back({"trace_se", 1, "the standard error of /trace"});
  }
  if (options.ritz_vectors) {
    d.push_back({"lanczos_vectors", 2 * k * n,
                 "[p, c n + i]: entry i of unit Ritz vector c of point p: c < k those of /lanczos_lowest, then "
                 "those of /lanczos_highest (reshape to B x 2k x n)"});
  }
  if (options.density_probes > 0) {
    const int width = options.density_probes * std::min(options.density_steps, n);
    d.push_back({"density_nodes", width,
                 "[p, v m + i]: Ritz value i of probe v's m-step Lanczos (SLQ nodes; NaN: the Krylov space closed)"});
    d.push_back({"density_weights", width,
                 "[p, v m + i]: its weight; density(lambda) = mean over probes v of sum_i w delta(lambda - node)"});
  }
  return d;
}

void lanczos_chunk(Backend& backend, const Objective& objective, const double* points, std::size_t count,
                   std::uint64_t first_index, const LanczosOptions& lanczos, const AnalysisOptions& options,
                   ChunkResult& out) {
  LanczosResult lz;
  lanczos_analysis(backend, objective, points, count, first_index, lanczos, lz);
  const int n = lz.n, k = lz.k;
  const auto un = std::size_t(n);
  out = ChunkResult{};
  out.count = count;
  out.n = n;
  out.points.resize(count);
  if (options.keep_gradient) out.gradient = lz.gradient;

  // Rows, and the points x - step g whose f the step quantities still need.
  std::vector<double> stepped(count * un);
  std::vector<std::uint8_t> pending(count, 0);
  for (std::size_t p = 0; p < count; ++p) {
    PointAnalysis& a = out.points[p];
    const double* g = lz.gradient.data() + p * un;
    const double lo = lz.lowest[p * std::size_t(k)], hi = lz.highest[p * std::size_t(k) + std::size_t(k) - 1];
    if (!std::isfinite(lz.f[p]) || !std::isfinite(lo) || !std::isfinite(hi)) {
      a = detail::failed_point(lz.f[p],
                               std::isfinite(lz.f[p]) ? PointStatus::EigenNotConverged : PointStatus::NonfiniteF);
      continue;
    }
    a = detail::failed_point(lz.f[p], PointStatus::Ok);
    double gg = 0.0;
    for (std::size_t i = 0; i < un; ++i) gg += g[i] * g[i];
    a.grad_norm = std::sqrt(gg);
    // Each reported value lies within its residual of an eigenvalue of H: the residuals are the error band.
    const double residual =
        std::max(lz.lowest_residual[p * std::size_t(k)], lz.highest_residual[p * std::size_t(k) + std::size_t(k) - 1]);
    const double ends[2] = {lo, hi};
    detail::classify(ends, 2, options.thresholds, residual, 0.0, &a);
    a.morse_index = -1;  // only the ends are known
    if (detail::step_from_terms(gg, lz.gHg[p], options.lr, &a)) {
      pending[p] = 1;
      for (std::size_t i = 0; i < un; ++i) stepped[p * un + i] = points[p * un + i] - a.step * g[i];
    }
  }
  // f(x - step g): the HVP primitive's f (its one direction, g itself, is a by-product).
  std::vector<double> f_step(count), g_step(count * un), hv(count * un);
  backend.hessian_vector_products(objective, stepped.data(), count, lz.gradient.data(), un, 1, f_step.data(),
                                  g_step.data(), hv.data());
  for (std::size_t p = 0; p < count; ++p)
    if (pending[p]) detail::set_step_value(&out.points[p], f_step[p]);

  const std::vector<ExtraDataset> datasets = lanczos_datasets(lanczos, n);
  for (const ExtraDataset& d : datasets) {
    if (d.name == "density_nodes" || d.name == "density_weights" || d.name == "lanczos_vectors") {
      // count x width, row-major in lz
      const std::vector<double>& values = d.name == "density_nodes"     ? lz.density_nodes
                                          : d.name == "density_weights" ? lz.density_weights
                                                                        : lz.ritz_vectors;
      for (int c = 0; c < d.width; ++c) {
        std::vector<double> column(count);
        for (std::size_t p = 0; p < count; ++p) column[p] = values[p * std::size_t(d.width) + std::size_t(c)];
        out.extra_columns.push_back(std::move(column));
      }
      continue;
    }
    for (int c = 0; c < d.width; ++c) {
      std::vector<double> column(count);
      for (std::size_t p = 0; p < count; ++p) {
        const std::size_t at = p * std::size_t(k) + std::size_t(c);
        const double lo = lz.lowest[p * std::size_t(k)], hi = lz.highest[p * std::size_t(k) + std::size_t(k) - 1];
        const std::string& name = d.name;
        column[p] = name == "lanczos_lowest"             ? lz.lowest[at]
                    : name == "lanczos_highest"          ? lz.highest[at]
                    : name == "lanczos_residual_lowest"  ? lz.lowest_residual[at]
                    : name == "lanczos_residual_highest" ? lz.highest_residual[at]
                    : name == "lanczos_steps"            ? double(lz.steps[p])
                    : name == "lanczos_converged"        ? double(lz.converged[p])
                    : name == "abs_ratio"                ? std::fabs(lo / hi)
                    : name == "lr_diverge"               ? (hi > 0.0 ? 2.0 / hi : std::nan(""))
                    : name == "trace"                    ? lz.trace[p]
                                                         : lz.trace_se[p];
      }
      out.extra_columns.push_back(std::move(column));
    }
  }
}

}  // namespace hessa
