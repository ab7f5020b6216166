// Stationary points of a function in a box (or from given starts) by a batched Levenberg-Marquardt search, each
// classified by the usual analysis and written with its basin count (what `hessa critical` runs).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/notices.hpp"
#include "hessa/analysis_options.hpp"
#include "hessa/critical_search.hpp"
#include "hessa/io.hpp"

namespace hessa {

struct CriticalRunRequest {
  std::string function;             // a function spec, as for analyze_file
  std::string vars;                 // "x,y" ("" : the points file's header, else x0, x1, ...)
  std::vector<std::string> params;  // "NAME=VALUE"
  std::string box;                  // "-5:5,-2:2": the region (with grid), or a confining box for file starts
  std::string grid;                 // "64x64": starts on a grid over the box
  std::string points;               // starts from a .csv / .npy file instead of a grid
  std::string out;                  // result file (+ OUT.meta.json)
  std::string backend = "auto";
  std::optional<StencilKind> stencil = StencilKind::Central;  // nullopt: auto (choose_stencil)
  int max_iter = 100;                                         // backend evaluations per start
  int threads = 0;                                            // CPU threads; 0: OpenMP's choice
  std::vector<std::string> columns;                           // --columns (OutputLayout::columns); {}: all

  // A library front end's own parts (Python), each replacing one of the above when set:
  PointReader* point_source = nullptr;   // the starts (then `points` only names them)
  ResultWriterFactory open_writer;       // where the results go (then `out` is unused)
  const BatchFunction* batch = nullptr;  // the caller's function (then `function` is only its label): the CPU's
};

struct CriticalRunOutcome {
  std::string function_label;
  std::string backend_name;
  CriticalSearchResult found;  // the unique stationary points, their basins and the per-start outcomes
  ChunkResult analyzed;        // the analysis of each found point (as written)
};

// InputError for a malformed request (box, grid, dimensions, function), before any computation.
CriticalRunOutcome run_critical(const CriticalRunRequest& request, const NoticeSink& notice);

}  // namespace hessa
