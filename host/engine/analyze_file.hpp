// One point file, one function -> one result file with its metadata (what `hessa analyze` runs).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "engine/notices.hpp"
#include "hessa/analysis_options.hpp"
#include "hessa/io.hpp"
#include "hessa/objective.hpp"
#include "hessa/pipeline.hpp"

namespace hessa {

struct AnalyzeFileRequest {
  std::string function;                // a function spec: catalogue name, quadratic:FILE, @FILE or an expression
  std::string vars;                    // "x,y": names of the coordinates ("" : the CSV header, else x0, x1, ...)
  std::vector<std::string> params;     // "NAME=VALUE" constants of the expression
  std::string points;                  // .csv or .npy
  std::string out;                     // .csv, .npy, .npz or .jsonl (+ OUT.meta.json)
  std::string backend = "auto";        // auto, cpu or cuda
  std::optional<StencilKind> stencil;  // nullopt: auto (choose_stencil)
  double step = 0.0;                   // relative step; 0: the stencil's default (default_step_scale)
  Thresholds thresholds{kDefaultGtol, 1e-6, 1e-6};
  double lr = 0.0;  // > 0: the step is x - lr g instead of the optimal one
  bool eigenvalues = false;
  bool eigenvectors = false;  // implies eigenvalues
  bool gradient = false;
  bool hessian = false;
  std::vector<std::string> directions;  // --direction: inline "1,0,-1" or a .csv/.npy file of rows
  std::vector<std::string> columns;     // --columns: the columns to write, in order (OutputLayout::columns); {}: all
  std::size_t chunk = 0;                // points per chunk; 0: sized from the memory budget
  std::string memory;  // a host memory limit ("768M"); "" : the cgroup's limit, else the available memory
  int threads = 0;     // CPU threads; 0: OpenMP's choice

  // A library front end's own parts (Python), each replacing one of the above when set:
  PointReader* point_source = nullptr;   // the points (then `points` only names them in messages and metadata)
  ResultWriterFactory open_writer;       // where the results go (then `out` is unused)
  const BatchFunction* batch = nullptr;  // the caller's function (then `function` is only its label)
  std::size_t slots = kOverlappedSlots;  // chunks in flight (run_analysis); 1: every stage on the calling thread
};

// What a front end reports of a finished run (the result file and its metadata are written and complete).
struct AnalyzeFileOutcome {
  RunSummary summary;
  std::string function_label;
  int n = 0;
  StencilKind stencil = StencilKind::Central;
  std::string stencil_reason;  // why auto chose it ("" when the request named it)
  std::string backend_name;
};

// Reads every point, analyzes it in chunks and writes the results; InputError for anything wrong with the
// request, checked before any computation where it can be.
AnalyzeFileOutcome analyze_file(const AnalyzeFileRequest& request, const ProgressCallback& progress,
                                const NoticeSink& notice);

}  // namespace hessa
