// RAII handles, fixed-length string attributes and error reporting over the HDF5 C API, shared by the result
// store (hdf5_store.cpp) and its integrity checks (store_integrity.cpp). Private to host/io.
#pragma once

#include <hdf5.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace hessa::hdf5 {

// Owns an HDF5 identifier; closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = std::exchange(o.id_, H5I_INVALID_HID);
      closer_ = o.closer_;
    }
    return *this;
  }
  ~Handle() { reset(); }
  hid_t get() const { return id_; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

void silence_errors();

// The innermost message of HDF5's error stack (the failing system call or check), "" when empty.
std::string innermost_error();
// The errno a failed HDF5 call reported: the sec2 driver writes "errno = N" into its message, which survives the
// library's own later system calls; `fallback` (errno read right after the call) otherwise.
int reported_errno(int fallback);

// Failure of a call made while creating or writing `path`. Causes on the user's machine (disk full, quota, file
// size limit, read-only file system, permissions, I/O error) are an InputError naming the file and the system's
// text (exit 2); anything else is std::runtime_error (exit 1) with HDF5's innermost message.
[[noreturn]] void fail_writing(const std::string& path, const std::string& what, int saved_errno);
// Failure of a call that reads `path` while opening or verifying it: the file is damaged (InputError).
[[noreturn]] void fail_reading(const std::string& path, const std::string& what);

// Runs an H5* call whose negative result is a failure, reporting it with fail_writing.
template <typename Call>
auto write_call(const std::string& path, const std::string& what, Call&& call) {
  errno = 0;
  const auto result = call();
  const int saved = errno;
  if (result < 0) fail_writing(path, what, saved);
  return result;
}
// The same for the open and read path: a failure means a damaged file.
template <typename Call>
auto read_call(const std::string& path, const std::string& what, Call&& call) {
  const auto result = call();
  if (result < 0) fail_reading(path, what);
  return result;
}

// Fixed-length UTF-8 string attributes (scalar, or 1-D arrays padded to the longest): their bytes live in the
// object header, which format 2 checksums, not in the unchecksummed global heap of variable-length strings.
void write_string_attribute(const std::string& path, hid_t object, const char* name, const std::string& value);
void write_string_array_attribute(const std::string& path, hid_t object, const char* name,
                                  const std::vector<std::string>& values);
template <typename T>
void write_scalar_attribute(const std::string& path, hid_t object, const char* name, hid_t file_type, hid_t memory_type,
                            T value) {
  const Handle space(write_call(path, "H5Screate", [&] { return H5Screate(H5S_SCALAR); }), H5Sclose);
  const Handle attr(
      write_call(path, std::string("create attribute ") + name,
                 [&] { return H5Acreate2(object, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT); }),
      H5Aclose);
  write_call(path, std::string("write attribute ") + name, [&] { return H5Awrite(attr.get(), memory_type, &value); });
}

// Reading refuses what hessa never writes (variable-length strings, more than `max_count` strings), so a damaged
// or foreign file cannot steer an allocation or the global-heap reader.
std::vector<std::string> read_string_attribute(const std::string& path, hid_t object, const char* name,
                                               std::size_t max_count);
bool has_attribute(const std::string& path, hid_t object, const char* name);
bool has_link(const std::string& path, hid_t object, const char* name);
// A scalar integer attribute of any stored integer type, converted to int64 (an out-of-range value fails).
std::int64_t read_integer_attribute(const std::string& path, hid_t object, const char* name);

// Rows [first, first + count) of a dataset whose first axis is the point (or chunk) axis, and a 1-D memory space
// of `values` elements to read them into; failures are reported as reading `path`.
Handle select_rows(const std::string& path, hid_t dataset, std::size_t first, std::size_t count);
Handle memory_space(const std::string& path, std::size_t values);

}  // namespace hessa::hdf5
