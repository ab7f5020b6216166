// `hessa jacobian`: its flags and the summary it prints (the run itself: engine/jacobian_run).
#include <iostream>
#include <memory>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/function_flags.hpp"
#include "engine/jacobian_run.hpp"

namespace hessa::cli {
namespace {

using JacobianArgs = CommandArgs<JacobianRunRequest>;

JacobianMode mode_from_name(const std::string& name) {
  if (name == "richardson") return JacobianMode::Richardson;
  if (name == "dual") return JacobianMode::Dual;
  return JacobianMode::Central;
}

int run_jacobian_command(JacobianArgs& args) {
  JacobianRunRequest& request = args.request;
  request.mode = mode_from_name(args.kind);
  const JacobianRunOutcome outcome = run_jacobian(request, stderr_notices(args.quiet));

  if (!args.quiet) {
    std::cout << "hessa: " << outcome.points << " points, " << outcome.k << " x " << outcome.m << " Jacobians, "
              << jacobian_mode_name(request.mode) << " mode, " << outcome.backend_name << '\n';
    std::cout << "  failed " << outcome.failed << (outcome.failed ? "  (see the status column)" : "") << '\n';
    if (request.mode == JacobianMode::Richardson) std::cout << "  largest jac_err " << outcome.largest_error << '\n';
    std::cout << "  " << outcome.seconds << " s\n";
    std::cout << "  wrote " << request.out << " (settings in " << request.out << ".meta.json)\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_jacobian_command(CLI::App& app) {
  auto args = std::make_shared<JacobianArgs>();
  CLI::App* cmd = app.add_subcommand("jacobian", "Jacobian of a vector-valued function at every point of a file");
  cmd->add_option("-f,--function", args->request.functions,
                  "One output of f as an expression, e.g. \"r*cos(t)\" (repeat: one --function per output)")
      ->required();
  add_naming_options(cmd, args->request.vars, args->request.params, "expressions");
  cmd->add_option("-p,--points", args->request.points, "Points, one per row: .csv (header optional) or .npy (B x m)")
      ->required();
  cmd->add_option("-o,--out", args->request.out, "Result file: .csv or .jsonl")->required();
  cmd->add_option("--mode", args->kind,
                  "central: 2m+1 evaluations per output, O(h^2); richardson: 4m+1, O(h^4) with an error estimate "
                  "(jac_err); dual: m hyper-dual evaluations, exact")
      ->check(CLI::IsMember({"central", "richardson", "dual"}))
      ->capture_default_str();
  cmd->add_option("--step", args->request.step,
                  "Relative step s: h_j = s * max(|x_j|, 1) (default eps^(1/3) = 6.06e-6 for central, eps^(1/5) = "
                  "7.4e-4 for richardson; unused by dual)")
      ->check(CLI::PositiveNumber);
  add_backend_option(cmd, args->request.backend);
  add_chunk_options(cmd, args->request.chunk, args->request.memory);
  add_threads_option(cmd, args->request.threads);
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no fallback notice");
  return [args]() { return run_jacobian_command(*args); };
}

}  // namespace hessa::cli
