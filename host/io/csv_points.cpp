// CSV point reader: one point per line, comma separated, an optional header row, '#' comments and blank lines
// skipped. Streams line by line; every error names the line and the 1-based byte column of the bad cell.
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "hessa/detail/utf8.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa::io_detail {
namespace {

using FileHandle = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

// ::getline's malloc'ed buffer, freed even when the reader's constructor throws.
struct LineBuffer {
  LineBuffer() = default;
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;
  ~LineBuffer() { std::free(data); }
  char* data = nullptr;
  std::size_t capacity = 0;
};

class CsvPointReader final : public PointReader {
 public:
  CsvPointReader(std::string path, FileHandle file) : path_(std::move(path)), file_(std::move(file)) {
    if (!next_row()) fail_no_points("");
    // A first row with a non-empty cell that is not a number is a header.
    for (const Cell& cell : cells_) {
      double ignored = 0.0;
      if (cell.begin != cell.end && !parse_number(cell, ignored)) {
        // Names go into the metadata (JSON) and the store's UTF-8 attributes: bad bytes are refused here.
        if (const std::size_t bad = detail::first_invalid_utf8(line_); bad < line_.size()) {
          char byte[8];
          std::snprintf(byte, sizeof byte, "0x%02X", unsigned(static_cast<unsigned char>(line_[bad])));
          fail(bad, std::string("the header is not valid UTF-8 (byte ") + byte + ")");
        }
        for (const Cell& c : cells_) names_.push_back(line_.substr(c.begin, c.end - c.begin));
        break;
      }
    }
    dimension_ = int(cells_.size());
    dimension_line_ = line_number_;
    if (!names_.empty() && !next_row()) fail_no_points(" after the header");
    pending_ = true;
  }

  int dimension() const override { return dimension_; }
  const std::vector<std::string>& column_names() const override { return names_; }
  std::optional<std::size_t> total_points() const override { return std::nullopt; }

  std::size_t read(std::size_t max_points, std::vector<double>& out) override {
    out.clear();
    std::size_t count = 0;
    while (count < max_points) {
      if (pending_) {
        pending_ = false;
      } else if (!next_row()) {
        break;
      }
      append_row(out);
      ++count;
    }
    return count;
  }

 private:
  struct Cell {
    std::size_t begin;  // trimmed [begin, end) in line_
    std::size_t end;
  };

  [[noreturn]] void fail(std::size_t byte_index, const std::string& message) const {
    throw InputError(path_, line_number_, int(byte_index) + 1, message, line_);
  }
  [[noreturn]] void fail_no_points(const char* where) const {
    throw InputError(path_, 0, 0, std::string("no points") + where);
  }

  // Reads the next line that is neither blank nor a comment into line_ and splits it; false at the end.
  bool next_row() {
    while (true) {
      errno = 0;
      const ssize_t length = ::getline(&buffer_.data, &buffer_.capacity, file_.get());
      if (length < 0) {
        if (std::ferror(file_.get()))
          throw InputError(path_, line_number_ + 1, 0, std::string("cannot read: ") + std::strerror(errno));
        return false;
      }
      ++line_number_;
      line_.assign(buffer_.data, std::size_t(length));
      while (!line_.empty() && (line_.back() == '\n' || line_.back() == '\r')) line_.pop_back();
      if (line_number_ == 1 && line_.compare(0, 3, "\xEF\xBB\xBF") == 0) line_.replace(0, 3, "   ");  // UTF-8 BOM
      std::size_t first = 0;
      while (first < line_.size() && is_space(line_[first])) ++first;
      if (first == line_.size() || line_[first] == '#') continue;
      split();
      return true;
    }
  }

  void split() {
    cells_.clear();
    std::size_t start = 0;
    while (true) {
      std::size_t stop = line_.find(',', start);
      if (stop == std::string::npos) stop = line_.size();
      std::size_t b = start;
      std::size_t e = stop;
      while (b < e && is_space(line_[b])) ++b;
      while (e > b && is_space(line_[e - 1])) --e;
      cells_.push_back({b, e});
      if (stop == line_.size()) break;
      start = stop + 1;
    }
  }

  // std::strtod over the whole trimmed cell; trailing text makes it not a number.
  bool parse_number(const Cell& cell, double& value) const {
    if (cell.begin == cell.end) return false;
    const char* begin = line_.c_str() + cell.begin;
    char* stop = nullptr;
    value = std::strtod(begin, &stop);
    return stop == line_.c_str() + cell.end && stop != begin;
  }

  void append_row(std::vector<double>& out) const {
    const std::size_t n = std::size_t(dimension_);
    if (cells_.size() != n) {
      std::size_t where = line_.size();
      while (where > 0 && is_space(line_[where - 1])) --where;  // just past the last value: where one is missing
      if (cells_.size() > n) where = cells_[n].begin;           // the first value too many
      fail(where, "expected " + std::to_string(n) + " values (as in line " + std::to_string(dimension_line_) +
                      "), found " + std::to_string(cells_.size()));
    }
    for (const Cell& cell : cells_) {
      const std::string text = line_.substr(cell.begin, cell.end - cell.begin);
      double value = 0.0;
      if (!parse_number(cell, value))
        fail(cell.begin,
             text.empty() ? "expected a number, found an empty cell" : "expected a number, found '" + text + "'");
      if (!std::isfinite(value)) fail(cell.begin, "coordinates must be finite, found '" + text + "'");
      out.push_back(value);
    }
  }

  std::string path_;
  FileHandle file_;
  LineBuffer buffer_;
  std::string line_;
  int line_number_ = 0;
  std::vector<Cell> cells_;
  std::vector<std::string> names_;
  int dimension_ = 0;
  int dimension_line_ = 0;  // the line whose cell count fixed the dimension
  bool pending_ = false;    // line_ is the first data row, parsed by the first read()
};

}  // namespace

std::unique_ptr<PointReader> open_csv_points(const std::string& path, FileHandle file) {
  return std::make_unique<CsvPointReader>(path, std::move(file));
}

}  // namespace hessa::io_detail
