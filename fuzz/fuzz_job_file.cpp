// libFuzzer target: the TOML job reader of `hessa run` (syntax, schema, ranges, the points and model sections).
// Any input must give a job or one hessa::InputError; anything else is a finding.
#include <cstdint>

#include "fuzz_input.hpp"
#include "hessa/errors.hpp"
#include "jobs/job_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hessa::fuzz::InputFile input(data, size, ".toml");
  try {
    const hessa::jobs::JobSpec job = hessa::jobs::read_job(input.path());
    (void)job;
  } catch (const hessa::InputError&) {
  }
  return 0;
}
