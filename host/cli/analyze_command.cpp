// `hessa analyze`: its flags, a progress line, and the summary on stdout (the run itself: engine/analyze_file).
#include <iostream>
#include <memory>
#include <optional>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/function_flags.hpp"
#include "engine/analyze_file.hpp"
#include "engine/stencil_choice.hpp"

namespace hessa::cli {
namespace {

using AnalyzeArgs = CommandArgs<AnalyzeFileRequest>;

int run_analyze(AnalyzeArgs& args) {
  AnalyzeFileRequest& request = args.request;
  request.stencil = stencil_option(args.kind);
  ProgressLine progress(!args.quiet, false);  // on a terminal only
  const AnalyzeFileOutcome outcome = analyze_file(
      request, [&](std::size_t done, std::optional<std::size_t> total) { progress.update(done, total); },
      stderr_notices(args.quiet));

  if (!args.quiet) {
    const RunSummary& summary = outcome.summary;
    std::cout << "hessa: " << summary.points << " points, " << outcome.function_label << " (n = " << outcome.n << "), "
              << stencil_name(outcome.stencil) << " stencil" << (outcome.stencil_reason.empty() ? "" : " (auto)")
              << ", " << outcome.backend_name << '\n';
    print_run_summary(std::cout, summary, "  (see the status column)", "");
    std::cout << "  wrote " << request.out << " (settings in " << request.out << ".meta.json)\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_analyze_command(CLI::App& app) {
  auto args = std::make_shared<AnalyzeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "analyze", "Gradient, Hessian, eigenvalues and the second-derivative test at every point of a file");
  add_function_option(cmd, args->request.function);
  add_naming_options(cmd, args->request.vars, args->request.params, "expression");
  cmd->add_option("-p,--points", args->request.points, "Points, one per row: .csv (header optional) or .npy (B x n)")
      ->required();
  cmd->add_option("-o,--out", args->request.out, "Result file: .csv, .npy (structured), .npz or .jsonl")->required();
  add_backend_option(cmd, args->request.backend);
  args->kind = "auto";
  cmd->add_option(
         "--stencil", args->kind,
         "How H is formed. auto: exact when the function has reverse-mode gradients, else central (central on the "
         "CUDA backend until its tape kernels are verified on a GPU); exact: n "
         "forward-over-reverse sweeps, exact to rounding; gradient: central differences of 2n+1 reverse-mode "
         "gradients, O(h^2); central: 2n^2+1 evaluations per point, O(h^2); compact: n^2+n+1, O(h^2); "
         "richardson: central at h and h/2, O(h^4) with an error estimate; hyperdual: n(n+1)/2 hyper-dual "
         "evaluations, exact")
      ->check(CLI::IsMember({"auto", "exact", "gradient", "central", "compact", "richardson", "hyperdual"}))
      ->capture_default_str();
  cmd->add_option("--step", args->request.step,
                  "Relative FD step s: h_i = s * max(|x_i|, 1) (default 2^-13 for central/compact, 2^-9 for "
                  "richardson, 2^-17 for gradient; unused by exact and hyperdual)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--gtol", args->request.thresholds.gtol,
                  "A point is critical when ||g|| <= gtol + grad_err (the gradient's error estimate)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--eig-tol", args->request.thresholds.eig_tol,
                  "Absolute part of the zero-eigenvalue band: |lambda| <= eig-tol + eig-rtol*max|lambda| + hess_err "
                  "counts as zero")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--eig-rtol", args->request.thresholds.eig_rtol,
                  "Relative part (times max|lambda|) of the zero-eigenvalue band")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--lr", args->request.lr, "Evaluate taylor_pred and f_step at x - lr*g instead of the optimal step")
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--eigenvalues", args->request.eigenvalues, "Write all eigenvalues (lambda_0 ... ascending)");
  cmd->add_flag("--eigenvectors", args->request.eigenvectors,
                "Write the eigenvectors (v_k_r: component r of vector k)");
  cmd->add_flag("--gradient", args->request.gradient, "Write the gradient (g_0 ...)");
  cmd->add_flag("--hessian", args->request.hessian, "Write the Hessian (H_r_c)");
  cmd->add_option("--direction", args->request.directions,
                  "A direction d (n comma-separated numbers, or a .csv/.npy file of rows; repeatable): adds "
                  "curv_d<k> = d'Hd/d'd and taylor_d<k> = f + g'd + d'Hd/2, the quadratic model's f(x + d)")
      ->allow_extra_args(false);
  add_columns_option(cmd, args->request.columns);
  add_chunk_options(cmd, args->request.chunk, args->request.memory);
  add_threads_option(cmd, args->request.threads);
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no progress, no fallback notice");
  return [args]() { return run_analyze(*args); };
}

}  // namespace hessa::cli
