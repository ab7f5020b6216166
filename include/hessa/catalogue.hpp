// Named functions, each written in the hessa expression language, with facts the tests (and curious users)
// can check against: analytic gradients and Hessians, sample points, known stationary points and their types.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "hessa/analysis_options.hpp"

namespace hessa {

struct StationaryPoint {
  std::vector<double> x;
  PointClass type;
};

struct CatalogueEntry {
  std::string name;
  std::string description;  // one line, for `hessa functions`
  int dimension = 0;        // fixed n, or 0 for "any n >= min_dimension"
  int min_dimension = 1;
  std::string expression;  // hessa language; x[i], n and sum() make it dimension-generic
  // Analytic facts (column-major H). n is the dimension the function is used at.
  std::function<void(const double* x, int n, double* g)> gradient;
  std::function<void(const double* x, int n, double* H)> hessian;
  std::function<std::vector<StationaryPoint>(int n)> stationary_points;
  std::function<std::vector<std::vector<double>>(int n)> sample_points;

  bool accepts_dimension(int n) const { return dimension > 0 ? n == dimension : n >= min_dimension; }
  std::string dimension_text() const;  // "2" or "n >= 2"
};

const std::vector<CatalogueEntry>& catalogue();

// The entry called `name`, or nullptr.
const CatalogueEntry* find_catalogue_entry(const std::string& name);

// f(x) = 1/2 x'Ax for a symmetric n x n matrix A (row-major), as a catalogue entry named `name`.
CatalogueEntry quadratic_form(const std::string& name, const std::vector<double>& A, int n);

// The same from a CSV/.npy file of n rows of n numbers; throws InputError (file, line, column) when the
// matrix is not square or not symmetric (|A_ij - A_ji| > 1e-12 max|A|).
CatalogueEntry quadratic_form_from_file(const std::string& path);

}  // namespace hessa
