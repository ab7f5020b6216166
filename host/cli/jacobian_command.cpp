// `hessa jacobian`: k expressions (one --function per output) of the m coordinates of a point set -> the k x m
// Jacobian at every point, by central differences, Richardson extrapolation or hyper-dual numbers.
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/function_options.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/jacobian.hpp"
#include "hessa/stop_signals.hpp"

namespace hessa::cli {
namespace {

struct JacobianArgs {
  std::vector<std::string> functions;
  std::string vars;
  std::vector<std::string> params;
  std::string points;
  std::string out;
  std::string mode = "central";
  double step = 0.0;  // 0: the mode's default
  std::string backend = "auto";
  ChunkOptions chunking;
  int threads = 0;
  bool quiet = false;
};

JacobianMode mode_from_name(const std::string& name) {
  if (name == "richardson") return JacobianMode::Richardson;
  if (name == "dual") return JacobianMode::Dual;
  return JacobianMode::Central;
}

int run_jacobian(const JacobianArgs& args) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  auto reader = open_point_reader(args.points);
  const int m = reader->dimension();
  const JacobianMode mode = mode_from_name(args.mode);
  const double step = args.step > 0 ? args.step : default_jacobian_step(mode);

  ExpressionOptions expression_options;
  expression_options.dimension = m;
  expression_options.parameters = parse_params(args.params);
  std::vector<std::string> coordinate_names;
  if (!args.vars.empty()) {
    expression_options.variable_names = split_names(args.vars);
    if (int(expression_options.variable_names.size()) != m) {
      throw InputError(args.points, 1, 0,
                       "--vars names " + std::to_string(expression_options.variable_names.size()) +
                           " variables but the points have " + std::to_string(m) + " columns");
    }
    coordinate_names = expression_options.variable_names;
  } else if (!reader->column_names().empty()) {
    coordinate_names = reader->column_names();  // a CSV header names the columns, and the variables when it can
    if (usable_as_variable_names(coordinate_names)) expression_options.variable_names = coordinate_names;
  } else {
    for (int j = 0; j < m; ++j) coordinate_names.push_back("x" + std::to_string(j));
  }
  std::vector<CompiledFunction> functions;
  for (std::size_t i = 0; i < args.functions.size(); ++i) {
    // Errors point at the --function they are in: "--function:1:5: ..." or, with several, "--function 2:1:5: ...".
    expression_options.source_name = args.functions.size() == 1 ? "--function" : "--function " + std::to_string(i + 1);
    functions.push_back(compile_expression(args.functions[i], expression_options));
  }
  const int k = int(functions.size());

  JacobianLayout layout;
  layout.m = m;
  layout.k = k;
  layout.coordinate_names = coordinate_names;
  layout.error = mode == JacobianMode::Richardson;
  auto writer = open_jacobian_writer(args.out, layout);  // fails now, before any work, if unwritable

  auto backend = choose_backend(args.backend, args.quiet);
  const std::size_t chunk = plan_chunk_points(
      args.chunking.chunk, args.chunking.memory, jacobian_bytes_per_point(m, k, mode),
      backend->jacobian_chunk_capacity(m, k, mode),
      "m = " + std::to_string(m) + " coordinates, k = " + std::to_string(k) + " functions", args.quiet);

  const auto start = std::chrono::steady_clock::now();
  std::size_t total = 0;
  std::size_t failed = 0;
  double worst_error = 0.0;
  std::vector<double> points;
  JacobianResult result;
  for (;;) {
    throw_if_stop_requested();
    const std::size_t count = reader->read(chunk, points);
    if (count == 0) break;
    backend->jacobians(functions, mode, step, points.data(), count, result);
    writer->write(points.data(), result);
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

  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["command"] = "jacobian";
  meta["functions"] = args.functions;
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

  if (!args.quiet) {
    std::cout << "hessa: " << total << " points, " << k << " x " << m << " Jacobians, " << jacobian_mode_name(mode)
              << " mode, " << backend->device_name() << '\n';
    std::cout << "  failed " << failed << (failed ? "  (see the status column)" : "") << '\n';
    if (mode == JacobianMode::Richardson) std::cout << "  largest jac_err " << worst_error << '\n';
    std::cout << "  " << seconds << " s\n";
    std::cout << "  wrote " << args.out << " (settings in " << args.out << ".meta.json)\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_jacobian_command(CLI::App& app) {
  auto args = std::make_shared<JacobianArgs>();
  CLI::App* cmd = app.add_subcommand("jacobian", "Jacobian of a vector-valued function at every point of a file");
  cmd->add_option("-f,--function", args->functions,
                  "One output of f as an expression, e.g. \"r*cos(t)\" (repeat: one --function per output)")
      ->required();
  cmd->add_option("--vars", args->vars,
                  "Names of the coordinates, comma separated (default: x0, x1, ... or the CSV header)");
  cmd->add_option("--param", args->params, "A named constant for the expressions, NAME=VALUE (repeatable)");
  cmd->add_option("-p,--points", args->points, "Points, one per row: .csv (header optional) or .npy (B x m)")
      ->required();
  cmd->add_option("-o,--out", args->out, "Result file: .csv or .jsonl")->required();
  cmd->add_option("--mode", args->mode,
                  "central: 2m+1 evaluations per output, O(h^2); richardson: 4m+1, O(h^4) with an error estimate "
                  "(jac_err); dual: m hyper-dual evaluations, exact")
      ->check(CLI::IsMember({"central", "richardson", "dual"}))
      ->capture_default_str();
  cmd->add_option("--step", args->step,
                  "Relative step s: h_j = s * max(|x_j|, 1) (default eps^(1/3) = 6.06e-6 for central, eps^(1/5) = "
                  "7.4e-4 for richardson; unused by dual)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--backend", args->backend, "auto (GPU when usable, else CPU, said on stderr), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  add_chunk_options(cmd, args->chunking);
  cmd->add_option("--threads", args->threads, "CPU threads (default: OpenMP's choice)")->check(CLI::PositiveNumber);
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no fallback notice");
  return [args]() { return run_jacobian(*args); };
}

}  // namespace hessa::cli
