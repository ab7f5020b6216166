// open_point_reader: opens the file (reporting the OS reason when it cannot) and picks the format by extension.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {

// Defined in csv_points.cpp and npy_points.cpp; each takes ownership of an open file.
namespace io_detail {
std::unique_ptr<PointReader> open_csv_points(const std::string& path,
                                             std::unique_ptr<std::FILE, int (*)(std::FILE*)> file);
std::unique_ptr<PointReader> open_npy_points(const std::string& path,
                                             std::unique_ptr<std::FILE, int (*)(std::FILE*)> file);
}  // namespace io_detail

const double* next_points(PointReader& reader, std::size_t max_points, std::vector<double>& buffer,
                          std::size_t* count) {
  if (const double* rows = reader.read_in_place(max_points, count)) return rows;
  *count = reader.read(max_points, buffer);
  return buffer.data();
}

std::unique_ptr<PointReader> open_point_reader(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  const bool csv = ext == ".csv" || ext == ".txt";
  if (!csv && ext != ".npy") {
    const std::string found = ext.empty() ? "no extension" : "extension '" + ext + "'";
    throw InputError(path, 0, 0, "unsupported point file " + found + " (expected .csv, .txt or .npy)");
  }
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0)
    throw InputError(path, 0, 0, std::string("cannot open point file: ") + std::strerror(errno));
  if (S_ISDIR(info.st_mode)) throw InputError(path, 0, 0, "cannot open point file: it is a directory");
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) throw InputError(path, 0, 0, std::string("cannot open point file: ") + std::strerror(errno));
  return csv ? io_detail::open_csv_points(path, std::move(file)) : io_detail::open_npy_points(path, std::move(file));
}

}  // namespace hessa
