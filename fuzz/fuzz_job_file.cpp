// libFuzzer target: the TOML job reader of `hessa run` (syntax, schema, ranges, the points and model sections).
// Any input must give a job or one hessa::InputError; anything else is a finding.
#include <cstdint>

#include "cli/job_file.hpp"
#include "fuzz_input.hpp"
#include "hessa/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hessa::fuzz::InputFile input(data, size, ".toml");
  try {
    const hessa::cli::JobSpec job = hessa::cli::read_job(input.path());
    (void)job;
  } catch (const hessa::InputError&) {
  }
  return 0;
}
