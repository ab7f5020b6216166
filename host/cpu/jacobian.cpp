// CPU Jacobians: OpenMP over the flattened (point, output, evaluation) range running the shared interpreter,
// then over points assembling f, J and the error estimate (formulas in detail/jacobian.hpp).
// Also the small backend-independent pieces of hessa/jacobian.hpp (step defaults, names, JacobianResult).
#include <algorithm>
#include <string>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/jacobian.hpp"

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

namespace cpu {

void Jacobians::compute(const std::vector<CompiledFunction>& functions, JacobianMode mode, double step_scale,
                        const double* points, std::size_t count, JacobianResult& out) {
  const int m = functions[0].dimension();
  const int k = int(functions.size());
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

}  // namespace cpu

}  // namespace hessa
