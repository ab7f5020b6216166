// Result writers (CSV, JSON lines, structured .npy, .npz): one column model shared by all formats, written
// chunk by chunk to hidden temporary files beside the target and renamed into place by finish().
#include <fcntl.h>
#include <omp.h>
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
#include <functional>
#include <limits>
#include <memory>
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

std::string coordinate_name(const OutputLayout& layout, int i) {
  return layout.coordinate_names.empty() ? "x_" + std::to_string(i) : layout.coordinate_names[std::size_t(i)];
}

std::vector<Column> make_columns(const OutputLayout& layout) {
  const int n = layout.n;
  std::vector<Column> columns;
  for (int i = 0; i < n; ++i) columns.push_back({coordinate_name(layout, i), Source::Coordinate, Kind::Real, i, 0});
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

// The columns `wanted` names, in its order: a name, or a prefix ending in '*' (every column it starts, in file
// order: "H_*", "lambda_*"). Empty: all. InputError for a name that is no column of this run or a column named
// twice.
constexpr const char* kOptionalPrefixes[] = {"g_", "H_", "lambda_", "v_"};

std::vector<Column> select_columns(const std::vector<Column>& all, const std::vector<std::string>& wanted) {
  if (wanted.empty()) return all;
  std::vector<Column> chosen;
  std::set<std::string> taken;
  for (const std::string& item : wanted) {
    const bool prefix = !item.empty() && item.back() == '*';
    const std::string stem = prefix ? item.substr(0, item.size() - 1) : item;
    std::size_t matched = 0;
    for (const Column& c : all) {
      if (prefix ? c.name.compare(0, stem.size(), stem) != 0 : c.name != item) continue;
      ++matched;
      if (!taken.insert(c.name).second) throw InputError("--columns: column '" + c.name + "' is named twice");
      chosen.push_back(c);
    }
    if (matched == 0) {
      std::string names;
      for (std::size_t k = 0; k < all.size() && k < 40; ++k) names += (k ? ", " : "") + all[k].name;
      if (all.size() > 40) names += ", ... (" + std::to_string(all.size()) + " in all)";
      const bool optional = std::any_of(std::begin(kOptionalPrefixes), std::end(kOptionalPrefixes),
                                        [&](const char* p) { return item.rfind(p, 0) == 0; });
      throw InputError("--columns: '" + item + "' is not a column of this run" +
                       (optional ? " (g_*, H_*, lambda_* and v_* need --gradient, --hessian, --eigenvalues, "
                                   "--eigenvectors)"
                                 : "") +
                       "; its columns: " + names);
    }
  }
  return chosen;
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
using io::os_error;
using io::sync_directory_of;
using io::TempFile;

// --- the shared writer skeleton ----------------------------------------------------------------------------

// Text rows are formatted in parallel and written in order: blocks of rows (about 1 MiB of text each) are formatted
// by OpenMP threads into buffers of their own, then written one after the other. Decimal conversion is most of a
// text writer's time (~45 ns a double here). write() formats 2 blocks per thread at a time, so its buffers stay
// small whatever the chunk (a text row of an n = 256 Hessian is ~1.6 MB); format() renders a whole chunk ahead
// when its text is at most kFormatAheadBytes.
constexpr std::size_t kFormatAheadBytes = std::size_t(16) << 20;

std::size_t rows_per_block(std::size_t row_bytes) {
  return std::max<std::size_t>(1, (std::size_t(1) << 20) / row_bytes);
}

// Rows [first_row, end_row) into blocks [0, used) of `into`, rows_per_block(row_bytes) rows a block, in parallel.
// `format_row(out, p)` writes row p at `out` (at most `row_bytes`) and returns its end; it runs on several threads
// at once and must only read shared state (and must not throw: it only formats numbers and names).
template <class FormatRow>
void format_blocks(FormattedChunk& into, std::size_t first_row, std::size_t end_row, std::size_t row_bytes, int threads,
                   const FormatRow& format_row) {
  const std::size_t per_block = rows_per_block(row_bytes);
  into.used = (end_row - first_row + per_block - 1) / per_block;
  if (into.blocks.size() < into.used) into.blocks.resize(into.used);
  for (std::size_t b = 0; b < into.used; ++b) {
    FormattedChunk::Block& block = into.blocks[b];
    if (block.capacity < per_block * row_bytes) {
      block.capacity = per_block * row_bytes;
      block.data = std::make_unique<char[]>(block.capacity);  // (zeroed once, then reused)
    }
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (into.used > 1)
  for (std::size_t b = 0; b < into.used; ++b) {
    const std::size_t begin = first_row + b * per_block;
    const std::size_t end = std::min(end_row, begin + per_block);
    char* out = into.blocks[b].data.get();
    for (std::size_t p = begin; p < end; ++p) out = format_row(out, p);
    into.blocks[b].size = std::size_t(out - into.blocks[b].data.get());
  }
}

void append_blocks(TempFile& file, const FormattedChunk& chunk) {
  for (std::size_t b = 0; b < chunk.used; ++b) file.write(chunk.blocks[b].data.get(), chunk.blocks[b].size);
}

template <class FormatRow>
void write_rows_in_parallel(TempFile& file, std::size_t rows, std::size_t row_bytes, int threads,
                            FormattedChunk& scratch, const FormatRow& format_row) {
  const std::size_t batch = std::size_t(2 * std::max(threads, 1)) * rows_per_block(row_bytes);
  for (std::size_t first = 0; first < rows; first += batch) {
    format_blocks(scratch, first, std::min(rows, first + batch), row_bytes, threads, format_row);
    append_blocks(file, scratch);
  }
}

template <class FormatRow>
bool format_ahead(FormattedChunk& into, std::size_t rows, std::size_t row_bytes, int threads,
                  const FormatRow& format_row) {
  if (double(rows) * double(row_bytes) > double(kFormatAheadBytes)) return false;
  format_blocks(into, 0, rows, row_bytes, threads, format_row);
  return true;
}

// The widest text of one value: a double's shortest round-trip form ("-2.2250738585072014e-308"), an int.
constexpr std::size_t kDoubleChars = 24;
constexpr std::size_t kIntChars = 11;
static_assert(kStatusChars <= kDoubleChars && kClassChars <= kDoubleChars, "a name fits a value's room");

char* put(char* out, const char* text) {
  while (*text) *out++ = *text++;
  return out;
}
char* put_double(char* out, double v) { return std::to_chars(out, out + kDoubleChars, v).ptr; }  // shortest
char* put_int(char* out, int v) { return std::to_chars(out, out + kIntChars, v).ptr; }

// A JSON number: the shortest round-trip digits, with ".0" on an integral value as nlohmann writes it (readers then
// keep it a float). Finite values only; at most kDoubleChars + 2 characters.
char* put_json_double(char* out, double v) {
  char* end = put_double(out, v);
  if (std::find_if(out, end, [](char c) { return c == '.' || c == 'e'; }) == end) end = put(end, ".0");
  return end;
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
    columns_ = select_columns(columns_, layout.columns);  // (names checked unique over all of them first)
    std::error_code ec;
    if (std::filesystem::is_directory(path_, ec))
      throw InputError(path_, 0, 0, "cannot write the results: it is a directory");
  }

  // Whether any written column comes from `source` (index i for fields and extra columns; -1: any).
  bool writes(Source source, int i = -1) const {
    return std::any_of(columns_.begin(), columns_.end(),
                       [&](const Column& c) { return c.source == source && (i < 0 || c.i == i); });
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
  std::vector<Column> columns_;  // the written ones (layout.columns), in their order
  bool finished_ = false;
  // Threads for the text writers' formatting, as the creating thread's OpenMP setting says (--threads): write() runs
  // on the pipeline's writing thread, whose own setting is OpenMP's default.
  int threads_ = omp_get_max_threads();
  FormattedChunk blocks_;  // the text writers' row buffers for write()
};

// --- text formats: rows of characters ------------------------------------------------------------------------

// CSV and JSON lines: a row per point, formatted by format_row (at most row_bytes_ characters), in parallel blocks.
class TextWriter : public WriterBase {
 public:
  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    write_rows_in_parallel(file_, r.count, row_bytes_, threads_, blocks_,
                           [&](char* out, std::size_t p) { return format_row(out, points, r, p); });
  }

  bool format(const double* points, const ChunkResult& r, FormattedChunk& into) override {
    check_chunk(r);
    return format_ahead(into, r.count, row_bytes_, threads_,
                        [&](char* out, std::size_t p) { return format_row(out, points, r, p); });
  }

  void append(const FormattedChunk& chunk) override {
    if (finished_) throw std::logic_error("ResultWriter::append after finish");
    append_blocks(file_, chunk);
  }

  void finish(const std::string& metadata_json) override { finish_files(file_, metadata_json); }

 protected:
  TextWriter(const std::string& path, const OutputLayout& layout) : WriterBase(path, layout), file_(path, path) {}
  // Writes row p of the chunk at `out` and returns its end; called on several threads at once.
  virtual char* format_row(char* out, const double* points, const ChunkResult& r, std::size_t p) const = 0;

  TempFile file_;
  std::size_t row_bytes_ = 0;  // the widest row: every value at its widest, the separators, the newline
};

// --- CSV ---------------------------------------------------------------------------------------------------

class CsvWriter final : public TextWriter {
 public:
  CsvWriter(const std::string& path, const OutputLayout& layout) : TextWriter(path, layout) {
    row_bytes_ = (kDoubleChars + 1) * columns_.size() + 1;
    std::string header;
    for (const Column& c : columns_) {
      if (!header.empty()) header += ',';
      append_csv_name(header, c.name);
    }
    header += '\n';
    file_.write(header.data(), header.size());
  }

 private:
  // NaN is an empty cell, +-Inf "inf" / "-inf"; an unknown Morse index or uphill is empty.
  char* format_row(char* out, const double* points, const ChunkResult& r, std::size_t p) const override {
    const PointAnalysis& a = r.points[p];
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) *out++ = ',';
      const Column& col = columns_[c];
      switch (col.kind) {
        case Kind::Real: {
          const double v = real_value(col, points, r, p);
          if (!std::isnan(v)) out = put_double(out, v);
          break;
        }
        case Kind::MorseIndex:
          if (a.morse_index >= 0) out = put_int(out, a.morse_index);
          break;
        case Kind::Uphill:
          if (a.uphill >= 0) out = put(out, a.uphill ? "true" : "false");
          break;
        case Kind::Class:
        case Kind::Status: out = put(out, text_value(col.kind, a)); break;
      }
    }
    *out++ = '\n';
    return out;
  }
};

