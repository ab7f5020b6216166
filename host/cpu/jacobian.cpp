// CPU Jacobians: OpenMP over the flattened (point, output, evaluation) range running the shared interpreter,
// then over points assembling f, J and the error estimate (formulas in detail/jacobian.hpp).
// Also the backend-independent pieces of hessa/jacobian.hpp (as cpu_backend.cpp holds bytes_per_point).
#include <omp.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "hessa/jacobian.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa {

double default_jacobian_step(JacobianMode mode) {
  switch (mode) {
    case JacobianMode::Central: return kCentralJacobianStep;
    case JacobianMode::Richardson: return kRichardsonJacobianStep;
    case JacobianMode::Dual: break;
  }
  return 0.0;
}

const char* jacobian_mode_name(JacobianMode mode) {
  switch (mode) {
    case JacobianMode::Central: return "central";
    case JacobianMode::Richardson: return "richardson";
    case JacobianMode::Dual: return "dual";
  }
  return "unknown";
}

void JacobianResult::resize(std::size_t points, int coordinates, int outputs) {
  count = points;
  m = coordinates;
  k = outputs;
  f.resize(count * std::size_t(k));
  J.resize(count * std::size_t(k) * std::size_t(m));
  error.resize(count);
  status.resize(count);
}

std::size_t jacobian_bytes_per_point(int m, int k, JacobianMode mode) {
  const std::size_t evals = std::size_t(k) * std::size_t(detail::jacobian_evals_per_output(mode, m));
  const std::size_t doubles = evals * (mode == JacobianMode::Dual ? 2 : 1)  // values (+ derivatives)
                              + std::size_t(m)                              // the point
                              + std::size_t(k) * (1 + std::size_t(m))       // f, J
                              + 1;                                          // error
  return doubles * sizeof(double) + sizeof(PointStatus);
}

namespace {

// Checks what both backends require of their inputs: k >= 1 outputs, all of one dimension m >= 1.
void check_functions(const std::vector<CompiledFunction>& functions) {
  if (functions.empty()) throw std::invalid_argument("JacobianBackend::compute: no functions");
  for (const CompiledFunction& f : functions) {
    if (f.dimension() != functions[0].dimension() || f.dimension() < 1)
      throw std::invalid_argument("JacobianBackend::compute: the functions must share one dimension m >= 1");
  }
}

class CpuJacobianBackend final : public JacobianBackend {
 public:
  std::string name() const override { return "cpu (OpenMP, " + std::to_string(omp_get_max_threads()) + " threads)"; }

  std::size_t chunk_capacity(int m, int k, JacobianMode mode) const override {
    // As the analysis backend: the host's memory budget, at most 65536 points.
    return std::clamp<std::size_t>(host_memory_budget(0).chunk_bytes / jacobian_bytes_per_point(m, k, mode), 1, 65536);
  }

  void compute(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
               const double* points, std::size_t count, JacobianResult& out) override {
    check_functions(functions);
    const int m = functions[0].dimension();
    const int k = int(functions.size());
    out.resize(count, m, k);
    const std::int64_t per_point = std::int64_t(k) * detail::jacobian_evals_per_output(mode, m);
    const std::int64_t total = std::int64_t(count) * per_point;
    values_.resize(std::size_t(total));
    derivs_.resize(mode == JacobianMode::Dual ? std::size_t(total) : 0);
    programs_.clear();
    for (const CompiledFunction& f : functions) programs_.push_back(f.view());

    const detail::ProgramView* programs = programs_.data();
    double* values = values_.data();
    double* derivs = derivs_.data();
#pragma omp parallel for schedule(static)
    for (std::int64_t index = 0; index < total; ++index) {
      detail::jacobian_evaluate(programs, k, mode, step_scale, points, index, values, derivs);
    }
#pragma omp parallel for schedule(static)
    for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
      out.status[std::size_t(p)] =
          detail::assemble_jacobian_point(mode, m, k, step_scale, points + p * m, values + p * per_point,
                                          mode == JacobianMode::Dual ? derivs + p * per_point : nullptr,
                                          out.f.data() + p * k, out.J.data() + p * k * m, &out.error[std::size_t(p)]);
    }
  }

 private:
  std::vector<double> values_, derivs_;  // per chunk, reused
  std::vector<detail::ProgramView> programs_;
};

}  // namespace

std::unique_ptr<JacobianBackend> make_cpu_jacobian_backend() { return std::make_unique<CpuJacobianBackend>(); }

}  // namespace hessa
