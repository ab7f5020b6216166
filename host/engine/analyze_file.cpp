// The analyze run: function and coordinates resolved as every command does, the chunk pipeline, the metadata.
#include "engine/analyze_file.hpp"

#include <omp.h>

#include <nlohmann/json.hpp>

#include "engine/backend_choice.hpp"
#include "engine/function_spec.hpp"
#include "engine/metadata.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {

AnalyzeFileOutcome analyze_file(const AnalyzeFileRequest& request, const ProgressCallback& progress,
                                const NoticeSink& notice) {
  if (request.threads > 0) omp_set_num_threads(request.threads);
  auto reader = open_point_reader(request.points);
  const int n = reader->dimension();
  const ResolvedFunction fn = resolve_function(request.function);

  check_function_dimension(fn, n, request.points);

  ExpressionOptions expression_options;
  expression_options.dimension = n;
  expression_options.parameters = parse_params(request.params);
  expression_options.source_name = fn.source_name;
  std::vector<std::string> coordinate_names;
  if (!request.vars.empty()) {
    expression_options.variable_names = split_names(request.vars);
    if (int(expression_options.variable_names.size()) != n) {
      throw InputError(request.points, 1, 0,
                       "--vars names " + std::to_string(expression_options.variable_names.size()) +
                           " variables but the points have " + std::to_string(n) + " columns");
    }
    coordinate_names = expression_options.variable_names;
  } else if (!reader->column_names().empty()) {
    // A CSV header names the output columns, and in a user's expression the variables too (x0, x1 still
    // work). Catalogue functions are written in x0/x[i] form and keep it.
    coordinate_names = reader->column_names();
    if (fn.user_expression && usable_as_variable_names(coordinate_names)) {
      expression_options.variable_names = coordinate_names;
    }
  } else {
    for (int i = 0; i < n; ++i) coordinate_names.push_back("x" + std::to_string(i));
  }
  const CompiledFunction f = compile_expression(fn.expression, expression_options);

  AnalysisOptions options;
  options.stencil = request.stencil;
  options.step_scale = request.step > 0 ? request.step : default_step_scale(options.stencil);
  options.thresholds = request.thresholds;
  options.lr = request.lr;
  options.keep_gradient = request.gradient;
  options.keep_hessian = request.hessian;
  options.keep_eigenvalues = request.eigenvalues || request.eigenvectors;  // vectors are meaningless without values
  options.eigenvectors = request.eigenvectors;

  OutputLayout layout;
  layout.n = n;
  layout.coordinate_names = coordinate_names;
  layout.gradient = request.gradient;
  layout.hessian = request.hessian;
  layout.eigenvalues = options.keep_eigenvalues;
  layout.eigenvectors = request.eigenvectors;
  auto writer = open_result_writer(request.out, layout);  // fails now, before any work, if unwritable

  auto backend = choose_backend(request.backend, notice);
  const std::size_t chunk = plan_chunk_points(
      request.chunk, request.memory, host_bytes_per_point(n, options), backend->chunk_capacity(n, options),
      "n = " + std::to_string(n) + ", " + stencil_name(options.stencil) + " stencil", notice);

  const RunSummary summary = run_analysis(f, options, *backend, *reader, *writer, chunk, progress);

  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["function"] = {{"name", fn.label},
                      {"expression", fn.expression},
                      {"dimension", n},
                      {"variables", coordinate_names},
                      {"parameters", expression_options.parameters}};
  meta["points_file"] = request.points;
  meta["stencil"] = {{"kind", stencil_name(options.stencil)},
                     {"evaluations_per_point", detail::stencil_size(options.stencil, n)},
                     {"relative_step", options.step_scale},
                     {"step_rule", "h_i = relative_step * max(|x_i|, 1), rounded so that (x_i + h_i) - x_i == h_i"}};
  meta["thresholds"] = {{"gtol", options.thresholds.gtol},
                        {"eig_tol", options.thresholds.eig_tol},
                        {"eig_rtol", options.thresholds.eig_rtol},
                        {"rule",
                         "critical when ||g|| <= gtol; an eigenvalue is zero when |lambda| <= eig_tol + "
                         "eig_rtol * max|lambda|"}};
  meta["lr"] = options.lr > 0 ? nlohmann::json(options.lr) : nlohmann::json(nullptr);
  meta["backend"] = backend->name();
  meta["chunk_points"] = chunk;
  meta["summary"] = summary_json(summary);
  writer->finish(dump_json(meta, 2));

  AnalyzeFileOutcome outcome;
  outcome.summary = summary;
  outcome.function_label = fn.label;
  outcome.n = n;
  outcome.stencil = options.stencil;
  outcome.backend_name = backend->name();
  return outcome;
}

}  // namespace hessa
