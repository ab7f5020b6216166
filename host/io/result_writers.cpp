// Result writers (CSV, JSON lines, structured .npy, .npz): one column model shared by all formats, written
// chunk by chunk to hidden temporary files beside the target and renamed into place by finish().
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "io/npy_format.hpp"
#include "io/output_file.hpp"

namespace hessa {
namespace {

// --- the column model -------------------------------------------------------------------------------------

// How a value is stored: doubles, the Morse index (-1 unknown), the class and status names, and uphill
// (1 true, 0 false, -1 no step taken). In .npy/.npz uphill is '<i1' so "unknown" survives as -1.
enum class Kind : std::uint8_t { Real, MorseIndex, Class, Uphill, Status };
enum class Source : std::uint8_t { Coordinate, Field, Gradient, Hessian, Eigenvalue, Eigenvector, Extra };

struct FieldSpec {
  const char* name;
  Kind kind;
  double PointAnalysis::*member;  // Real fields only
};

constexpr FieldSpec kFields[] = {
    {"f", Kind::Real, &PointAnalysis::f},
    {"grad_norm", Kind::Real, &PointAnalysis::grad_norm},
    {"lambda_min", Kind::Real, &PointAnalysis::lambda_min},
    {"lambda_max", Kind::Real, &PointAnalysis::lambda_max},
    {"class", Kind::Class, nullptr},
    {"morse_index", Kind::MorseIndex, nullptr},
    {"lr_max", Kind::Real, &PointAnalysis::lr_max},
    {"gHg", Kind::Real, &PointAnalysis::gHg},
    {"step_opt", Kind::Real, &PointAnalysis::step_opt},
    {"step", Kind::Real, &PointAnalysis::step},
    {"taylor_pred", Kind::Real, &PointAnalysis::taylor_pred},
    {"f_step", Kind::Real, &PointAnalysis::f_step},
    {"uphill", Kind::Uphill, nullptr},
    {"status", Kind::Status, nullptr},
    {"confidence", Kind::Real, &PointAnalysis::confidence},
    {"hess_err", Kind::Real, &PointAnalysis::hess_err},
    {"grad_err", Kind::Real, &PointAnalysis::grad_err},
};

// '<U' widths: the longest class_name ("noncritical") and status_name ("eig_not_converged").
constexpr std::size_t kClassChars = 11;
constexpr std::size_t kStatusChars = 17;

struct Column {
  std::string name;
  Source source;
  Kind kind;
  int i;  // coordinate / field index / g, lambda index / H row / eigenvector k
  int j;  // H column / eigenvector component r
};

std::vector<Column> make_columns(const OutputLayout& layout) {
  const int n = layout.n;
  std::vector<Column> columns;
  for (int i = 0; i < n; ++i) {
    const std::string name =
        layout.coordinate_names.empty() ? "x_" + std::to_string(i) : layout.coordinate_names[std::size_t(i)];
    columns.push_back({name, Source::Coordinate, Kind::Real, i, 0});
  }
  for (int f = 0; f < int(std::size(kFields)); ++f)
    columns.push_back({kFields[f].name, Source::Field, kFields[f].kind, f, 0});
  const auto s = [](int v) { return std::to_string(v); };
  if (layout.gradient)
    for (int i = 0; i < n; ++i) columns.push_back({"g_" + s(i), Source::Gradient, Kind::Real, i, 0});
  if (layout.hessian)
    for (int r = 0; r < n; ++r)
      for (int c = 0; c < n; ++c) columns.push_back({"H_" + s(r) + "_" + s(c), Source::Hessian, Kind::Real, r, c});
  if (layout.eigenvalues)
    for (int k = 0; k < n; ++k) columns.push_back({"lambda_" + s(k), Source::Eigenvalue, Kind::Real, k, 0});
  if (layout.eigenvectors)
    for (int k = 0; k < n; ++k)
      for (int r = 0; r < n; ++r) columns.push_back({"v_" + s(k) + "_" + s(r), Source::Eigenvector, Kind::Real, k, r});
  for (int e = 0; e < int(layout.extra_columns.size()); ++e)
    columns.push_back({layout.extra_columns[std::size_t(e)], Source::Extra, Kind::Real, e, 0});
  return columns;
}

// The value of a Real column for point p of the chunk. Matrices are column-major: H(r,c) at c*n + r, and
// component r of eigenvector k at k*n + r.
double real_value(const Column& col, const double* points, const ChunkResult& res, std::size_t p) {
  const std::size_t n = std::size_t(res.n);
  const auto i = std::size_t(col.i);
  const auto j = std::size_t(col.j);
  switch (col.source) {
    case Source::Coordinate: return points[p * n + i];
    case Source::Field: return res.points[p].*kFields[i].member;
    case Source::Gradient: return res.gradient[p * n + i];
    case Source::Hessian: return res.hessian[p * n * n + j * n + i];
    case Source::Eigenvalue: return res.eigenvalues[p * n + i];
    case Source::Eigenvector: return res.eigenvectors[p * n * n + i * n + j];
    case Source::Extra: return res.extra_columns[i][p];
  }
  return 0.0;
}

const char* text_value(Kind kind, const PointAnalysis& a) {
  return kind == Kind::Class ? class_name(a.point_class) : status_name(a.status);
}

using io::append_csv_name;
using io::append_double;
using io::os_error;
using io::sync_directory_of;
using io::TempFile;

// --- the shared writer skeleton ----------------------------------------------------------------------------

// Text writers pass rows on every few MiB: their buffer stays small whatever the chunk (a text row of an n = 256
// Hessian is ~1.6 MB), so the memory budget need not count it.
void flush_if_large(TempFile& file, std::string& text) {
  if (text.size() < (std::size_t(4) << 20)) return;
  file.write(text.data(), text.size());
  text.clear();
}

class WriterBase : public ResultWriter {
 protected:
  WriterBase(std::string path, const OutputLayout& layout)
      : path_(std::move(path)), layout_(layout), columns_(make_columns(layout)) {
    if (layout.n <= 0) throw std::invalid_argument("OutputLayout.n must be positive");
    if (!layout.coordinate_names.empty() && layout.coordinate_names.size() != std::size_t(layout.n))
      throw std::invalid_argument("OutputLayout.coordinate_names must hold n names (or none)");
    std::set<std::string> seen;
    for (const Column& c : columns_) {
      if (c.name.empty()) throw InputError(path_, 0, 0, "a coordinate has an empty name; output columns need names");
      if (!seen.insert(c.name).second)
        throw InputError(path_, 0, 0,
                         "output column '" + c.name + "' appears twice: rename the coordinate that clashes with it");
    }
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec))
      throw InputError(path_, 0, 0, "cannot write the results: it is a directory");
  }

