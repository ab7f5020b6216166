// hessa_shared_probe's one exported function: proves hessa's static libraries link into a shared library (PIC).
#include "analyze_point.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "hessa/analysis_options.hpp"
#include "hessa/backend.hpp"
#include "hessa/expression.hpp"

int hessa_probe_analyze(const char* expression, int dimension, const double* point, double* eigenvalues,
                        const char** point_class) {
  try {
    hessa::ExpressionOptions expression_options;
    expression_options.dimension = dimension;
    const hessa::CompiledFunction f = hessa::compile_expression(expression, expression_options);
    hessa::AnalysisOptions options;
    options.keep_eigenvalues = true;
    hessa::ChunkResult result;
    hessa::make_cpu_backend()->analyze(f, options, point, 1, result);
    std::copy(result.eigenvalues.begin(), result.eigenvalues.end(), eigenvalues);
    *point_class = hessa::class_name(result.points[0].point_class);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "hessa_probe_analyze: %s\n", e.what());
    return 1;
  }
}