// --- JSON lines --------------------------------------------------------------------------------------------

// NaN (and ±Inf, which JSON cannot hold) are null; an unknown Morse index or uphill is null. Rows are assembled
// from pre-quoted keys (escaped by nlohmann) and shortest round-trip numbers.
class JsonlWriter final : public TextWriter {
 public:
  JsonlWriter(const std::string& path, const OutputLayout& layout) : TextWriter(path, layout) {
    row_bytes_ = 3;  // braces, newline
    for (const Column& c : columns_) {
      keys_.push_back(nlohmann::json(c.name).dump(-1, ' ', false, kReplace) + ':');
      row_bytes_ += keys_.back().size() + kDoubleChars + 3;  // key, value (or a quoted name), comma
    }
  }

 private:
  char* format_row(char* out, const double* points, const ChunkResult& r, std::size_t p) const override {
    const PointAnalysis& a = r.points[p];
    *out++ = '{';
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      if (c > 0) *out++ = ',';
      out = std::copy(keys_[c].begin(), keys_[c].end(), out);
      const Column& col = columns_[c];
      switch (col.kind) {
        case Kind::Real: {
          const double v = real_value(col, points, r, p);
          out = std::isfinite(v) ? put_json_double(out, v) : put(out, "null");
          break;
        }
        case Kind::MorseIndex: out = a.morse_index >= 0 ? put_int(out, a.morse_index) : put(out, "null"); break;
        case Kind::Uphill: out = put(out, a.uphill < 0 ? "null" : a.uphill ? "true" : "false"); break;
        case Kind::Class:
        case Kind::Status:  // plain ASCII names: quotes are all the escaping they need
          *out++ = '"';
          out = put(out, text_value(col.kind, a));
          *out++ = '"';
          break;
      }
    }
    return put(out, "}\n");
  }

  static constexpr auto kReplace = nlohmann::json::error_handler_t::replace;  // invalid UTF-8 in a name -> U+FFFD
  std::vector<std::string> keys_;                                             // "\"name\":"
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