  void check_chunk(const ChunkResult& r) const {
    if (finished_) throw std::logic_error("ResultWriter::write after finish");
    const std::size_t vec = r.count * std::size_t(layout_.n);
    const auto sized = [&](bool wanted, const std::vector<double>& v, std::size_t size) {
      return !wanted || v.size() >= size;
    };
    if (r.n != layout_.n || r.points.size() < r.count || !sized(layout_.gradient, r.gradient, vec) ||
        !sized(layout_.hessian, r.hessian, vec * std::size_t(r.n)) || !sized(layout_.eigenvalues, r.eigenvalues, vec) ||
        !sized(layout_.eigenvectors, r.eigenvectors, vec * std::size_t(r.n)) ||
        r.extra_columns.size() != layout_.extra_columns.size() ||
        std::any_of(r.extra_columns.begin(), r.extra_columns.end(), [&](const auto& v) { return v.size() < r.count; }))
      throw std::invalid_argument("ChunkResult does not match the writer's OutputLayout");
  }

  // Syncs `data`, writes "<path>.meta.json" beside it, then renames both into place: the metadata first, so
  // a result file never appears without it.
  void finish_files(TempFile& data, const std::string& metadata_json) {
    if (finished_) throw std::logic_error("ResultWriter::finish called twice");
    finished_ = true;
    TempFile meta(path_ + ".meta.json", path_);
    meta.write(metadata_json.data(), metadata_json.size());
    if (metadata_json.empty() || metadata_json.back() != '\n') meta.write("\n", 1);
    meta.sync();
    data.sync();
    meta.commit();
    data.commit();
    sync_directory_of(path_);
  }

  std::string path_;
  OutputLayout layout_;
  std::vector<Column> columns_;
  bool finished_ = false;
};

// --- CSV ---------------------------------------------------------------------------------------------------

