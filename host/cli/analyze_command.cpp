// `hessa analyze`: one point set, one function -> one result file (+ metadata) and a summary on stdout.
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/function_options.hpp"
#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/pipeline.hpp"

namespace hessa::cli {
namespace {

struct AnalyzeArgs {
  std::string function;
  std::string vars;
  std::vector<std::string> params;
  std::string points;
  std::string out;
  std::string backend = "auto";
  std::string stencil = "central";
  double step = 0.0;  // 0: the stencil's default (default_step_scale)
  double gtol = kDefaultGtol;
  double eig_tol = 1e-6;
  double eig_rtol = 1e-6;
  double lr = 0.0;
  bool eigenvalues = false;
  bool eigenvectors = false;
  bool gradient = false;
  bool hessian = false;
  ChunkOptions chunking;
  int threads = 0;
  bool quiet = false;
};

// Progress on a terminal only, at most a few times a second, after the first second.
class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled && isatty(STDERR_FILENO)) {}
  void update(std::size_t done, std::optional<std::size_t> total) {
    if (!enabled_) return;
    const double elapsed = seconds();
    if (elapsed < 1.0 || elapsed - last_ < 0.25) return;
    last_ = elapsed;
    const double rate = double(done) / elapsed;
    std::fprintf(stderr, "\r%zu points", done);
    if (total && *total > 0) {
      const double eta = rate > 0 ? double(*total - done) / rate : 0.0;
      std::fprintf(stderr, " / %zu (%.0f%%), ETA %.0f s", *total, 100.0 * double(done) / double(*total), eta);
    }
    std::fprintf(stderr, ", %.3g points/s   ", rate);
    shown_ = true;
  }
  ~Progress() {
    if (shown_) std::fprintf(stderr, "\n");
  }

 private:
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
  bool enabled_;
  bool shown_ = false;
  double last_ = 0.0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

int run_analyze(const AnalyzeArgs& args) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  auto reader = open_point_reader(args.points);
  const int n = reader->dimension();
  const ResolvedFunction fn = resolve_function(args.function);

  check_function_dimension(fn, n, args.points);

