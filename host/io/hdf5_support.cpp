// HDF5 helpers of the result store: error messages a user can act on, and fixed-length string attributes.
#include "io/hdf5_support.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "hessa/errors.hpp"

namespace hessa::hdf5 {
namespace {

herr_t keep_innermost(unsigned n, const H5E_error2_t* error, void* data) {
  if (n == 0 && error->desc != nullptr) *static_cast<std::string*>(data) = error->desc;
  return 0;
}

// errno values a user's machine causes and the user can fix, with the advice that goes with them.
const char* advice_for(int e) {
  switch (e) {
    case ENOSPC:
    case EDQUOT: return "free space, then continue with --resume";
    case EFBIG: return "raise the file size limit (ulimit -f), then continue with --resume";
    case EROFS:
    case EACCES:
    case EPERM: return "write to a writable location, or make this one writable";
    case EIO: return "check the disk";
    default: return nullptr;
  }
}

}  // namespace

void silence_errors() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

std::string innermost_error() {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, &text);
  return text;
}

int reported_errno(int fallback) {
  std::string text;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned, const H5E_error2_t* error, void* data) -> herr_t {
        auto& found = *static_cast<std::string*>(data);
        if (found.empty() && error->desc != nullptr && std::strstr(error->desc, "errno = ") != nullptr)
          found = error->desc;
        return 0;
      },
      &text);
  const std::size_t at = text.find("errno = ");
  if (at == std::string::npos) return fallback;
  return std::atoi(text.c_str() + at + 8);
}

void fail_writing(const std::string& path, const std::string& what, int saved_errno) {
  const int e = reported_errno(saved_errno);
  if (const char* advice = advice_for(e)) {
    throw InputError(path, 0, 0, what + " failed: " + std::strerror(e) + " (" + advice + ")");
  }
  const std::string inner = innermost_error();
  throw std::runtime_error("HDF5: " + path + ": " + what + " failed" + (inner.empty() ? "" : " (" + inner + ")"));
}

void fail_reading(const std::string& path, const std::string& what) {
  // A read the system refused (EIO, a vanished network mount) is not damage to the file.
  if (const int e = reported_errno(0); e != 0) {
    throw InputError(path, 0, 0, what + " failed: " + std::strerror(e));
  }
  const std::string inner = innermost_error();
  const bool checksum = inner.find("checksum") != std::string::npos;
  throw InputError(path, 0, 0,
                   std::string(checksum ? "damaged: metadata checksum failed: " : "damaged or not a hessa store: ") +
                       what + (inner.empty() ? "" : " (HDF5: " + inner + ")"));
}

namespace {

Handle fixed_string_type(const std::string& path, std::size_t size) {
  Handle t(write_call(path, "H5Tcopy", [] { return H5Tcopy(H5T_C_S1); }), H5Tclose);
  write_call(path, "H5Tset_size", [&] { return H5Tset_size(t.get(), std::max<std::size_t>(size, 1)); });
  write_call(path, "H5Tset_strpad", [&] { return H5Tset_strpad(t.get(), H5T_STR_NULLPAD); });
  write_call(path, "H5Tset_cset", [&] { return H5Tset_cset(t.get(), H5T_CSET_UTF8); });
  return t;
}

void write_strings(const std::string& path, hid_t object, const char* name, const std::vector<std::string>& values,
                   bool scalar) {
  std::size_t size = 1;
  for (const std::string& v : values) size = std::max(size, v.size());
  const Handle type = fixed_string_type(path, size);
  std::vector<char> bytes(values.size() * size, '\0');
  for (std::size_t k = 0; k < values.size(); ++k)
    std::memcpy(bytes.data() + k * size, values[k].data(), values[k].size());
  const hsize_t dims[1] = {hsize_t(values.size())};
  const Handle space(write_call(path, "H5Screate",
                                [&] { return scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, nullptr); }),
                     H5Sclose);
  const Handle attr(
      write_call(path, std::string("create attribute ") + name,
                 [&] { return H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT); }),
      H5Aclose);
  // An empty array has nothing to write (and a null buffer would be refused).
  if (!bytes.empty()) {
    write_call(path, std::string("write attribute ") + name,
               [&] { return H5Awrite(attr.get(), type.get(), bytes.data()); });
  }
}

}  // namespace

void write_string_attribute(const std::string& path, hid_t object, const char* name, const std::string& value) {
  write_strings(path, object, name, {value}, true);
}

