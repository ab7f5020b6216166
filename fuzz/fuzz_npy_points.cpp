// libFuzzer target: the .npy point reader (header parsing, dtypes, byte order, truncation). Any input must end in points or one hessa::InputError; anything else
// (another exception, a crash, a sanitizer report, a hang) is a finding.
#include <cstdint>
#include <vector>

#include "fuzz_input.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hessa::fuzz::InputFile input(data, size, ".npy");
  try {
    auto reader = hessa::open_point_reader(input.path());
    std::vector<double> points;
    // Small chunks, so the reader's state crosses chunk boundaries as in a real run.
    while (reader->read(3, points) > 0) {
      if (points.size() % std::size_t(reader->dimension()) != 0) __builtin_trap();
    }
  } catch (const hessa::InputError&) {
  }
  return 0;
}
