// --direction: directional curvature d'Hd / d'd and the second-order prediction of f(x + d) along given directions
// (the seeds' d'Hd), as extra result columns.
#pragma once

#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/backend.hpp"
#include "hessa/objective.hpp"

namespace hessa {

// m directions of n coordinates, row-major (direction k is values[k n .. k n + n)).
struct Directions {
  int n = 0;
  std::vector<double> values;
  int count() const { return n > 0 ? int(values.size() / std::size_t(n)) : 0; }
};

// Each spec is n comma-separated numbers ("1,0,-1") or a .csv / .npy file whose rows are directions. InputError
// (with the spec or the file's line) for a wrong length, a non-finite entry or a zero direction.
Directions read_directions(const std::vector<std::string>& specs, int n);

// The columns: curv_d<k> (d'Hd / d'd) and taylor_d<k> (f + g'd + d'Hd / 2, the quadratic model's f(x + d)).
std::vector<std::string> direction_column_names(const Directions& d);

// Fills result.extra_columns from its kept gradient and Hessian (the options must keep both) and f.
void add_direction_columns(const Directions& d, ChunkResult& result);

// The same columns, appended to result.extra_columns, without H: g and H d from the backend's exact Hessian-vector
// products at `points` (result.count rows of the objective's own coordinates, d.n = objective.inner_dimension()), f
// from the result. Points whose analysis failed get NaN. Memory: blocks of points so that their H d stay under ~64 MiB.
void add_direction_columns_by_hvp(const Directions& d, Backend& backend, const Objective& objective,
                                  const double* points, ChunkResult& result);

}  // namespace hessa