// The rows [first, last) of `col` into a row-major record buffer (`dst`: row `first`'s field, `row_bytes` apart),
// as encode() writes them one at a time: one dispatch for the column, then a tight loop over the rows. Class and
// status names are encoded once per value (`names`: the '<U' bytes of each, by enum value).
void encode_column(const Column& col, const double* points, const ChunkResult& r, std::size_t first, std::size_t last,
                   unsigned char* dst, std::size_t row_bytes,
                   const std::vector<std::vector<unsigned char>>& class_names,
                   const std::vector<std::vector<unsigned char>>& status_names) {
  const auto each = [&](auto value) {
    for (std::size_t p = first; p < last; ++p, dst += row_bytes) {
      const auto v = value(p);
      std::memcpy(dst, &v, sizeof(v));
    }
  };
  const std::size_t n = std::size_t(r.n);
  const auto i = std::size_t(col.i);
  switch (col.kind) {
    case Kind::Real:
      switch (col.source) {
        case Source::Coordinate: each([&](std::size_t p) { return points[p * n + i]; }); return;
        case Source::Field: {
          double PointAnalysis::*member = kFields[i].member;
          each([&](std::size_t p) { return r.points[p].*member; });
          return;
        }
        case Source::Eigenvalue: each([&](std::size_t p) { return r.eigenvalues[p * n + i]; }); return;
        default: each([&](std::size_t p) { return real_value(col, points, r, p); }); return;
      }
    case Kind::MorseIndex: each([&](std::size_t p) { return r.points[p].morse_index; }); return;
    case Kind::Uphill: each([&](std::size_t p) { return r.points[p].uphill; }); return;
    case Kind::Class:
    case Kind::Status: {
      const auto& names = col.kind == Kind::Class ? class_names : status_names;
      for (std::size_t p = first; p < last; ++p, dst += row_bytes) {
        const std::size_t value =
            col.kind == Kind::Class ? std::size_t(r.points[p].point_class) : std::size_t(r.points[p].status);
        if (value >= names.size()) throw std::logic_error("a class or status outside its enum");
        std::memcpy(dst, names[value].data(), names[value].size());
      }
      return;
    }
  }
}

