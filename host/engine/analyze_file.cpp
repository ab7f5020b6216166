// The analyze run: function and coordinates resolved as every command does, the chunk pipeline, the metadata.
#include "engine/analyze_file.hpp"

#include <omp.h>

#include <nlohmann/json.hpp>

#include "engine/backend_choice.hpp"
#include "engine/directions.hpp"
#include "engine/function_spec.hpp"
#include "engine/metadata.hpp"
#include "engine/stencil_choice.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {

AnalyzeFileOutcome analyze_file(const AnalyzeFileRequest& request, const ProgressCallback& progress,
                                const NoticeSink& notice) {
  if (request.threads > 0) omp_set_num_threads(request.threads);
  std::unique_ptr<PointReader> file_reader;
  if (request.point_source == nullptr) file_reader = open_point_reader(request.points);
  PointReader& reader = request.point_source != nullptr ? *request.point_source : *file_reader;
  const int n = reader.dimension();

  // The function: an expression compiled for n coordinates, or the caller's own (which knows its dimension).
  ResolvedFunction fn;
  ExpressionOptions expression_options;
  CompiledFunction compiled;
  Objective objective;
  std::vector<std::string> coordinate_names;
  if (request.batch != nullptr) {
    fn.label = request.function;
    if (request.batch->dimension() != n)
      throw InputError(request.points, 0, 0,
                       "the points have " + std::to_string(n) + " columns but the function takes " +
                           std::to_string(request.batch->dimension()) + " coordinates");
    coordinate_names = name_coordinates(request.vars, reader.column_names(), n, false, request.points, 1,
                                        "the points have " + std::to_string(n) + " columns")
                           .coordinates;
    objective.batch = request.batch;
  } else {
    fn = resolve_function(request.function);
    check_function_dimension(fn, n, request.points);
    expression_options.dimension = n;
    expression_options.parameters = parse_params(request.params);
    expression_options.source_name = fn.source_name;
    // Catalogue functions are written in x0/x[i] form and keep it; a user's expression may use the header's names.
    const CoordinateNames names =
        name_coordinates(request.vars, reader.column_names(), n, fn.user_expression, request.points, 1,
                         "the points have " + std::to_string(n) + " columns");
    expression_options.variable_names = names.variables;
    coordinate_names = names.coordinates;
    compiled = compile_expression(fn.expression, expression_options);
    objective.expression = &compiled;
  }

  // A caller's function runs on the CPU (its values are computed on the host): auto picks it.
  auto backend =
      choose_backend(request.batch != nullptr && request.backend == "auto" ? "cpu" : request.backend, notice);
  const StencilChoice stencil = choose_stencil(request.stencil, objective, backend->kind());
  AnalysisOptions options;
  options.stencil = stencil.kind;
  options.step_scale = request.step > 0 ? request.step : default_step_scale(options.stencil);
  options.thresholds = request.thresholds;
  options.lr = request.lr;
  options.keep_gradient = request.gradient;
  options.keep_hessian = request.hessian;
  options.keep_eigenvalues = request.eigenvalues || request.eigenvectors;  // vectors are meaningless without values
  options.eigenvectors = request.eigenvectors;
  const Directions directions = read_directions(request.directions, n);
  if (directions.count() > 0) options.keep_gradient = options.keep_hessian = true;  // what the columns read

  OutputLayout layout;
  layout.n = n;
  layout.coordinate_names = coordinate_names;
  layout.gradient = request.gradient;
  layout.hessian = request.hessian;
  layout.eigenvalues = options.keep_eigenvalues;
  layout.eigenvectors = request.eigenvectors;
  layout.extra_columns = direction_column_names(directions);
  layout.columns = request.columns;
  if (request.batch != nullptr) check_batch_function(*request.batch, options.stencil, backend->kind());
  // A file fails now, before any work, if unwritable.
  auto writer = request.open_writer ? request.open_writer(layout) : open_result_writer(request.out, layout);

  const std::size_t chunk =
      plan_chunk_points(request.chunk, request.memory, host_bytes_per_point(n, options, kOverlappedSlots),
                        backend->chunk_capacity(n, options),
                        "n = " + std::to_string(n) + ", " + stencil_name(options.stencil) + " stencil", notice);

  ChunkHook add_columns;
  if (directions.count() > 0) add_columns = [&](ChunkResult& result) { add_direction_columns(directions, result); };
  const RunSummary summary =
      run_analysis(objective, options, *backend, reader, *writer, chunk, progress, add_columns, request.slots);

  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["function"] = {
      {"name", fn.label},
      {"expression", request.batch != nullptr ? nlohmann::json(nullptr) : nlohmann::json(fn.expression)},
      {"dimension", n},
      {"variables", coordinate_names},
      {"parameters", expression_options.parameters}};
  if (request.batch != nullptr) meta["function"]["kind"] = "the caller's vectorized function";
  meta["points_file"] = request.points;
  if (directions.count() > 0) {
    meta["directions"] = {{"count", directions.count()},
                          {"values", directions.values},
                          {"columns", "curv_d<k> = d'Hd / d'd, taylor_d<k> = f + g'd + d'Hd / 2 (f(x + d) predicted)"}};
  }
  if (!request.columns.empty()) meta["columns"] = request.columns;  // as asked (prefixes unexpanded)
  meta["stencil"] = {{"kind", stencil_name(options.stencil)},
                     {"chosen_by", stencil.reason.empty() ? "the request" : stencil.reason},
                     {"evaluations_per_point", detail::stencil_size(options.stencil, n)},
                     {"relative_step", options.step_scale},
                     {"step_rule", "h_i = relative_step * max(|x_i|, 1), rounded so that (x_i + h_i) - x_i == h_i"}};
  if (detail::uses_gradients(options.stencil) && request.batch == nullptr) {
    // What one reverse-mode sweep holds: a value and an adjoint per tape node (per tangent lane for exact).
    meta["stencil"]["tape_nodes"] = compiled.tape().size();
    meta["stencil"]["sweep_bytes_per_lane"] = 2 * compiled.tape().size() * sizeof(double);
  }
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
  outcome.stencil_reason = stencil.reason;
  outcome.backend_name = backend->name();
  return outcome;
}

}  // namespace hessa
