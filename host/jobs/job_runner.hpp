// `hessa run JOB.toml`: a batch job into an HDF5 result store, resumable (--resume), shardable (--shard K/N),
// and split over MPI ranks when started by mpirun.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "engine/notices.hpp"
#include "hessa/analysis_options.hpp"
#include "hessa/objective.hpp"
#include "hessa/pipeline.hpp"

namespace hessa::jobs {

struct Shard {
  std::size_t k = 1, n = 1;  // 1-based k of n
};

// "3/16" -> {3, 16}; InputError unless 1 <= K <= N.
Shard parse_shard(const std::string& text);
// out/scan.h5 -> out/scan.shard-3-of-16.h5
std::string shard_path(const std::string& path, const Shard& s);

struct JobRunRequest {
  std::string job;       // the job file (.toml), or the name of job_text
  std::string job_text;  // the job's TOML when it is not in a file (Python's dict); "" : read `job`
  bool resume = false;   // continue an existing store: only the chunks not done
  std::string shard;     // "K/N" ("" : the whole job)
  std::string backend;   // overrides [run] backend when given
  int threads = 0;       // overrides [run] threads when > 0
  std::string memory;    // overrides [run] memory when given
  // The caller's own function for a job whose [function] table says python = "label" (Python's hessa.run(job,
  // function=f)): made once the job has said its dimension. It runs on the CPU backend.
  std::function<std::unique_ptr<BatchFunction>(int n)> make_function;
  bool function_has_gradient = false;
};

// What the process that wrote the store reports (every field but `writer` is unset on the others).
struct JobRunOutcome {
  bool writer = true;             // false on MPI ranks other than 0: they report nothing
  bool already_complete = false;  // --resume of a complete store: verified, nothing computed
  RunSummary summary;             // of the points computed now
  std::string out;                // the store (a shard's own file with --shard)
  std::string settings_json;      // the job's resolved settings
  std::string function_label;
  int function_n = 0;  // coordinates of the function (a model: its parameter count)
  int analysis_n = 0;  // dimension of g, H and the eigenvalues
  bool directions_scan = false;
  int scan_dimension = 0;  // directions of a direction scan
  StencilKind stencil = StencilKind::Central;
  bool lanczos = false;  // [points] hessian = "lanczos": no stencil, H never formed
  std::string backend_name;
  std::string team;                    // "" for one process, else e.g. "2 MPI ranks"
  std::size_t chunks_done_before = 0;  // of this shard, found done in the store
  std::size_t chunks_in_shard = 0;
  std::size_t chunk_count = 0;  // of the job
  Shard shard;
};

// Points written so far of those this run computes (the writer's process only; first called with 0).
using JobProgress = std::function<void(std::size_t written, std::size_t total)>;

// Runs the job. Returns 0, or the exit code every process returns after a set-up error that one process has
// already reported (MPI; with one process the error is thrown). A stop signal ends it between chunks with
// StopRequested, whose message tells what the store keeps and how to resume.
int run_job(const JobRunRequest& request, JobRunOutcome& outcome, const JobProgress& progress,
            const NoticeSink& notice);

}  // namespace hessa::jobs