// The '<U' bytes of text_value(kind, a) for each enum value 0 .. count - 1.
std::vector<std::vector<unsigned char>> encoded_names(Kind kind, int count) {
  std::vector<std::vector<unsigned char>> names;
  const Column col{"", Source::Field, kind, 0, 0};
  for (int v = 0; v < count; ++v) {
    PointAnalysis a{};
    a.point_class = PointClass(v);
    a.status = PointStatus(v);
    std::vector<unsigned char> bytes(4 * (kind == Kind::Class ? kClassChars : kStatusChars));
    ChunkResult one;
    one.count = 1;
    one.points = {a};
    encode(col, nullptr, one, 0, bytes.data());
    names.push_back(std::move(bytes));
  }
  return names;
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
    // Column by column over blocks of rows small enough to stay in cache while every column is filled in.
    const std::size_t block = std::max<std::size_t>(1, (std::size_t(64) << 10) / row_size_);
    for (std::size_t first = 0; first < r.count; first += block) {
      const std::size_t last = std::min(r.count, first + block);
      std::size_t offset = 0;
      for (const Column& col : columns_) {
        encode_column(col, points, r, first, last, buffer_.data() + first * row_size_ + offset, row_size_, class_names_,
                      status_names_);
        offset += npy::descr_item_size(npy_descr(col.kind));
      }
    }
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
  // The enums' last values: Noncritical, EigenNotConverged.
  const std::vector<std::vector<unsigned char>> class_names_ =
      encoded_names(Kind::Class, int(PointClass::Noncritical) + 1);
  const std::vector<std::vector<unsigned char>> status_names_ =
      encoded_names(Kind::Status, int(PointStatus::EigenNotConverged) + 1);
};

// One array of the .npz layout, filled chunk by chunk: a member file of the zip (NpzMember) or memory (MemoryArray).
struct ArrayMember {
  ArrayMember(std::string key, std::string descr_, std::vector<std::uint64_t> inner_)
      : name(std::move(key)), descr(std::move(descr_)), inner(std::move(inner_)) {}
  virtual ~ArrayMember() = default;
  virtual void append(const unsigned char* data, std::size_t size) = 0;
  std::string name;
  std::string descr;
  std::vector<std::uint64_t> inner;  // shape after the leading point count
};

