// CPU Jacobians: OpenMP over the flattened (point, output, evaluation) range running the shared interpreter,
// then over points assembling f, J and the error estimate (formulas in detail/jacobian.hpp); and the same for a
// caller's vectorized function (function_jacobians), whose stencil points are materialized block by block.
// Also the small backend-independent pieces of hessa/jacobian.hpp (step defaults, names, JacobianResult).
#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "cpu/cpu_stages.hpp"
#include "hessa/errors.hpp"
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

void check_function_jacobian_mode(JacobianMode mode) {
  if (mode == JacobianMode::Dual) {
    throw InputError(
        "mode 'dual' evaluates the functions on dual numbers, which a caller's own function does not have: use "
        "'central' or 'richardson'");
  }
}

void function_jacobians(const BatchVectorFunction& function, JacobianMode mode, double step_scale, const double* points,
                        std::size_t count, JacobianResult& out) {
  check_function_jacobian_mode(mode);
  const int m = function.dimension();
  const int k = function.outputs();
  if (m < 1 || k < 1) throw std::invalid_argument("function_jacobians: a function needs m >= 1 and k >= 1");
  out.resize(count, m, k);
  if (count == 0) return;
  const auto um = std::size_t(m), uk = std::size_t(k);
  const std::int64_t per_output = detail::jacobian_evals_per_output(mode, m);  // E stencil points a point
  const std::int64_t total = std::int64_t(count) * per_output;
  const std::int64_t block =
      std::max<std::int64_t>(1, std::min<std::int64_t>(total, std::int64_t(function.block_points())));
  // values in the layout assemble_jacobian_point reads: output i's E evaluations of point p at (p k + i) E.
  std::vector<double> values(std::size_t(total) * uk), x(std::size_t(block) * um), answer(std::size_t(block) * uk);
  for (std::int64_t first = 0; first < total; first += block) {
    const std::int64_t rows = std::min(block, total - first);
#pragma omp parallel for schedule(static)
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t p = (first + r) / per_output, e = (first + r) % per_output;
      const detail::PerturbedPoint view =
          detail::jacobian_stencil_point(points + p * m, detail::jacobian_eval(mode, m, e), step_scale);
      for (int j = 0; j < m; ++j) x[std::size_t(r) * um + std::size_t(j)] = view(j);
    }
    function.values(x.data(), std::size_t(rows), answer.data());
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t p = (first + r) / per_output, e = (first + r) % per_output;
      for (int i = 0; i < k; ++i)
        values[std::size_t((p * k + i) * per_output + e)] = answer[std::size_t(r) * uk + std::size_t(i)];
    }
  }
#pragma omp parallel for schedule(static)
  for (std::int64_t p = 0; p < std::int64_t(count); ++p) {
    out.status[std::size_t(p)] = detail::assemble_jacobian_point(
        mode, m, k, step_scale, points + p * m, values.data() + p * k * per_output, nullptr, out.f.data() + p * k,
        out.J.data() + p * k * m, &out.error[std::size_t(p)]);
  }
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
