// `hessa run` and `hessa merge`: their flags, progress lines and summaries (the runs: jobs/job_runner and
// jobs/merge_stores).
#include <iostream>
#include <memory>

#include "cli/chunk_options.hpp"
#include "cli/commands.hpp"
#include "cli/console.hpp"
#include "engine/function_spec.hpp"
#include "jobs/job_runner.hpp"
#include "jobs/merge_stores.hpp"

namespace hessa::cli {
namespace {

struct RunArgs {
  std::string job;
  bool resume = false;
  std::string shard;
  std::string backend;  // overrides [run] backend when given
  int threads = 0;      // overrides [run] threads when > 0
  std::string memory;   // overrides [run] memory when given
  bool quiet = false;
};

struct MergeArgs {
  std::vector<std::string> inputs;
  std::string out;
  bool allow_incomplete = false;
  bool quiet = false;
};

void print_job_summary(const jobs::JobRunOutcome& run) {
  if (run.already_complete) {
    std::cout << "hessa: " << run.out << " is complete (every chunk verified): nothing to do\n";
  }
  const RunSummary& summary = run.summary;
  std::cout << "hessa: " << summary.points << " points computed, " << run.function_label << " (n = " << run.function_n
            << (run.directions_scan ? ", " + std::to_string(run.analysis_n) + "x" + std::to_string(run.analysis_n) +
                                          " Hessian of a " + std::to_string(run.scan_dimension) + "-direction scan"
                                    : std::string())
            << "), "
            << (run.lanczos ? std::string("Lanczos over exact Hessian-vector products")
                            : std::string(stencil_name(run.stencil)) + " stencil")
            << ", " << run.backend_name;
  if (!run.team.empty()) std::cout << ", " << run.team;
  std::cout << '\n';
  std::cout << "  chunks: " << summary.chunks << " computed, " << run.chunks_done_before << " already done";
  if (run.shard.n > 1) {
    std::cout << " (shard " << run.shard.k << "/" << run.shard.n << ": " << run.chunks_in_shard << " of "
              << run.chunk_count << ")";
  }
  std::cout << '\n';
  print_run_summary(std::cout, summary, "  (see /status)", " (points computed now)");
  std::cout << "  wrote " << run.out << "\n  settings: " << run.settings_json << '\n';
}

int run_job_command(const RunArgs& args) {
  jobs::JobRunRequest request;
  request.job = args.job;
  request.resume = args.resume;
  request.shard = args.shard;
  request.backend = args.backend;
  request.threads = args.threads;
  request.memory = args.memory;
  ProgressLine progress(!args.quiet, true);  // batch logs get a line every 10 s
  jobs::JobRunOutcome outcome;
  const int code = jobs::run_job(
      request, outcome, [&](std::size_t written, std::size_t total) { progress.update(written, total); },
      stderr_notices(args.quiet));
  if (code == 0 && outcome.writer && !args.quiet) print_job_summary(outcome);
  return code;
}

int run_merge_command(const MergeArgs& args) {
  const jobs::MergeOutcome merged = jobs::merge_stores({args.inputs, args.out, args.allow_incomplete});
  if (!args.quiet) {
    std::cout << "hessa: merged " << merged.inputs << " files into " << args.out << ": "
              << merged.chunks - merged.missing.size() << " of " << merged.chunks << " chunks (" << merged.overlaps
              << " overlapping, identical)";
    if (!merged.missing.empty()) std::cout << "; missing: " << join_names(merged.missing);
    std::cout << '\n';
  }
  return 0;
}

}  // namespace

std::function<int()> add_run_command(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "Run a batch job (TOML job file) into an HDF5 result store, resumable");
  cmd->add_option("job", args->job, "The job file (.toml); see README.md, 'Batch jobs'")->required();
  cmd->add_flag("--resume", args->resume, "Continue an existing output: compute only the chunks not marked done");
  cmd->add_option("--shard", args->shard,
                  "K/N: compute chunks c with c % N == K-1 into <output>.shard-K-of-N.h5 (SLURM arrays: "
                  "--shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT)");
  cmd->add_option("--backend", args->backend, "Override the job's [run] backend: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", args->threads, "Override the job's [run] threads: CPU threads per process")
      ->check(CLI::Range(1, 4096));
  add_memory_option(cmd, args->memory,
                    "Override the job's [run] memory: a host memory limit such as 768M (default: the cgroup's "
                    "limit, else the available memory)");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary, no progress, no fallback notice");
  return [args]() { return run_job_command(*args); };
}

std::function<int()> add_merge_command(CLI::App& app) {
  auto args = std::make_shared<MergeArgs>();
  CLI::App* cmd = app.add_subcommand("merge", "Merge shard files of one job (hessa run --shard) into one HDF5 file");
  cmd->add_option("inputs", args->inputs, "The shard files")->required()->check(CLI::ExistingFile);
  cmd->add_option("-o,--out", args->out, "The merged file")->required();
  cmd->add_flag("--allow-incomplete", args->allow_incomplete, "Write the merged file even when chunks are missing");
  cmd->add_flag("-q,--quiet", args->quiet, "No summary");
  return [args]() { return run_merge_command(*args); };
}

}  // namespace hessa::cli
