// `hessa critical`: its flags and the table of stationary points it prints (the search: engine/critical_run).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/function_flags.hpp"
#include "engine/critical_run.hpp"
#include "engine/stencil_choice.hpp"

namespace hessa::cli {
namespace {

using CriticalArgs = CommandArgs<CriticalRunRequest>;

void print_summary(const CriticalRunOutcome& outcome, const std::string& out) {
  const CriticalSearchResult& r = outcome.found;
  const ChunkResult& analyzed = outcome.analyzed;
  std::cout << "hessa critical: " << outcome.function_label << " (n = " << r.n << "), " << r.starts << " starts, "
            << outcome.backend_name << '\n';
  std::vector<std::size_t> order(r.count());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return analyzed.points[a].f < analyzed.points[b].f; });
  std::cout << "  " << std::left << std::setw(14) << "f" << std::setw(12) << "class" << std::setw(7) << "morse"
            << std::setw(7) << "basin"
            << "x\n";
  for (std::size_t k : order) {
    const PointAnalysis& a = analyzed.points[k];
    std::ostringstream x;
    x << std::setprecision(10);
    for (int i = 0; i < r.n; ++i) x << (i ? ", " : "(") << r.points[k * std::size_t(r.n) + std::size_t(i)];
    x << ')';
    std::ostringstream f;
    f << std::setprecision(8) << a.f;
    std::cout << "  " << std::setw(14) << f.str() << std::setw(12) << class_name(a.point_class) << std::setw(7)
              << a.morse_index << std::setw(7) << r.basin_count[k] << x.str() << '\n';
  }
  int most_iterations = 0;
  double iterations = 0.0;
  for (std::size_t p = 0; p < r.starts; ++p) {
    if (r.outcome[p] != StartOutcome::Converged) continue;
    most_iterations = std::max(most_iterations, r.iterations[p]);
    iterations += r.iterations[p];
  }
  std::cout << "  starts " << r.starts << ", converged " << r.converged << ", left the box " << r.left_box
            << ", not converged " << r.not_converged << ", failed " << r.failed << ", unique " << r.count() << '\n';
  std::cout << "  " << r.rounds << " rounds; iterations per converged start: mean "
            << (r.converged ? iterations / double(r.converged) : 0.0) << ", max " << most_iterations << "; "
            << r.seconds << " s\n";
  std::cout << "  wrote " << out << " (settings in " << out << ".meta.json)\n";
}

int run_critical_command(CriticalArgs& args) {
  CriticalRunRequest& request = args.request;
  request.stencil = stencil_option(args.kind);
  const CriticalRunOutcome outcome = run_critical(request, stderr_notices(args.quiet));
  if (!args.quiet) print_summary(outcome, request.out);
  return 0;
}

}  // namespace

std::function<int()> add_critical_command(CLI::App& app) {
  auto args = std::make_shared<CriticalArgs>();
  CLI::App* cmd = app.add_subcommand(
      "critical",
      "Find the stationary points in a box by a batched Levenberg-Marquardt search from many starts, "
      "classify them and count the starts that reached each");
  add_function_option(cmd, args->request.function);
  add_naming_options(cmd, args->request.vars, args->request.params, "expression");
  cmd->add_option("--box", args->request.box,
                  "The region, LOW:HIGH per coordinate, e.g. -5:5,-5:5; stationary points outside it are not reported");
  cmd->add_option("--grid", args->request.grid, "Starts on a grid over the box, points per coordinate, e.g. 64x64");
  cmd->add_option("-p,--points", args->request.points,
                  "Starting points instead of --grid: .csv or .npy (without --box their bounding box sets the scale)");
  cmd->add_option("-o,--out", args->request.out, "Result file: .csv, .npy (structured), .npz or .jsonl")->required();
  add_backend_option(cmd, args->request.backend);
  cmd->add_option("--stencil", args->kind,
                  "Stencil of the search and the analysis (see 'hessa analyze --help'; auto: exact where the function "
                  "has reverse-mode gradients, as for analyze)")
      ->check(CLI::IsMember({"central", "compact", "richardson", "hyperdual", "gradient", "exact", "auto"}))
      ->capture_default_str();
  cmd->add_option("--max-iter", args->request.max_iter,
                  "Backend evaluations per start before it counts as not converged")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_columns_option(cmd, args->request.columns);
  add_threads_option(cmd, args->request.threads);
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no fallback notice");
  return [args]() { return run_critical_command(*args); };
}

}  // namespace hessa::cli
