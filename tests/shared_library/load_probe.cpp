// Loads hessa_shared_probe with dlopen (as Python loads an extension module), calls hessa_probe_analyze on the
// saddle of x0^2 - x1^2 and checks the answer; exits 1 on a failed load or a wrong answer.
#include <dlfcn.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "analyze_point.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s LIBRARY\n", argv[0]);
    return 2;
  }
  // RTLD_NOW: every undefined symbol of the library must resolve at load time.
  void* library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    std::fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  const auto analyze = reinterpret_cast<hessa_probe_analyze_fn>(dlsym(library, "hessa_probe_analyze"));
  if (analyze == nullptr) {
    std::fprintf(stderr, "dlsym: %s\n", dlerror());
    return 1;
  }
  const double point[2] = {0.0, 0.0};
  double eigenvalues[2] = {0.0, 0.0};
  const char* point_class = "";
  if (analyze("x0^2 - x1^2", 2, point, eigenvalues, &point_class) != 0) return 1;
  std::printf("x0^2 - x1^2 at (0, 0): %s, eigenvalues %.8g %.8g\n", point_class, eigenvalues[0], eigenvalues[1]);
  // H = diag(2, -2): a saddle; the FD Hessian of a quadratic is exact up to rounding.
  const bool ok = std::strcmp(point_class, "saddle") == 0 && std::abs(eigenvalues[0] + 2) < 1e-6 &&
                  std::abs(eigenvalues[1] - 2) < 1e-6;
  dlclose(library);
  return ok ? 0 : 1;
}
