// libFuzzer target: the CSV point reader. Any input must end in points or one hessa::InputError;
// anything else (another exception, a crash, a sanitizer report, a hang) is a finding.
#include <cstdint>

#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return hessa::fuzz::read_points_of(data, size, ".csv");
}
