// Reading hessa's HDF5 result stores in tests with the HDF5 C API directly, independently of hessa's own store
// code: every dataset as raw bytes (to compare runs byte for byte), doubles with their shape, string attributes.
#pragma once

#include <gtest/gtest.h>
#include <hdf5.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hessa/io.hpp"

namespace hessa::test {

// Every dataset of a result file as raw bytes in its stored type, plus the root attribute `complete`.
struct StoredFile {
  std::map<std::string, std::vector<unsigned char>> datasets;
  int complete = -1;
  std::vector<unsigned char> done() const { return datasets.at("done"); }
};

inline std::vector<std::string> per_point_datasets(bool with_matrices) {
  std::vector<std::string> names = {"points"};
  for (const std::string& f : hessa::analysis_field_names()) names.push_back(f);
  if (with_matrices) names.insert(names.end(), {"gradient", "hessian", "eigenvalues", "eigenvectors"});
  return names;
}

// Opens a file read-only without HDF5's file lock, so a test can watch a file another process is writing.
inline hid_t open_unlocked(const std::string& path) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  const hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_file_locking(fapl, false, true);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  return file;
}

// The datasets `names` and `done`. Empty when the file or one of them is unreadable.
inline std::optional<StoredFile> read_file(const std::string& path, const std::vector<std::string>& names) {
  const hid_t file = open_unlocked(path);
  if (file < 0) return std::nullopt;
  StoredFile out;
  bool ok = true;
  std::vector<std::string> all = names;
  all.push_back("done");
  for (const std::string& name : all) {
    const hid_t ds = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
    if (ds < 0) {
      ok = false;
      break;
    }
    const hid_t type = H5Dget_type(ds);
    const hid_t space = H5Dget_space(ds);
    std::vector<unsigned char> bytes(std::size_t(H5Sget_simple_extent_npoints(space)) * H5Tget_size(type));
    ok = ok && H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) >= 0;
    out.datasets[name] = std::move(bytes);
    H5Sclose(space);
    H5Tclose(type);
    H5Dclose(ds);
  }
  const hid_t attr = H5Aopen(file, "complete", H5P_DEFAULT);
  std::uint8_t complete = 0;
  if (attr >= 0 && H5Aread(attr, H5T_NATIVE_UINT8, &complete) >= 0) out.complete = complete;
  if (attr >= 0) H5Aclose(attr);
  H5Fclose(file);
  if (!ok) return std::nullopt;
  return out;
}

inline std::size_t count_done(const StoredFile& f) {
  std::size_t n = 0;
  for (unsigned char d : f.done()) n += d != 0;
  return n;
}

inline void expect_same_per_point_data(const StoredFile& a, const StoredFile& b,
                                       const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    ASSERT_TRUE(a.datasets.count(name) && b.datasets.count(name)) << name;
    EXPECT_EQ(a.datasets.at(name).size(), b.datasets.at(name).size()) << name;
    EXPECT_TRUE(a.datasets.at(name) == b.datasets.at(name)) << "/" << name << " differs";
  }
}

// A dataset converted to doubles, row-major, with its shape. Empty optional when it cannot be read.
struct DoubleArray {
  std::vector<hsize_t> shape;
  std::vector<double> values;
};

inline std::optional<DoubleArray> read_doubles(const std::string& path, const std::string& name) {
  const hid_t file = open_unlocked(path);
  if (file < 0) return std::nullopt;
  std::optional<DoubleArray> out;
  const hid_t ds = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  if (ds >= 0) {
    const hid_t space = H5Dget_space(ds);
    DoubleArray a;
    a.shape.resize(std::size_t(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, a.shape.data(), nullptr);
    a.values.resize(std::size_t(H5Sget_simple_extent_npoints(space)));
    if (H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()) >= 0) out = std::move(a);
    H5Sclose(space);
    H5Dclose(ds);
  }
  H5Fclose(file);
  return out;
}

// A root attribute of (variable- or fixed-length) strings, scalar or 1-D. Empty optional when unreadable.
inline std::optional<std::vector<std::string>> read_string_attribute(const std::string& path, const std::string& name) {
  const hid_t file = open_unlocked(path);
  if (file < 0) return std::nullopt;
  std::optional<std::vector<std::string>> out;
  const hid_t attr = H5Aopen(file, name.c_str(), H5P_DEFAULT);
  if (attr >= 0) {
    const hid_t type = H5Aget_type(attr);
    const hid_t space = H5Aget_space(attr);
    const auto count = std::size_t(H5Sget_simple_extent_npoints(space));
    if (H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) > 0) {
      const hid_t memory = H5Tcopy(H5T_C_S1);
      H5Tset_size(memory, H5T_VARIABLE);
      H5Tset_cset(memory, H5Tget_cset(type));
      std::vector<char*> ptrs(count, nullptr);
      if (H5Aread(attr, memory, ptrs.data()) >= 0) {
        out.emplace();
        for (char* p : ptrs) {
          out->push_back(p ? p : "");
          if (p) H5free_memory(p);
        }
      }
      H5Tclose(memory);
    } else if (H5Tget_class(type) == H5T_STRING) {
      const std::size_t size = H5Tget_size(type);
      std::vector<char> bytes(count * size);
      if (H5Aread(attr, type, bytes.data()) >= 0) {
        out.emplace();
        for (std::size_t k = 0; k < count; ++k) {
          const std::string s(bytes.data() + k * size, size);
          out->push_back(s.substr(0, s.find('\0')));
        }
      }
    }
    H5Sclose(space);
    H5Tclose(type);
    H5Aclose(attr);
  }
  H5Fclose(file);
  return out;
}

}  // namespace hessa::test
