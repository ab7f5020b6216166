// .npy point reader: a (B, n) or (B,) array of '<f8', '<f4', '<i8' or '<i4', read a chunk of points at a time
// and converted to double. Fortran-ordered files are read coordinate by coordinate and transposed.
#include <sys/stat.h>

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io/npy_format.hpp"

namespace hessa::io_detail {
namespace {

using FileHandle = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

enum class Element { F8, F4, I8, I4 };

template <typename T>
double load_as_double(const unsigned char* bytes) {
  T v;
  std::memcpy(&v, bytes, sizeof v);
  return double(v);  // int64 beyond 2^53 rounds to nearest
}

class NpyPointReader final : public PointReader {
 public:
  NpyPointReader(std::string path, FileHandle file) : path_(std::move(path)), file_(std::move(file)) {
    struct stat info {};
    if (::fstat(::fileno(file_.get()), &info) != 0) fail_os("cannot stat");
    const std::uint64_t file_size = std::uint64_t(info.st_size);

    std::string bytes(npy::kMaxPreambleSize, '\0');
    bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file_.get()));
    const npy::Preamble preamble = npy::parse_preamble(bytes, path_);
    if (file_size < preamble.size + preamble.dict_size)
      throw InputError(path_, 0, 0, "file ends inside the .npy header");
    std::string dict(preamble.dict_size, '\0');
    seek(preamble.size);
    if (std::fread(dict.data(), 1, dict.size(), file_.get()) != dict.size()) fail_os("cannot read the header");
    const npy::Header header = npy::parse_header(preamble, dict, path_);

    if (header.descr.kind != npy::PyValue::Kind::Str) throw_bad_descr("a structured dtype");
    const std::string& descr = header.descr.str;
    if (descr == "<f8")
      element_ = Element::F8;
    else if (descr == "<f4")
      element_ = Element::F4;
    else if (descr == "<i8")
      element_ = Element::I8;
    else if (descr == "<i4")
      element_ = Element::I4;
    else
      throw_bad_descr("'" + descr + "'");
    item_size_ = npy::descr_item_size(descr);

    if (header.shape.empty() || header.shape.size() > 2) {
      std::string shape;
      for (const std::uint64_t d : header.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
      throw InputError(path_, 0, 0,
                       "expected an array of shape (points, dimension) or (points,), found shape (" + shape + ")");
    }
    total_ = header.shape[0];
    const std::uint64_t n = header.shape.size() == 2 ? header.shape[1] : 1;
    if (n == 0 || n > std::uint64_t(INT_MAX))
      throw InputError(path_, 0, 0, "points have " + std::to_string(n) + " coordinates");
    dimension_ = int(n);
    if (total_ == 0) throw InputError(path_, 0, 0, "no points");
    fortran_ = header.fortran_order && dimension_ > 1;
    data_offset_ = header.data_offset;

    const std::uint64_t point_bytes = n * item_size_;
    const std::uint64_t available = file_size > data_offset_ ? file_size - data_offset_ : 0;
    if (total_ > UINT64_MAX / point_bytes || available < total_ * point_bytes) {
      if (fortran_)
        throw InputError(path_, 0, 0,
                         "file ends after " + std::to_string(available / item_size_) + " of " + std::to_string(total_) +
                             " x " + std::to_string(n) + " values");
      throw InputError(
          path_, 0, 0,
          "file ends after " + std::to_string(available / point_bytes) + " of " + std::to_string(total_) + " points");
    }
    seek(data_offset_);
  }

  int dimension() const override { return dimension_; }
  const std::vector<std::string>& column_names() const override { return names_; }
  std::optional<std::size_t> total_points() const override { return std::size_t(total_); }

  std::size_t read(std::size_t max_points, std::vector<double>& out) override {
    out.clear();
    const std::size_t n = std::size_t(dimension_);
    const std::size_t count = std::size_t(std::min<std::uint64_t>(max_points, total_ - next_));
    if (count == 0) return 0;
    raw_.resize(count * n * item_size_);
    if (!fortran_) {
      read_exact(raw_.data(), raw_.size());
    } else {  // column j of the (B, n) array is contiguous: read count values of each, then transpose
      for (std::size_t j = 0; j < n; ++j) {
        seek(data_offset_ + (std::uint64_t(j) * total_ + next_) * item_size_);
        read_exact(raw_.data() + j * count * item_size_, count * item_size_);
      }
    }
    out.resize(count * n);
    for (std::size_t p = 0; p < count; ++p) {
      for (std::size_t j = 0; j < n; ++j) {
        const std::size_t k = fortran_ ? j * count + p : p * n + j;
        const double v = convert(raw_.data() + k * item_size_);
        if (!std::isfinite(v)) fail_nonfinite(next_ + p + 1, j + 1, v);
        out[p * n + j] = v;
      }
    }
    next_ += count;
    return count;
  }

 private:
  double convert(const unsigned char* bytes) const {
    switch (element_) {
      case Element::F8: return load_as_double<double>(bytes);
      case Element::F4: return load_as_double<float>(bytes);
      case Element::I8: return load_as_double<std::int64_t>(bytes);
      case Element::I4: return load_as_double<std::int32_t>(bytes);
    }
    return 0.0;
  }

  [[noreturn]] void fail_nonfinite(std::uint64_t point, std::size_t coordinate, double v) const {
    const std::string where = "point " + std::to_string(point) + ", coordinate " + std::to_string(coordinate);
    const char* found = std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
    throw InputError(path_, int(std::min<std::uint64_t>(point, INT_MAX)), int(coordinate),
                     where + ": coordinates must be finite, found " + found);
  }
  [[noreturn]] void throw_bad_descr(const std::string& found) const {
    throw InputError(path_, 0, 0,
                     "unsupported dtype " + found + " (expected '<f8', '<f4', '<i8' or '<i4', little-endian)");
  }
  [[noreturn]] void fail_os(const char* what) const {
    throw InputError(path_, 0, 0, std::string(what) + ": " + std::strerror(errno));
  }

  void seek(std::uint64_t offset) {
    if (::fseeko(file_.get(), off_t(offset), SEEK_SET) != 0) fail_os("cannot seek");
  }
  void read_exact(unsigned char* dst, std::size_t size) {
    if (std::fread(dst, 1, size, file_.get()) == size) return;
    if (std::ferror(file_.get())) fail_os("cannot read");
    throw InputError(path_, 0, 0,
                     "file ended while reading points " + std::to_string(next_ + 1) + " onwards" +
                         " (was it truncated while hessa ran?)");
  }

  std::string path_;
  FileHandle file_;
  std::vector<std::string> names_;  // .npy carries no column names
  Element element_ = Element::F8;
  std::size_t item_size_ = 8;
  int dimension_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t next_ = 0;  // index of the next point to read
  std::uint64_t data_offset_ = 0;
  bool fortran_ = false;
  std::vector<unsigned char> raw_;
};

}  // namespace

std::unique_ptr<PointReader> open_npy_points(const std::string& path, FileHandle file) {
  return std::make_unique<NpyPointReader>(path, std::move(file));
}

}  // namespace hessa::io_detail
