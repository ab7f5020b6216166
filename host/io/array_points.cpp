// Points already in memory (a Python caller's array): read in place, chunk by chunk, checked as a file's rows are.
#include <algorithm>
#include <climits>
#include <cmath>
#include <string>
#include <utility>

#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {
namespace {

class ArrayPointReader final : public PointReader {
 public:
  ArrayPointReader(const double* points, std::size_t rows, int n, std::string name, std::vector<std::string> columns)
      : points_(points), rows_(rows), n_(n), name_(std::move(name)), columns_(std::move(columns)) {
    if (n < 1) throw InputError(name_, 0, 0, "the points need at least one column");
    if (!columns_.empty() && columns_.size() != std::size_t(n))
      throw InputError(name_, 0, 0,
                       std::to_string(columns_.size()) + " column names for " + std::to_string(n) + " columns");
  }
  int dimension() const override { return n_; }
  const std::vector<std::string>& column_names() const override { return columns_; }
  std::optional<std::size_t> total_points() const override { return rows_; }

  const double* read_in_place(std::size_t max_points, std::size_t* count) override {
    const std::size_t take = std::min(max_points, rows_ - next_);
    const double* first = points_ + next_ * std::size_t(n_);
    for (std::size_t i = 0; i < take * std::size_t(n_); ++i) {
      if (!std::isfinite(first[i])) {
        // As the .npy reader says it: point and coordinate counted from 1.
        const std::size_t point = next_ + i / std::size_t(n_) + 1, coordinate = i % std::size_t(n_) + 1;
        const char* found = std::isnan(first[i]) ? "nan" : first[i] > 0 ? "inf" : "-inf";
        throw InputError(name_, int(std::min<std::size_t>(point, INT_MAX)), int(coordinate),
                         "point " + std::to_string(point) + ", coordinate " + std::to_string(coordinate) +
                             ": coordinates must be finite, found " + found);
      }
    }
    next_ += take;
    *count = take;
    return first;
  }

  std::size_t read(std::size_t max_points, std::vector<double>& out) override {
    std::size_t count = 0;
    const double* rows = read_in_place(max_points, &count);
    out.assign(rows, rows + count * std::size_t(n_));
    return count;
  }

 private:
  const double* points_;
  std::size_t rows_;
  int n_;
  std::string name_;
  std::vector<std::string> columns_;
  std::size_t next_ = 0;
};

}  // namespace

std::unique_ptr<PointReader> open_point_array(const double* points, std::size_t rows, int n, std::string name,
                                              std::vector<std::string> column_names) {
  return std::make_unique<ArrayPointReader>(points, rows, n, std::move(name), std::move(column_names));
}

}  // namespace hessa
