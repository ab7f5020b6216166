// Jacobians of a vector-valued function (one expression per output, or a caller's vectorized function) at every
// point of a file (what `hessa jacobian` runs).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/notices.hpp"
#include "hessa/io.hpp"
#include "hessa/jacobian.hpp"

namespace hessa {

struct JacobianRunRequest {
  std::vector<std::string> functions;  // one expression per output
  std::string vars;                    // "r,t" ("" : the CSV header, else x0, x1, ...)
  std::vector<std::string> params;     // "NAME=VALUE"
  std::string points;                  // .csv or .npy
  std::string out;                     // .csv or .jsonl (+ OUT.meta.json)
  JacobianMode mode = JacobianMode::Central;
  double step = 0.0;  // relative step; 0: the mode's default
  std::string backend = "auto";
  std::size_t chunk = 0;  // 0: sized from the memory budget
  std::string memory;     // host memory limit text, "" none
  int threads = 0;

  // A library front end's own parts (Python), each replacing one of the above when set:
  PointReader* point_source = nullptr;  // the points (then `points` only names them)
  JacobianWriterFactory open_writer;    // where the results go (then `out` is unused)
  // The caller's function instead of `functions` (which stay empty; `vars` and `params` do not apply); it runs on
  // the CPU ("auto" picks it), in the central and richardson modes. `function_label` names it in the metadata.
  const BatchVectorFunction* function = nullptr;
  std::string function_label;
};

struct JacobianRunOutcome {
  std::size_t points = 0;
  std::size_t failed = 0;      // points with a non-finite evaluation
  double largest_error = 0.0;  // richardson's largest jac_err (0 in the other modes)
  double seconds = 0.0;
  int m = 0;  // coordinates
  int k = 0;  // outputs
  std::string backend_name;
};

JacobianRunOutcome run_jacobian(const JacobianRunRequest& request, const NoticeSink& notice);

}  // namespace hessa
