// libFuzzer target for the result store's open path: any byte string, written to a file, must open to a store whose
// done chunks verify, or fail with hessa::InputError; a crash, hang or any other exception is a bug. Seeds: small
// real stores in fuzz/corpus/store/. Build against hessa_core and libhdf5 with -fsanitize=fuzzer,address.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "hessa/errors.hpp"
#include "hessa/result_store.hpp"

namespace {

// One file per process, rewritten for every input (mkstemp once: libFuzzer runs millions of inputs).
const std::string& scratch_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    std::string name = std::string(dir != nullptr ? dir : "/tmp") + "/hessa_fuzz_store_XXXXXX";
    const int fd = mkstemp(name.data());
    if (fd < 0) std::abort();
    close(fd);
    return name;
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_path();
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) std::abort();
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
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
