// The jacobian run: k expressions of the m coordinates of a point file, their Jacobians chunk by chunk into a
// CSV / JSON-lines file with its metadata (what `hessa jacobian` runs).
#include "engine/jacobian_run.hpp"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/backend_choice.hpp"
#include "engine/function_spec.hpp"
#include "engine/metadata.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/stop_signals.hpp"

namespace hessa {

JacobianRunOutcome run_jacobian(const JacobianRunRequest& args, const NoticeSink& notice) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  std::unique_ptr<PointReader> file_reader;
  if (args.point_source == nullptr) file_reader = open_point_reader(args.points);
  PointReader* reader = args.point_source != nullptr ? args.point_source : file_reader.get();
  const int m = reader->dimension();
  const JacobianMode mode = args.mode;
  const double step = args.step > 0 ? args.step : default_jacobian_step(mode);

  ExpressionOptions expression_options;
  expression_options.dimension = m;
  expression_options.parameters = parse_params(args.params);
  const CoordinateNames names = name_coordinates(args.vars, reader->column_names(), m, true, args.points, 1,
                                                 "the points have " + std::to_string(m) + " columns");
  expression_options.variable_names = names.variables;
  const std::vector<std::string>& coordinate_names = names.coordinates;
  std::vector<CompiledFunction> functions;
  for (std::size_t i = 0; i < args.functions.size(); ++i) {
    // Errors point at the --function they are in: "--function:1:5: ..." or, with several, "--function 2:1:5: ...".
    expression_options.source_name = args.functions.size() == 1 ? "--function" : "--function " + std::to_string(i + 1);
    functions.push_back(compile_expression(args.functions[i], expression_options));
  }
  const BatchVectorFunction* caller = args.function;
  if (caller != nullptr) {
    if (!functions.empty()) throw std::invalid_argument("run_jacobian: both expressions and a caller's function");
    if (caller->dimension() != m) {
      throw InputError("the points have " + std::to_string(m) + " coordinates but the function takes " +
                       std::to_string(caller->dimension()));
    }
    check_function_jacobian_mode(mode);
  }
  const int k = caller != nullptr ? caller->outputs() : int(functions.size());

  JacobianLayout layout;
  layout.m = m;
  layout.k = k;
  layout.coordinate_names = coordinate_names;
  layout.error = mode == JacobianMode::Richardson;
  // A file fails now, before any work, if unwritable.
  auto writer = args.open_writer ? args.open_writer(layout) : open_jacobian_writer(args.out, layout);

  // A caller's function is evaluated on the host, so its Jacobians are assembled there too: auto picks the CPU.
  auto backend = choose_backend(caller != nullptr && args.backend == "auto" ? "cpu" : args.backend, notice);
  if (caller != nullptr) check_host_function_backend(backend->kind());
  const std::size_t chunk = plan_chunk_points(
      args.chunk, args.memory, jacobian_bytes_per_point(m, k, mode), backend->jacobian_chunk_capacity(m, k, mode),
      "m = " + std::to_string(m) + " coordinates, k = " + std::to_string(k) + " functions", notice);

  const auto start = std::chrono::steady_clock::now();
  JacobianRunOutcome outcome;
  std::size_t& total = outcome.points;
  std::size_t& failed = outcome.failed;
  double& worst_error = outcome.largest_error;
  std::vector<double> points;
  JacobianResult result;
  for (;;) {
    throw_if_stop_requested();
    std::size_t count = 0;
    const double* rows = next_points(*reader, chunk, points, &count);
    if (count == 0) break;
    if (caller != nullptr) {
      function_jacobians(*caller, mode, step, rows, count, result);
    } else {
      backend->jacobians(functions, mode, step, rows, count, result);
    }
    writer->write(rows, result);
    for (std::size_t p = 0; p < count; ++p) {
      if (result.status[p] != PointStatus::Ok) {
        ++failed;
      } else {
        worst_error = std::fmax(worst_error, result.error[p]);
      }
    }
    total += count;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.seconds = seconds;

  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["command"] = "jacobian";
  meta["functions"] = caller != nullptr ? std::vector<std::string>{args.function_label} : args.functions;
  if (caller != nullptr) meta["function_kind"] = "the caller's vectorized function";
  meta["variables"] = coordinate_names;
  meta["parameters"] = expression_options.parameters;
  meta["points_file"] = args.points;
  meta["mode"] = jacobian_mode_name(mode);
  meta["evaluations_per_output"] = detail::jacobian_evals_per_output(mode, m);
  if (mode == JacobianMode::Dual) {
    meta["method"] = "hyper-dual evaluation, x_j seeded with e1: exact to rounding, no step";
  } else {
    meta["relative_step"] = step;
    meta["step_rule"] = "h_j = relative_step * max(|x_j|, 1), rounded so that (x_j + h_j) - x_j == h_j";
    meta["method"] = mode == JacobianMode::Central
                         ? "central difference (f(x + h_j e_j) - f(x - h_j e_j)) / 2h_j, O(h^2)"
                         : "Richardson: central at h_j and ~h_j/2 combined as (4 D(h/2) - D(h)) / 3 (exactly: "
                           "with the steps taken), O(h^4)";
  }
  if (mode == JacobianMode::Richardson)
    meta["jac_err"] = "max over the point's J entries of |D(h/2) - D(h)| / 3 (max-abs, not Frobenius)";
  meta["columns"] = jacobian_column_names(layout);
  meta["backend"] = backend->device_name();
  meta["chunk_points"] = chunk;
  meta["summary"] = {{"points", total}, {"failed", failed}, {"seconds", seconds}};
  writer->finish(dump_json(meta, 2));

  outcome.m = m;
  outcome.k = k;
  outcome.backend_name = backend->device_name();
  return outcome;
}

}  // namespace hessa