class CsvWriter final : public WriterBase {
 public:
  CsvWriter(const std::string& path, const OutputLayout& layout) : WriterBase(path, layout), file_(path, path) {
    std::string header;
    for (const Column& c : columns_) {
      if (!header.empty()) header += ',';
      append_csv_name(header, c.name);
    }
    header += '\n';
    file_.write(header.data(), header.size());
  }

  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    std::string text;
    for (std::size_t p = 0; p < r.count; ++p) {
      const PointAnalysis& a = r.points[p];
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        if (c > 0) text += ',';
        const Column& col = columns_[c];
        switch (col.kind) {
          case Kind::Real: {
            const double v = real_value(col, points, r, p);
            if (!std::isnan(v)) append_double(text, v);
            break;
          }
          case Kind::MorseIndex:
            if (a.morse_index >= 0) text += std::to_string(a.morse_index);
            break;
          case Kind::Uphill:
            if (a.uphill >= 0) text += a.uphill ? "true" : "false";
            break;
          case Kind::Class:
          case Kind::Status: text += text_value(col.kind, a); break;
        }
      }
      text += '\n';
      flush_if_large(file_, text);
    }
    file_.write(text.data(), text.size());
  }

  void finish(const std::string& metadata_json) override { finish_files(file_, metadata_json); }

 private:
  TempFile file_;
};

// --- JSON lines --------------------------------------------------------------------------------------------

// NaN (and ±Inf, which JSON cannot hold) are null; an unknown Morse index or uphill is null. Rows are assembled
// from pre-quoted keys (nlohmann's ordered_json looks keys up linearly: quadratic in the column count) and
// values serialized by nlohmann (shortest round-trip doubles, string escaping).
class JsonlWriter final : public WriterBase {
 public:
  JsonlWriter(const std::string& path, const OutputLayout& layout) : WriterBase(path, layout), file_(path, path) {
    for (const Column& c : columns_) keys_.push_back(nlohmann::json(c.name).dump(-1, ' ', false, kReplace) + ':');
  }

  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    std::string text;
    for (std::size_t p = 0; p < r.count; ++p) {
      const PointAnalysis& a = r.points[p];
      text += '{';
      for (std::size_t c = 0; c < columns_.size(); ++c) {
        if (c > 0) text += ',';
        text += keys_[c];
        const Column& col = columns_[c];
        switch (col.kind) {
          case Kind::Real: {
            const double v = real_value(col, points, r, p);
            text += std::isfinite(v) ? nlohmann::json(v).dump() : "null";
            break;
          }
          case Kind::MorseIndex: text += a.morse_index >= 0 ? std::to_string(a.morse_index) : "null"; break;
          case Kind::Uphill: text += a.uphill < 0 ? "null" : a.uphill ? "true" : "false"; break;
          case Kind::Class:
          case Kind::Status: text += nlohmann::json(text_value(col.kind, a)).dump(); break;
        }
      }
      text += "}\n";
      flush_if_large(file_, text);
    }
    file_.write(text.data(), text.size());
  }

  void finish(const std::string& metadata_json) override { finish_files(file_, metadata_json); }

 private:
  static constexpr auto kReplace = nlohmann::json::error_handler_t::replace;  // invalid UTF-8 in a name -> U+FFFD
  TempFile file_;
  std::vector<std::string> keys_;  // "\"name\":"
};

// --- .npy (one structured array) and .npz (one array per field) ----------------------------------------------

const char* npy_descr(Kind kind) {
  switch (kind) {
    case Kind::Real: return "<f8";
    case Kind::MorseIndex: return "<i4";
    case Kind::Uphill: return "<i1";
    case Kind::Class: return "<U11";
    case Kind::Status: return "<U17";
  }
  return "";
}

// Encodes one value of `col` as its npy descr says; returns the bytes written.
std::size_t encode(const Column& col, const double* points, const ChunkResult& r, std::size_t p, unsigned char* dst) {
  const PointAnalysis& a = r.points[p];
  switch (col.kind) {
    case Kind::Real: {
      const double v = real_value(col, points, r, p);
      std::memcpy(dst, &v, 8);
      return 8;
    }
    case Kind::MorseIndex: std::memcpy(dst, &a.morse_index, 4); return 4;
    case Kind::Uphill: std::memcpy(dst, &a.uphill, 1); return 1;
    case Kind::Class:
    case Kind::Status: {
      const std::size_t width = col.kind == Kind::Class ? kClassChars : kStatusChars;
      const char* text = text_value(col.kind, a);
      const std::size_t length = std::strlen(text);
      if (length > width) throw std::logic_error(std::string("name too long for its '<U' field: ") + text);
      std::memset(dst, 0, 4 * width);
      for (std::size_t k = 0; k < length; ++k) dst[4 * k] = static_cast<unsigned char>(text[k]);  // ASCII -> UCS-4
      return 4 * width;
    }
  }
  return 0;
}

