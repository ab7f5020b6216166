// The Jacobian result writers (CSV, JSON lines): coordinates, f_i, J_i_j, jac_err, status per point, streamed to
// a hidden temporary file and renamed into place with "<path>.meta.json" on finish(), like result_writers.cpp.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "hessa/errors.hpp"
#include "hessa/jacobian.hpp"
#include "io/output_file.hpp"

namespace hessa {

std::vector<std::string> jacobian_column_names(const JacobianLayout& layout) {
  std::vector<std::string> names = layout.coordinate_names;
  for (int i = 0; i < layout.k; ++i) names.push_back("f_" + std::to_string(i));
  for (int i = 0; i < layout.k; ++i)
    for (int j = 0; j < layout.m; ++j) names.push_back("J_" + std::to_string(i) + "_" + std::to_string(j));
  if (layout.error) names.emplace_back("jac_err");
  names.emplace_back("status");
  return names;
}

namespace {

using io::append_csv_name;
using io::append_double;
using io::TempFile;

enum class Format { Csv, Jsonl };

class Writer final : public JacobianWriter {
 public:
  Writer(const std::string& path, const JacobianLayout& layout, Format format)
      : path_(path), layout_(layout), format_(format), names_(jacobian_column_names(layout)), data_(path, path) {
    if (format_ == Format::Csv) {
      std::string header;
      for (const std::string& name : names_) {
        if (!header.empty()) header += ',';
        append_csv_name(header, name);
      }
      data_.write(header + '\n');
    } else {
      for (const std::string& name : names_) keys_.push_back(nlohmann::json(name).dump(-1, ' ', false, kReplace) + ':');
    }
  }

  void write(const double* points, const JacobianResult& r) override {
    if (finished_) throw std::logic_error("JacobianWriter::write after finish");
    if (r.m != layout_.m || r.k != layout_.k || r.f.size() < r.count * std::size_t(r.k) ||
        r.J.size() < r.count * std::size_t(r.k) * std::size_t(r.m) || r.error.size() < r.count ||
        r.status.size() < r.count)
      throw std::invalid_argument("JacobianResult does not match the writer's JacobianLayout");
    const std::size_t m = std::size_t(r.m);
    const std::size_t k = std::size_t(r.k);
    std::string text;
    std::vector<double> row;
    for (std::size_t p = 0; p < r.count; ++p) {
      row.assign(points + p * m, points + (p + 1) * m);
      row.insert(row.end(), r.f.begin() + std::ptrdiff_t(p * k), r.f.begin() + std::ptrdiff_t((p + 1) * k));
      row.insert(row.end(), r.J.begin() + std::ptrdiff_t(p * k * m), r.J.begin() + std::ptrdiff_t((p + 1) * k * m));
      if (layout_.error) row.push_back(r.error[p]);
      const char* status = status_name(r.status[p]);
      if (format_ == Format::Csv) {
        for (const double v : row) {
          if (!std::isnan(v)) append_double(text, v);  // NaN: empty cell; +-Inf as "inf", "-inf"
          text += ',';
        }
        text += status;
      } else {
        text += '{';
        for (std::size_t c = 0; c < row.size(); ++c) {
          text += keys_[c];
          text += std::isfinite(row[c]) ? nlohmann::json(row[c]).dump() : "null";  // JSON has no NaN / Inf
          text += ',';
        }
        text += keys_.back();
        text += nlohmann::json(status).dump();
        text += '}';
      }
      text += '\n';
    }
    data_.write(text);
  }

  // The metadata first, so a result file never appears without it.
  void finish(const std::string& metadata_json) override {
    if (finished_) throw std::logic_error("JacobianWriter::finish called twice");
    finished_ = true;
    TempFile meta(path_ + ".meta.json", path_);
    meta.write(metadata_json.empty() || metadata_json.back() != '\n' ? metadata_json + '\n' : metadata_json);
    meta.sync();
    meta.commit();
    data_.sync();
    data_.commit();
    io::sync_directory_of(path_);
  }

 private:
  static constexpr auto kReplace = nlohmann::json::error_handler_t::replace;  // invalid UTF-8 in a name -> U+FFFD

  std::string path_;
  JacobianLayout layout_;
  Format format_;
  std::vector<std::string> names_;
  std::vector<std::string> keys_;  // JSON lines: "\"name\":"
  TempFile data_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<JacobianWriter> open_jacobian_writer(const std::string& path, const JacobianLayout& layout) {
  if (layout.m <= 0 || layout.k <= 0 || layout.coordinate_names.size() != std::size_t(layout.m))
    throw std::invalid_argument("JacobianLayout needs m, k >= 1 and m coordinate names");
  std::set<std::string> seen;
  for (const std::string& name : jacobian_column_names(layout)) {
    if (name.empty()) throw InputError(path, 0, 0, "a coordinate has an empty name; output columns need names");
    if (!seen.insert(name).second)
      throw InputError(path, 0, 0, "output column '" + name + "' appears twice: rename the coordinate that clashes");
  }
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError(path, 0, 0, "cannot write the results: it is a directory");
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".csv") return std::make_unique<Writer>(path, layout, Format::Csv);
  if (ext == ".jsonl") return std::make_unique<Writer>(path, layout, Format::Jsonl);
  const std::string found = ext.empty() ? "no extension" : "extension '" + ext + "'";
  throw InputError(path, 0, 0, "unsupported output " + found + " for a Jacobian (expected .csv or .jsonl)");
}

}  // namespace hessa
