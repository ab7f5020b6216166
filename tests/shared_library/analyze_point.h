// The C interface of hessa_shared_probe, a shared library linking hessa::hessa (tests/shared_library/).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

// Analyzes f (hessa's expression language, variables x0..x{n-1}) at one point with the CPU backend: writes the n
// ascending eigenvalues of its Hessian and points *point_class at the class name ("minimum", "saddle", ...).
// Returns 0, or 1 with the error on stderr (no exception crosses this boundary).
typedef int (*hessa_probe_analyze_fn)(const char* expression, int dimension, const double* point, double* eigenvalues,
                                      const char** point_class);
__attribute__((visibility("default"))) int hessa_probe_analyze(const char* expression, int dimension,
                                                               const double* point, double* eigenvalues,
                                                               const char** point_class);

#ifdef __cplusplus
}
#endif
