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

// In memory, for a library front end: points (B, m), f (B, k), J (B, k, m), jac_err (B,) when estimated and status
// (B,) as '<U17' names, moved into the caller's ResultArrays by finish().
class MemoryWriter final : public JacobianWriter {
 public:
  MemoryWriter(const JacobianLayout& layout, ResultArrays* into) : layout_(layout), into_(into) {
    const auto m = std::uint64_t(layout.m), k = std::uint64_t(layout.k);
    add("points", "<f8", {m});
    add("f", "<f8", {k});
    add("J", "<f8", {k, m});
    if (layout.error) add("jac_err", "<f8", {});
    add("status", "<U17", {});
  }

  void write(const double* points, const JacobianResult& r) override {
    if (finished_) throw std::logic_error("JacobianWriter::write after finish");
    const std::size_t m = std::size_t(layout_.m), k = std::size_t(layout_.k);
    std::size_t a = 0;
    append(a++, points, r.count * m);
    append(a++, r.f.data(), r.count * k);
    append(a++, r.J.data(), r.count * k * m);
    if (layout_.error) append(a++, r.error.data(), r.count);
    std::vector<unsigned char>& status = arrays_.arrays[a].bytes;
    for (std::size_t p = 0; p < r.count; ++p) {
      unsigned char cell[4 * 17] = {};
      const char* name = status_name(r.status[p]);
      for (std::size_t c = 0; name[c] != '\0' && c < 17; ++c) cell[4 * c] = static_cast<unsigned char>(name[c]);
      status.insert(status.end(), cell, cell + sizeof cell);
    }
    rows_ += r.count;
  }

  void finish(const std::string& metadata_json) override {
    if (finished_) throw std::logic_error("JacobianWriter::finish called twice");
    finished_ = true;
    for (ResultArray& array : arrays_.arrays) array.shape.insert(array.shape.begin(), rows_);
    arrays_.coordinate_names = layout_.coordinate_names;
    arrays_.metadata_json = metadata_json;
    *into_ = std::move(arrays_);
  }

 private:
  void add(std::string name, std::string descr, std::vector<std::uint64_t> inner) {
    arrays_.arrays.push_back(ResultArray{std::move(name), std::move(descr), std::move(inner), {}});
  }
  void append(std::size_t array, const double* values, std::size_t count) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(values);
    arrays_.arrays[array].bytes.insert(arrays_.arrays[array].bytes.end(), bytes, bytes + count * sizeof(double));
  }

  JacobianLayout layout_;
  ResultArrays* into_;
  ResultArrays arrays_;
  std::uint64_t rows_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<JacobianWriter> open_jacobian_arrays(const JacobianLayout& layout, ResultArrays* into) {
  if (into == nullptr) throw std::invalid_argument("open_jacobian_arrays: no ResultArrays to fill");
  return std::make_unique<MemoryWriter>(layout, into);
}

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
