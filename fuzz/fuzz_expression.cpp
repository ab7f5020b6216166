// libFuzzer target for the expression compiler: any input must either compile or end in hessa::InputError, and a
// compiled program must evaluate without a crash. Any other exception, a crash or a sanitizer report is a finding.
// Input layout: byte 0 picks the dimension n = 1..8, the rest is the expression source.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/expression.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  hessa::ExpressionOptions options;
  options.dimension = 1 + data[0] % 8;
  options.source_name = "fuzz";
  const std::string source(reinterpret_cast<const char*>(data + 1), size - 1);
  hessa::CompiledFunction f;
  try {
    f = hessa::compile_expression(source, options);
  } catch (const hessa::InputError&) {
    return 0;  // rejected with a message: the expected outcome for most inputs
  }
  // A point with varied signs and magnitudes, so domain errors (log of a negative, 0/0) give NaN, not a crash.
  std::vector<double> point(std::size_t(options.dimension));
  for (std::size_t k = 0; k < point.size(); ++k) point[k] = (k % 2 == 0 ? 0.75 : -1.5) * double(k + 1);
  volatile double value = f(point.data());
  (void)value;
  return 0;
}
