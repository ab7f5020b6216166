// `hessa analyze`: its flags, a progress line, and the summary on stdout (the run itself: engine/analyze_file).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "engine/analyze_file.hpp"

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
  AnalyzeFileRequest request;
  request.function = args.function;
  request.vars = args.vars;
  request.params = args.params;
  request.points = args.points;
  request.out = args.out;
  request.backend = args.backend;
  request.stencil = stencil_from_name(args.stencil);
  request.step = args.step;
  request.thresholds = {args.gtol, args.eig_tol, args.eig_rtol};
  request.lr = args.lr;
  request.eigenvalues = args.eigenvalues;
  request.eigenvectors = args.eigenvectors;
  request.gradient = args.gradient;
  request.hessian = args.hessian;
  request.chunk = args.chunking.chunk;
  request.memory = args.chunking.memory;
  request.threads = args.threads;

  Progress progress(!args.quiet);
  const AnalyzeFileOutcome outcome = analyze_file(
      request, [&](std::size_t done, std::optional<std::size_t> total) { progress.update(done, total); },
      stderr_notices(args.quiet));

  if (!args.quiet) {
    const RunSummary& summary = outcome.summary;
    std::cout << "hessa: " << summary.points << " points, " << outcome.function_label << " (n = " << outcome.n << "), "
              << stencil_name(outcome.stencil) << " stencil, " << outcome.backend_name << '\n';
    print_run_summary(std::cout, summary, "  (see the status column)", "");
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
