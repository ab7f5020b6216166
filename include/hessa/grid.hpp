// Regular grids over a box, as `hessa run` and `hessa critical` lay them out: point `index` of a grid with
// per-axis counts, last axis fastest. Axis i takes counts[i] points from lower[i] to upper[i] inclusive, the
// last one exactly upper[i]; a single point sits at the centre of its axis.
#pragma once

#include <cstddef>

namespace hessa {

inline double grid_coordinate(double lower, double upper, std::size_t count, std::size_t k) {
  if (count <= 1) return 0.5 * (lower + upper);
  if (k + 1 == count) return upper;
  return lower + double(k) * ((upper - lower) / double(count - 1));
}

// Writes the n coordinates of grid point `index` to out.
template <class Count>
void grid_point(const double* lower, const double* upper, const Count* counts, std::size_t n, std::size_t index,
                double* out) {
  for (std::size_t axis = n; axis-- > 0;) {
    const std::size_t count = std::size_t(counts[axis]);
    out[axis] = grid_coordinate(lower[axis], upper[axis], count, index % count);
    index /= count;
  }
}

}  // namespace hessa
