// libFuzzer target for the result store's open path: any byte string, written to a file, must open to a store whose
// done chunks verify, or fail with hessa::InputError; a crash, hang or any other exception is a bug. Seeds: small
// real stores in fuzz/corpus/store/.
#include <cstdint>
#include <string>

#include "fuzz_input.hpp"
#include "hessa/errors.hpp"
#include "hessa/result_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const hessa::fuzz::InputFile input(data, size, ".h5");
  const std::string& path = input.path();
  try {
    const auto store = hessa::ResultStore::open(path, false);
    const std::vector<std::uint8_t> done = store->done_mask();
    for (std::size_t c = 0; c < done.size(); ++c)
      if (done[c]) store->read_chunk_raw(c);
    (void)store->complete();
  } catch (const hessa::InputError&) {
    // A damaged or foreign file, reported as such: the wanted outcome.
  }
  return 0;
}