// The .npz layout: one array per field ("points" (B, n), "f", ..., "class", "hessian" (B, n, n), the extra columns),
// whatever holds them. With --columns, only the arrays of which a column is wanted (a matrix whole).
class ArraySetWriter : public WriterBase {
 protected:
  using MakeMember = std::function<std::unique_ptr<ArrayMember>(std::string, std::string, std::vector<std::uint64_t>)>;

  ArraySetWriter(const std::string& path, const OutputLayout& layout, const MakeMember& make)
      : WriterBase(path, layout) {
    const std::uint64_t n = std::uint64_t(layout.n);
    const auto add = [&](bool wanted, std::string key, std::string descr, std::vector<std::uint64_t> inner) {
      if (!wanted) {
        slots_.push_back(nullptr);
        return;
      }
      members_.push_back(make(std::move(key), std::move(descr), std::move(inner)));
      slots_.push_back(members_.back().get());
    };
    add(writes(Source::Coordinate), "points", "<f8", {n});
    for (int f = 0; f < int(std::size(kFields)); ++f)
      add(writes(Source::Field, f), kFields[f].name, npy_descr(kFields[f].kind), {});
    add(layout.gradient && writes(Source::Gradient), "gradient", "<f8", {n});
    add(layout.hessian && writes(Source::Hessian), "hessian", "<f8", {n, n});
    add(layout.eigenvalues && writes(Source::Eigenvalue), "eigenvalues", "<f8", {n});
    add(layout.eigenvectors && writes(Source::Eigenvector), "eigenvectors", "<f8", {n, n});
    for (int e = 0; e < int(layout.extra_columns.size()); ++e)
      add(writes(Source::Extra, e), layout.extra_columns[std::size_t(e)], "<f8", {});
  }

 public:
  void write(const double* points, const ChunkResult& r) override {
    check_chunk(r);
    const std::size_t n = std::size_t(r.n);
    std::size_t m = 0;  // members_ in the order of add(); nullptr for one not written
    const auto next = [&]() { return slots_[m++]; };
    // points: (B, n) row-major, as given.
    if (ArrayMember* member = next())
      member->append(reinterpret_cast<const unsigned char*>(points), r.count * n * sizeof(double));
    for (int f = 0; f < int(std::size(kFields)); ++f) {
      ArrayMember* member = next();
      if (!member) continue;
      const Column col{kFields[f].name, Source::Field, kFields[f].kind, f, 0};
      buffer_.resize(r.count * npy::descr_item_size(npy_descr(col.kind)));
      unsigned char* dst = buffer_.data();
      for (std::size_t p = 0; p < r.count; ++p) dst += encode(col, points, r, p, dst);
      member->append(buffer_.data(), buffer_.size());
    }
    const auto doubles = [&](ArrayMember* member, const std::vector<double>& v, std::size_t size) {
      if (member) member->append(reinterpret_cast<const unsigned char*>(v.data()), size * sizeof(double));
    };
    // Column-major n x n per point -> C order [p][row][col]: H[p][r][c] = H(r,c); V[p][r][k] = component r of
    // eigenvector k (numpy.linalg.eigh's convention). Both are transposes of the column-major block.
    const auto transposed = [&](ArrayMember* member, const std::vector<double>& v) {
      if (!member) return;
      transposed_.resize(r.count * n * n);
      for (std::size_t p = 0; p < r.count; ++p)
        for (std::size_t row = 0; row < n; ++row)
          for (std::size_t col = 0; col < n; ++col)
            transposed_[p * n * n + row * n + col] = v[p * n * n + col * n + row];
      doubles(member, transposed_, transposed_.size());
    };
    doubles(next(), r.gradient, r.count * n);
    transposed(next(), r.hessian);
    doubles(next(), r.eigenvalues, r.count * n);
    transposed(next(), r.eigenvectors);
    for (const std::vector<double>& column : r.extra_columns) doubles(next(), column, r.count);
    rows_ += r.count;
  }

 protected:
  std::vector<std::string> coordinate_names() const {
    std::vector<std::string> names;
    for (int i = 0; i < layout_.n; ++i) names.push_back(coordinate_name(layout_, i));
    return names;
  }

  std::vector<std::unique_ptr<ArrayMember>> members_;
  std::uint64_t rows_ = 0;

