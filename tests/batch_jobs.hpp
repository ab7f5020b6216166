// TOML job texts the batch-job tests share: a 2-D grid of one function into an HDF5 store, each test naming only
// what it changes (size, chunk, outputs, speed).
#pragma once

#include <string>

namespace hessa::test {

// About 800 sin/cos per evaluation: the function of jobs that must run long enough to be killed or stopped.
inline const std::string kSlowFunction =
    "expression = \"sum(i, 1, 400, sin(i*x)*cos(i*y))/400 + x^2 + y^2\"\nvars = [\"x\", \"y\"]";

struct GridJob {
  std::string output;                                                               // [output] path
  std::string function = "catalogue = \"himmelblau\"";                              // the [function] table's body
  std::string lower = "-5.0, -5.0", upper = "5.0, 5.0";                             // the box
  int nx = 20, ny = 15;                                                             // grid counts
  long long chunk = 40;                                                             // [output] chunk
  std::string analysis = "eigenvectors = true\ngradient = true\nhessian = true\n";  // every optional array
  std::string run = "backend = \"cpu\"\n";  // the [run] table's body ("" leaves it out)
};

inline std::string job_text(const GridJob& job) {
  std::string text = "[function]\n" + job.function + "\n[points]\nkind = \"grid\"\nlower = [" + job.lower +
                     "]\nupper = [" + job.upper + "]\ncounts = [" + std::to_string(job.nx) + ", " +
                     std::to_string(job.ny) + "]\n[analysis]\n" + job.analysis + "[output]\npath = \"" + job.output +
                     "\"\nchunk = " + std::to_string(job.chunk) + "\n";
  if (!job.run.empty()) text += "[run]\n" + job.run;
  return text;
}

}  // namespace hessa::test
