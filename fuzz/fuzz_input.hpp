// Shared by the fuzz targets whose code under test reads a file: the fuzzer's bytes written to a private
// temporary file (with the extension that picks the reader), removed when the input is done.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa::fuzz {

class InputFile {
 public:
  InputFile(const std::uint8_t* data, std::size_t size, const std::string& extension) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/hessa-fuzz-" + std::to_string(::getpid()) +
            extension;
    std::FILE* f = std::fopen(path_.c_str(), "wb");
    if (f == nullptr) std::abort();  // the harness's own failure, not a finding in hessa
    if (size > 0 && std::fwrite(data, 1, size, f) != size) std::abort();
    std::fclose(f);
  }
  ~InputFile() { std::remove(path_.c_str()); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The point readers' target: the bytes as a file of `extension` (.csv or .npy) read in small chunks, so the
// reader's state crosses chunk boundaries as in a real run. Points or one InputError; anything else is a finding.
inline int read_points_of(const std::uint8_t* data, std::size_t size, const std::string& extension) {
  const InputFile input(data, size, extension);
  try {
    auto reader = open_point_reader(input.path());
    std::vector<double> points;
    while (reader->read(3, points) > 0) {
      if (points.size() % std::size_t(reader->dimension()) != 0) __builtin_trap();
    }
  } catch (const InputError&) {
  }
  return 0;
}

}  // namespace hessa::fuzz
