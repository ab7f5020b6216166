// CPU analysis: second-derivative test and gradient-step quantities per point (detail/analysis.hpp).
#include <type_traits>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/analysis.hpp"

namespace hessa::cpu {

void analyze(const detail::ProgramView& f, const AnalysisOptions& options, const double* points, std::size_t count,
             const double* fx, const double* g, const double* H, const double* w, const int* info,
             const double* hess_err, const double* grad_err, const PointStatus* status, PointAnalysis* out) {
  const int n = f.n;
  const std::int64_t nn = std::int64_t(n) * n;
#pragma omp parallel for schedule(dynamic, 256)
  for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
    out[p] = detail::analyze_point(f, points + p * n, fx[p], g + p * n, H + p * nn, w + p * n, n, status[p], info[p],
                                   hess_err[p], grad_err[p], options.thresholds, options.lr);
  }
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(analyze), detail::AnalyzeStage<>>);

}  // namespace hessa::cpu