  ExpressionOptions expression_options;
  expression_options.dimension = n;
  expression_options.parameters = parse_params(args.params);
  expression_options.source_name = fn.source_name;
  std::vector<std::string> coordinate_names;
  if (!args.vars.empty()) {
    expression_options.variable_names = split_names(args.vars);
    if (int(expression_options.variable_names.size()) != n) {
      throw InputError(args.points, 1, 0,
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
  options.stencil = stencil_from_name(args.stencil);
  options.step_scale = args.step > 0 ? args.step : default_step_scale(options.stencil);
  options.thresholds = {args.gtol, args.eig_tol, args.eig_rtol};
  options.lr = args.lr;
  options.keep_gradient = args.gradient;
  options.keep_hessian = args.hessian;
  options.keep_eigenvalues = args.eigenvalues || args.eigenvectors;  // vectors are meaningless without values
  options.eigenvectors = args.eigenvectors;

  OutputLayout layout;
  layout.n = n;
  layout.coordinate_names = coordinate_names;
  layout.gradient = args.gradient;
  layout.hessian = args.hessian;
  layout.eigenvalues = options.keep_eigenvalues;
  layout.eigenvectors = args.eigenvectors;
  auto writer = open_result_writer(args.out, layout);  // fails now, before any work, if unwritable

  auto backend = choose_backend(args.backend, args.quiet);
  const std::size_t chunk = plan_chunk_points(
      args.chunking.chunk, args.chunking.memory, host_bytes_per_point(n, options), backend->chunk_capacity(n, options),
      "n = " + std::to_string(n) + ", " + stencil_name(options.stencil) + " stencil", args.quiet);

  Progress progress(!args.quiet);
  const RunSummary summary =
      run_analysis(f, options, *backend, *reader, *writer, chunk,
                   [&](std::size_t done, std::optional<std::size_t> total) { progress.update(done, total); });

  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["function"] = {{"name", fn.label},
                      {"expression", fn.expression},
                      {"dimension", n},
                      {"variables", coordinate_names},
                      {"parameters", expression_options.parameters}};
  meta["points_file"] = args.points;
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
  nlohmann::json counts;
  for (int c = 1; c < 6; ++c) counts[class_name(PointClass(c))] = summary.per_class[std::size_t(c)];
  meta["summary"] = {
      {"points", summary.points}, {"classes", counts}, {"failed", summary.failed}, {"seconds", summary.seconds}};
  writer->finish(dump_json(meta, 2));

  if (!args.quiet) {
    std::cout << "hessa: " << summary.points << " points, " << fn.label << " (n = " << n << "), "
              << stencil_name(options.stencil) << " stencil, " << backend->name() << '\n';
    for (int c = 1; c < 6; ++c) {
      std::cout << "  " << std::left << std::setw(12) << class_name(PointClass(c)) << summary.per_class[std::size_t(c)]
                << '\n';
    }
    std::cout << "  " << std::setw(12) << "failed" << summary.failed
              << (summary.failed ? "  (see the status column)" : "") << '\n';
    std::cout << "  eigenvalues in [" << summary.lambda_min << ", " << summary.lambda_max << "]\n";
    std::cout << "  " << summary.seconds << " s, "
              << (summary.seconds > 0 ? double(summary.points) / summary.seconds : 0.0) << " points/s\n";
    std::cout << "  wrote " << args.out << " (settings in " << args.out << ".meta.json)\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_analyze_command(CLI::App& app) {
  auto args = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "analyze", "Gradient, Hessian, eigenvalues and the second-derivative test at every point of a file");
  cmd->add_option("-f,--function", args->function,
                  "A catalogue name (see 'hessa functions'), quadratic:MATRIX.csv, @FILE with an expression, "
                  "or an expression such as \"x^2 - y^2\"")
      ->required();
  cmd->add_option("--vars", args->vars,
                  "Names of the coordinates, comma separated (default: x0, x1, ... or the CSV header)");
  cmd->add_option("--param", args->params, "A named constant for the expression, NAME=VALUE (repeatable)");
  cmd->add_option("-p,--points", args->points, "Points, one per row: .csv (header optional) or .npy (B x n)")
      ->required();
  cmd->add_option("-o,--out", args->out, "Result file: .csv, .npy (structured), .npz or .jsonl")->required();
  cmd->add_option("--backend", args->backend, "auto (GPU when usable, else CPU, said on stderr), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--stencil", args->stencil,
                  "central: 2n^2+1 evaluations per point, O(h^2); compact: n^2+n+1, O(h^2); richardson: central at h "
                  "and h/2, O(h^4) with an error estimate; hyperdual: n(n+1)/2 hyper-dual evaluations, exact")
      ->check(CLI::IsMember({"central", "compact", "richardson", "hyperdual"}))
      ->capture_default_str();
  cmd->add_option("--step", args->step,
                  "Relative FD step s: h_i = s * max(|x_i|, 1) (default 2^-13 for central/compact, 2^-9 for "
                  "richardson; unused by hyperdual)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gtol", args->gtol,
                  "A point is critical when ||g|| <= gtol + grad_err (the gradient's error estimate)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--eig-tol", args->eig_tol,
                  "Absolute part of the zero-eigenvalue band: |lambda| <= eig-tol + eig-rtol*max|lambda| + hess_err "
                  "counts as zero")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--eig-rtol", args->eig_rtol, "Relative part (times max|lambda|) of the zero-eigenvalue band")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--lr", args->lr, "Evaluate taylor_pred and f_step at x - lr*g instead of the optimal step")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--eigenvalues", args->eigenvalues, "Write all eigenvalues (lambda_0 ... ascending)");
  cmd->add_flag("--eigenvectors", args->eigenvectors, "Write the eigenvectors (v_k_r: component r of vector k)");
  cmd->add_flag("--gradient", args->gradient, "Write the gradient (g_0 ...)");
  cmd->add_flag("--hessian", args->hessian, "Write the Hessian (H_r_c)");
  add_chunk_options(cmd, args->chunking);
  cmd->add_option("--threads", args->threads, "CPU threads (default: OpenMP's choice)")->check(CLI::PositiveNumber);
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no progress, no fallback notice");
  return [args]() { return run_analyze(*args); };
}

}  // namespace hessa::cli
