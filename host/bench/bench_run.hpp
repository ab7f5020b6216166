// `hessa bench`: a standard matrix of cases timed stage by stage on one backend, for comparing machines and
// backends. Each case analyzes random points in chunks (sized up until a chunk takes a fair share of the case's
// time) until its time is spent, with the backend's stage timer on, and writes every chunk through the .npy
// writer to a temporary file that is removed afterwards.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/notices.hpp"
#include "hessa/analysis_options.hpp"
#include "hessa/backend.hpp"

namespace hessa {

struct BenchRequest {
  std::string backend = "auto";
  bool quick = false;                 // a smoke run: n = 2, 8, 32; ~0.05 s a case
  std::vector<int> dimensions;        // {}: 2, 8, 32, 128 (quick: 2, 8, 32)
  std::vector<std::string> stencils;  // {}: every stencil
  double seconds_per_case = 0;        // 0: 0.5 s (quick: 0.05 s)
  std::string model_job = "";  // a job file with a [function] model (exact Hessians near its parameters, with its
                               // [analysis] outputs); "" : the bundled examples/mlp_moons_line.toml
  bool model = true;           // false: no model case
  std::string function = "rosenbrock";  // the catalogue function of the expression cases
  int threads = 0;                      // CPU threads; 0: OpenMP's choice
};

struct BenchCase {
  std::string function;  // "rosenbrock" or the model's label
  int n = 0;
  StencilKind stencil = StencilKind::Central;
  std::size_t points = 0;
  std::size_t chunks = 0;
  std::size_t chunk_points = 0;  // of the largest chunk
  StageTimes stages;
  double write_seconds = 0;          // the .npy writer's write() of every chunk (formatting and the write calls)
  double evaluations_per_point = 0;  // stencil evaluations (a gradient sweep counts as one)
  double bytes_in = 0;               // the points
  double bytes_out = 0;              // the results as written (.npy rows)
  double seconds() const;            // every stage and the write
  double points_per_second() const;
};

struct BenchReport {
  std::string machine;               // one line: CPU model, cores, memory
  std::string backend;               // Backend::name()
  double peak_memory_bandwidth = 0;  // bytes/s, 0 unknown
  bool quick = false;
  std::vector<BenchCase> cases;
  std::vector<std::string> skipped;  // cases not run, and why
};

// Runs the matrix. InputError for bad requests (an unknown stencil, n < 1, a model job that fails to read).
BenchReport run_bench(const BenchRequest& request, const NoticeSink& notice);

// The report as JSON: machine, backend, bandwidth, and per case its figures and seconds per stage.
nlohmann::json bench_json(const BenchReport& report);

}  // namespace hessa
