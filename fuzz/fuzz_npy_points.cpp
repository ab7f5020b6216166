// libFuzzer target: the .npy point reader (header parsing, dtypes, byte order, truncation). Any input must end in
// points or one hessa::InputError; anything else (another exception, a crash, a sanitizer report, a hang) is a finding.
#include <cstdint>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hessa::fuzz::read_points_of(data, size, ".npy");
}