 private:
  std::vector<ArrayMember*> slots_;  // write()'s sequence of arrays: a member, or nullptr when not written
  std::vector<unsigned char> buffer_;
  std::vector<double> transposed_;
};

// One .npz member streamed to its own temporary file (data only; the header is known at finish()).
struct NpzMember final : ArrayMember {
  NpzMember(const std::string& npz_path, std::string key, std::string descr_, std::vector<std::uint64_t> inner_)
      : ArrayMember(std::move(key), std::move(descr_), std::move(inner_)), file(npz_path, npz_path, "." + name) {}
  void append(const unsigned char* data, std::size_t size) override {
    file.write(data, size);
    for (std::size_t done = 0; done < size;) {  // zlib's crc32 takes 32-bit lengths
      const std::size_t step = std::min<std::size_t>(size - done, 1u << 30);
      crc = crc32(crc, data + done, uInt(step));
      done += step;
    }
  }
  TempFile file;
  uLong crc = crc32(0, nullptr, 0);
};

class NpzWriter final : public ArraySetWriter {
 public:
  NpzWriter(const std::string& path, const OutputLayout& layout)
      : ArraySetWriter(path, layout,
                       [&path](std::string key, std::string descr, std::vector<std::uint64_t> inner) {
                         return std::make_unique<NpzMember>(path, std::move(key), std::move(descr), std::move(inner));
                       }),
        file_(path, path) {}

  void finish(const std::string& metadata_json) override {
    if (finished_) throw std::logic_error("ResultWriter::finish called twice");
    std::vector<npy::ZipMember> zip;
    for (const auto& base : members_) {
      const auto& member = static_cast<NpzMember&>(*base);
      std::vector<std::uint64_t> shape{rows_};
      shape.insert(shape.end(), member.inner.begin(), member.inner.end());
      npy::ZipMember z;
      z.name = member.name + ".npy";
      z.head = npy::make_header(npy::header_dict(npy::py_str(member.descr), shape));
      z.tail_path = member.file.temp_path();
      z.tail_size = member.file.size();
      const uLong head_crc = crc32(0, reinterpret_cast<const Bytef*>(z.head.data()), uInt(z.head.size()));
      z.crc32 = std::uint32_t(crc32_combine(head_crc, member.crc, z_off_t(z.tail_size)));
      zip.push_back(std::move(z));
    }
    zip.push_back(text_member("coordinate_names", coordinate_names()));
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
};

// The .npz layout's arrays in memory, moved to the caller's ResultArrays by finish() (a library front end).
struct MemoryArray final : ArrayMember {
  using ArrayMember::ArrayMember;
  void append(const unsigned char* data, std::size_t size) override { bytes.insert(bytes.end(), data, data + size); }
  std::vector<unsigned char> bytes;
};

class MemoryArraysWriter final : public ArraySetWriter {
 public:
  MemoryArraysWriter(const OutputLayout& layout, ResultArrays* into)
      : ArraySetWriter("results", layout,
                       [](std::string key, std::string descr, std::vector<std::uint64_t> inner) {
                         return std::make_unique<MemoryArray>(std::move(key), std::move(descr), std::move(inner));
                       }),
        into_(into) {}

  void finish(const std::string& metadata_json) override {
    if (finished_) throw std::logic_error("ResultWriter::finish called twice");
    finished_ = true;
    ResultArrays done;
    for (auto& base : members_) {
      auto& member = static_cast<MemoryArray&>(*base);
      ResultArray a;
      a.name = member.name;
      a.descr = member.descr;
      a.shape = {rows_};
      a.shape.insert(a.shape.end(), member.inner.begin(), member.inner.end());
      a.bytes = std::move(member.bytes);
      done.arrays.push_back(std::move(a));
    }
    done.coordinate_names = coordinate_names();
    done.metadata_json = metadata_json;
    *into_ = std::move(done);
  }

 private:
  ResultArrays* into_;
};

}  // namespace

std::vector<std::string> analysis_field_names() {
  std::vector<std::string> names;
  for (const FieldSpec& f : kFields) names.emplace_back(f.name);
  return names;
}

std::unique_ptr<ResultWriter> open_result_arrays(const OutputLayout& layout, ResultArrays* into) {
  if (into == nullptr) throw std::invalid_argument("open_result_arrays: no ResultArrays to fill");
  return std::make_unique<MemoryArraysWriter>(layout, into);
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