void write_string_array_attribute(const std::string& path, hid_t object, const char* name,
                                  const std::vector<std::string>& values) {
  write_strings(path, object, name, values, false);
}

std::vector<std::string> read_string_attribute(const std::string& path, hid_t object, const char* name,
                                               std::size_t max_count) {
  const std::string what = std::string("attribute '") + name + "'";
  const Handle attr(read_call(path, "open " + what, [&] { return H5Aopen(object, name, H5P_DEFAULT); }), H5Aclose);
  const Handle type(read_call(path, "type of " + what, [&] { return H5Aget_type(attr.get()); }), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) throw InputError(path, 0, 0, "damaged: " + what + " is not a string");
  const htri_t variable = read_call(path, "type of " + what, [&] { return H5Tis_variable_str(type.get()); });
  if (variable > 0) {
    throw InputError(path, 0, 0,
                     what +
                         " is a variable-length string: the file was written by a hessa before store format 2 "
                         "(no checksums), which this hessa does not read; rerun the job into a new output");
  }
  const std::size_t size = H5Tget_size(type.get());
  const Handle space(read_call(path, "shape of " + what, [&] { return H5Aget_space(attr.get()); }), H5Sclose);
  const hssize_t count = read_call(path, "shape of " + what, [&] { return H5Sget_simple_extent_npoints(space.get()); });
  // An attribute lives in its object header (at most 64 KiB a message) unless dense; 16 MiB bounds both.
  if (size == 0 || std::size_t(count) > max_count ||
      size > (std::size_t(1) << 24) / std::max<std::size_t>(1, std::size_t(count))) {
    throw InputError(path, 0, 0, "damaged: " + what + " has an impossible size");
  }
  std::vector<char> bytes(std::size_t(count) * size);
  if (!bytes.empty()) read_call(path, "read " + what, [&] { return H5Aread(attr.get(), type.get(), bytes.data()); });
  std::vector<std::string> values;
  for (std::size_t k = 0; k < std::size_t(count); ++k) {
    const char* begin = bytes.data() + k * size;
    values.emplace_back(begin, std::find(begin, begin + size, '\0'));
  }
  return values;
}

bool has_attribute(const std::string& path, hid_t object, const char* name) {
  return read_call(path, std::string("look up attribute '") + name + "'", [&] { return H5Aexists(object, name); }) > 0;
}

bool has_link(const std::string& path, hid_t object, const char* name) {
  return read_call(path, std::string("look up /") + name, [&] { return H5Lexists(object, name, H5P_DEFAULT); }) > 0;
}

std::int64_t read_integer_attribute(const std::string& path, hid_t object, const char* name) {
  const std::string what = std::string("attribute '") + name + "'";
  const Handle attr(read_call(path, "open " + what, [&] { return H5Aopen(object, name, H5P_DEFAULT); }), H5Aclose);
  const Handle type(read_call(path, "type of " + what, [&] { return H5Aget_type(attr.get()); }), H5Tclose);
  const Handle space(read_call(path, "shape of " + what, [&] { return H5Aget_space(attr.get()); }), H5Sclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER || H5Tget_size(type.get()) > 8 ||
      H5Sget_simple_extent_npoints(space.get()) != 1) {
    throw InputError(path, 0, 0, "damaged: " + what + " is not one integer");
  }
  std::int64_t value = 0;
  read_call(path, "read " + what, [&] { return H5Aread(attr.get(), H5T_NATIVE_INT64, &value); });
  return value;
}

Handle select_rows(const std::string& path, hid_t dataset, std::size_t first, std::size_t count) {
  Handle space(read_call(path, "H5Dget_space", [&] { return H5Dget_space(dataset); }), H5Sclose);
  const int rank =
      read_call(path, "H5Sget_simple_extent_ndims", [&] { return H5Sget_simple_extent_ndims(space.get()); });
  const auto r = static_cast<std::size_t>(rank);
  std::vector<hsize_t> dims(r), start(r, 0);
  read_call(path, "H5Sget_simple_extent_dims",
            [&] { return H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr); });
  start[0] = hsize_t(first);
  dims[0] = hsize_t(count);
  read_call(path, "H5Sselect_hyperslab", [&] {
    return H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, dims.data(), nullptr);
  });
  return space;
}

Handle memory_space(const std::string& path, std::size_t values) {
  const hsize_t dims[1] = {hsize_t(values)};
  return Handle(read_call(path, "H5Screate_simple", [&] { return H5Screate_simple(1, dims, nullptr); }), H5Sclose);
}

}  // namespace hessa::hdf5