class NpyWriter final : public WriterBase {
 public:
  NpyWriter(const std::string& path, const OutputLayout& layout) : WriterBase(path, layout), file_(path, path) {
    descr_ = "[";
    for (const Column& c : columns_) {
      descr_ += (descr_.size() > 1 ? ", (" : "(") + npy::py_str(c.name) + ", '" + npy_descr(c.kind) + "')";
      row_size_ += npy::descr_item_size(npy_descr(c.kind));
    }
    descr_ += "]";
    // The row count is unknown until finish(): reserve room for the widest count and rewrite then.
    const std::string reserved =
        npy::make_header(npy::header_dict(descr_, {std::numeric_limits<std::uint64_t>::max()}));
    header_version_ = static_cast<unsigned char>(reserved[6]);
    header_size_ = reserved.size();
    file_.write(reserved.data(), reserved.size());
  }

  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    buffer_.resize(r.count * row_size_);
    unsigned char* dst = buffer_.data();
    for (std::size_t p = 0; p < r.count; ++p)
      for (const Column& col : columns_) dst += encode(col, points, r, p, dst);
    file_.write(buffer_.data(), buffer_.size());
    rows_ += r.count;
  }

  void finish(const std::string& metadata_json) override {
    const std::string header = npy::make_header(npy::header_dict(descr_, {rows_}), header_version_, header_size_);
    file_.write_at(0, header.data(), header.size());
    finish_files(file_, metadata_json);
  }

 private:
  TempFile file_;
  std::string descr_;
  std::size_t row_size_ = 0;
  int header_version_ = 1;
  std::size_t header_size_ = 0;
  std::uint64_t rows_ = 0;
  std::vector<unsigned char> buffer_;
};

// One .npz member streamed to its own temporary file (data only; the header is known at finish()).
struct NpzMember {
  NpzMember(const std::string& npz_path, std::string key, std::string descr_, std::vector<std::uint64_t> inner_)
      : name(std::move(key)),
        descr(std::move(descr_)),
        inner(std::move(inner_)),
        file(npz_path, npz_path, "." + name) {}
  void append(const unsigned char* data, std::size_t size) {
    file.write(data, size);
    for (std::size_t done = 0; done < size;) {  // zlib's crc32 takes 32-bit lengths
      const std::size_t step = std::min<std::size_t>(size - done, 1u << 30);
      crc = crc32(crc, data + done, uInt(step));
      done += step;
    }
  }
  std::string name;
  std::string descr;
  std::vector<std::uint64_t> inner;  // shape after the leading point count
  TempFile file;
  uLong crc = crc32(0, nullptr, 0);
};

