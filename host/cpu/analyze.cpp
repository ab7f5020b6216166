// CPU analysis: second-derivative test and gradient-step quantities per point (detail/analysis.hpp). f(x - step g)
// is evaluated after the per-point pass, kStepLanes pending points at a time by the lane-batched interpreter
// (the same bits as detail::evaluate, which the per-point pass would run one point at a time: at n = 2 that scalar
// interpretation was most of this stage).
#include <algorithm>
#include <memory>
#include <type_traits>
#include <vector>

#include "cpu/batch_interpreter.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/detail/analysis.hpp"

namespace hessa::cpu {
namespace {

constexpr int kStepLanes = 64;  // as the value stencils' blocks (stencil.cpp)

}  // namespace

void analyze(const detail::ProgramView& f, const AnalysisOptions& options, const double* points, std::size_t count,
             const double* fx, const double* g, const double* H, const double* w, const int* info,
             const double* hess_err, const double* grad_err, const PointStatus* status, PointAnalysis* out) {
  const int n = f.n;
  const std::int64_t nn = std::int64_t(n) * n;
  const detail::ProgramView no_program{nullptr, 0, n};  // leaves f(x - step g) pending
  const auto total = std::int64_t(count);
  const std::int64_t blocks = (total + kStepLanes - 1) / kStepLanes;
#pragma omp parallel
  {
    std::unique_ptr<BatchInterpreter<kStepLanes>> interpreter;
    std::vector<double> stepped, values(kStepLanes);
    std::vector<std::int64_t> pending;
#pragma omp for schedule(dynamic, 4)
    for (std::int64_t block = 0; block < blocks; ++block) {
      const std::int64_t first = block * kStepLanes;
      const std::int64_t last = std::min(total, first + kStepLanes);
      pending.clear();
      for (std::int64_t p = first; p < last; ++p) {
        out[p] = detail::analyze_point(no_program, points + p * n, fx[p], g + p * n, H + p * nn, w + p * n, n,
                                       status[p], info[p], hess_err[p], grad_err[p], options.thresholds, options.lr);
        if (f.code != nullptr && detail::step_pending(out[p])) pending.push_back(p);
      }
      if (pending.empty()) continue;
      if (!interpreter) {
        interpreter = std::make_unique<BatchInterpreter<kStepLanes>>();
        stepped.resize(std::size_t(kStepLanes) * std::size_t(n));
      }
      const int lanes = int(pending.size());
      for (int l = 0; l < lanes; ++l) {
        const std::int64_t p = pending[std::size_t(l)];
        const detail::GradientStepPoint step{points + p * n, g + p * n, out[p].step};
        double* x = stepped.data() + std::int64_t(l) * n;
        for (int k = 0; k < n; ++k) x[k] = step(k);
        interpreter->set_lane(l, detail::PerturbedPoint{x, -1, 0.0, -1, 0.0});
      }
      interpreter->run(f, lanes, values.data());
      for (int l = 0; l < lanes; ++l) detail::set_step_value(&out[pending[std::size_t(l)]], values[std::size_t(l)]);
    }
  }
}

// The definition above has the contract's signature (hessa/detail/stages.hpp), or this fails to compile.
static_assert(std::is_same_v<decltype(analyze), detail::AnalyzeStage<>>);

}  // namespace hessa::cpu
