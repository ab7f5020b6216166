// `hessa bench`: its flags, the table on stdout and the JSON file (the runs: bench/bench_run).
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include "bench/bench_run.hpp"
#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "cli/function_flags.hpp"
#include "engine/metadata.hpp"
#include "hessa/errors.hpp"
#include "io/output_file.hpp"

namespace hessa::cli {
namespace {

struct BenchArgs {
  BenchRequest request;
  std::string json;
  bool no_model = false;
};

void print_report(const BenchReport& report) {
  std::printf("machine: %s\nbackend: %s\n", report.machine.c_str(), report.backend.c_str());
  if (report.peak_memory_bandwidth > 0)
    std::printf("device memory: %.0f GB/s peak (as the device reports it)\n", report.peak_memory_bandwidth / 1e9);
  std::printf("%-28s %4s %-10s %9s %12s %12s  %s\n", "function", "n", "stencil", "points", "points/s", "evals/s",
              "seconds: upload stencil assemble eigen analyze download write");
  for (const BenchCase& c : report.cases) {
    const double stencil = c.stages.seconds[int(Stage::Stencil)];
    std::printf("%-28.28s %4d %-10s %9zu %12.4g %12.4g ", c.function.c_str(), c.n, stencil_name(c.stencil), c.points,
                c.points_per_second(), stencil > 0 ? double(c.points) * c.evaluations_per_point / stencil : 0.0);
    for (int s = 0; s < kStageCount; ++s) std::printf(" %.3g", c.stages.seconds[s]);
    std::printf(" %.3g", c.write_seconds);
    const double pipeline = c.seconds() - c.write_seconds;
    if (report.peak_memory_bandwidth > 0 && pipeline > 0)
      std::printf("  roofline %.2g%%", 100 * (c.bytes_in + c.bytes_out) / pipeline / report.peak_memory_bandwidth);
    std::printf("\n");
  }
  for (const std::string& s : report.skipped) std::printf("skipped: %s\n", s.c_str());
}

int run_bench_command(BenchArgs& args) {
  args.request.model = !args.no_model;
  const BenchReport report = run_bench(args.request, stderr_notices(false));
  print_report(report);
  if (!args.json.empty()) {
    const std::string text = dump_json(bench_json(report), 2) + "\n";
    io::TempFile file(args.json, args.json);  // complete or absent, as every result file
    file.write(text);
    file.sync();
    file.commit();
    std::printf("figures: %s\n", args.json.c_str());
  }
  return 0;
}

}  // namespace

std::function<int()> add_bench_command(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* cmd = app.add_subcommand(
      "bench", "Time a standard matrix of cases stage by stage on a backend (points/s, evaluations/s, roofline)");
  add_backend_option(cmd, args->request.backend);
  cmd->add_flag("--quick", args->request.quick, "A smoke run: n = 2, 8, 32 and about 0.05 s a case");
  cmd->add_option("--json", args->json, "Also write the figures to this JSON file (machine, backend, per case)");
  cmd->add_option("--n", args->request.dimensions, "Dimensions (comma-separated; default 2,8,32,128)")->delimiter(',');
  cmd->add_option("--stencil", args->request.stencils,
                  "Stencils (comma-separated; default all: exact,gradient,central,compact,richardson,hyperdual)")
      ->delimiter(',');
  cmd->add_option("--function", args->request.function, "The catalogue function of the expression cases")
      ->capture_default_str();
  cmd->add_option("--seconds", args->request.seconds_per_case,
                  "Time per case (default 0.5, --quick 0.05; the model case takes 4 times this)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--model", args->request.model_job,
                  "A job file whose [function] is a model: its loss at points near its parameters, with its "
                  "[analysis] settings (default: examples/mlp_moons_line.toml of the source tree, when present)");
  cmd->add_flag("--no-model", args->no_model, "No model case");
  add_threads_option(cmd, args->request.threads);
  return [args]() { return run_bench_command(*args); };
}

}  // namespace hessa::cli