class NpzWriter final : public WriterBase {
 public:
  NpzWriter(const std::string& path, const OutputLayout& layout) : WriterBase(path, layout), file_(path, path) {
    const std::uint64_t n = std::uint64_t(layout.n);
    add("points", "<f8", {n});
    for (const FieldSpec& f : kFields) add(f.name, npy_descr(f.kind), {});
    if (layout.gradient) add("gradient", "<f8", {n});
    if (layout.hessian) add("hessian", "<f8", {n, n});
    if (layout.eigenvalues) add("eigenvalues", "<f8", {n});
    if (layout.eigenvectors) add("eigenvectors", "<f8", {n, n});
    for (const std::string& name : layout.extra_columns) add(name, "<f8", {});
  }

  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    const std::size_t n = std::size_t(r.n);
    const std::size_t field_columns = n;  // columns_[n + f] is analysis field f
    std::size_t m = 0;
    // points: (B, n) row-major, as given.
    members_[m++]->append(reinterpret_cast<const unsigned char*>(points), r.count * n * sizeof(double));
    for (std::size_t f = 0; f < std::size(kFields); ++f) {
      const Column& col = columns_[field_columns + f];
      buffer_.resize(r.count * npy::descr_item_size(npy_descr(col.kind)));
      unsigned char* dst = buffer_.data();
      for (std::size_t p = 0; p < r.count; ++p) dst += encode(col, points, r, p, dst);
      members_[m++]->append(buffer_.data(), buffer_.size());
    }
    const auto doubles = [&](const std::vector<double>& v, std::size_t size) {
      members_[m++]->append(reinterpret_cast<const unsigned char*>(v.data()), size * sizeof(double));
    };
    // Column-major n x n per point -> C order [p][row][col]: H[p][r][c] = H(r,c); V[p][r][k] = component r of
    // eigenvector k (numpy.linalg.eigh's convention). Both are transposes of the column-major block.
    const auto transposed = [&](const std::vector<double>& v) {
      transposed_.resize(r.count * n * n);
      for (std::size_t p = 0; p < r.count; ++p)
        for (std::size_t row = 0; row < n; ++row)
          for (std::size_t col = 0; col < n; ++col)
            transposed_[p * n * n + row * n + col] = v[p * n * n + col * n + row];
      doubles(transposed_, transposed_.size());
    };
    if (layout_.gradient) doubles(r.gradient, r.count * n);
    if (layout_.hessian) transposed(r.hessian);
    if (layout_.eigenvalues) doubles(r.eigenvalues, r.count * n);
    if (layout_.eigenvectors) transposed(r.eigenvectors);
    for (const std::vector<double>& column : r.extra_columns) doubles(column, r.count);
    rows_ += r.count;
  }

  void finish(const std::string& metadata_json) override {
    if (finished_) throw std::logic_error("ResultWriter::finish called twice");
    std::vector<npy::ZipMember> zip;
    for (const auto& member : members_) {
      std::vector<std::uint64_t> shape{rows_};
      shape.insert(shape.end(), member->inner.begin(), member->inner.end());
      npy::ZipMember z;
      z.name = member->name + ".npy";
      z.head = npy::make_header(npy::header_dict(npy::py_str(member->descr), shape));
      z.tail_path = member->file.temp_path();
      z.tail_size = member->file.size();
      const uLong head_crc = crc32(0, reinterpret_cast<const Bytef*>(z.head.data()), uInt(z.head.size()));
      z.crc32 = std::uint32_t(crc32_combine(head_crc, member->crc, z_off_t(z.tail_size)));
      zip.push_back(std::move(z));
    }
    zip.push_back(text_member("coordinate_names", names_of(0, layout_.n)));
    zip.push_back(text_member("metadata", {metadata_json}, true));

    struct Sink final : npy::ByteSink {
      explicit Sink(TempFile& f) : file(f) {}
      void write(const void* data, std::size_t size) override { file.write(data, size); }
      TempFile& file;
    } sink(file_);
    npy::write_zip(zip, sink, path_);
    finish_files(file_, metadata_json);
    members_.clear();  // removes the member temporaries now
  }

 private:
  void add(std::string key, std::string descr, std::vector<std::uint64_t> inner) {
    members_.push_back(std::make_unique<NpzMember>(path_, std::move(key), std::move(descr), std::move(inner)));
  }

  std::vector<std::string> names_of(int first, int count) const {
    std::vector<std::string> names;
    for (int k = first; k < first + count; ++k) names.push_back(columns_[std::size_t(k)].name);
    return names;
  }

  // A '<U' array of `texts` (shape (len,), or () when `scalar`), held in memory.
  static npy::ZipMember text_member(const std::string& key, const std::vector<std::string>& texts,
                                    bool scalar = false) {
    std::vector<std::u32string> wide;
    std::size_t width = 1;
    for (const std::string& t : texts) {
      wide.push_back(npy::utf8_to_utf32(t));
      width = std::max(width, wide.back().size());
    }
    const std::vector<std::uint64_t> shape =
        scalar ? std::vector<std::uint64_t>{} : std::vector<std::uint64_t>{wide.size()};
    npy::ZipMember z;
    z.name = key + ".npy";
    z.head = npy::make_header(npy::header_dict(npy::py_str("<U" + std::to_string(width)), shape));
    for (const std::u32string& w : wide) {
      std::u32string padded = w;
      padded.resize(width, U'\0');
      z.head.append(reinterpret_cast<const char*>(padded.data()), padded.size() * sizeof(char32_t));
    }
    z.crc32 = std::uint32_t(crc32(0, reinterpret_cast<const Bytef*>(z.head.data()), uInt(z.head.size())));
    return z;
  }

  TempFile file_;
  std::vector<std::unique_ptr<NpzMember>> members_;
  std::uint64_t rows_ = 0;
  std::vector<unsigned char> buffer_;
  std::vector<double> transposed_;
};

}  // namespace

std::vector<std::string> analysis_field_names() {
  std::vector<std::string> names;
  for (const FieldSpec& f : kFields) names.emplace_back(f.name);
  return names;
}

std::unique_ptr<ResultWriter> open_result_writer(const std::string& path, const OutputLayout& layout) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".csv") return std::make_unique<CsvWriter>(path, layout);
  if (ext == ".jsonl") return std::make_unique<JsonlWriter>(path, layout);
  if (ext == ".npy") return std::make_unique<NpyWriter>(path, layout);
  if (ext == ".npz") return std::make_unique<NpzWriter>(path, layout);
  const std::string found = ext.empty() ? "no extension" : "extension '" + ext + "'";
  throw InputError(path, 0, 0, "unsupported output " + found + " (expected .csv, .npy, .npz or .jsonl)");
}

}  // namespace hessa
