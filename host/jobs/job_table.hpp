// What the job-file readers share (job_file.cpp, job_model.cpp): a TOML table read key by key with every
// error located at its file, line, column and key path; paths relative to the job file; content fingerprints.
#pragma once

#include <toml++/toml.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "hessa/errors.hpp"

namespace hessa::jobs {

// Reads one table of the job with the location of every node, so each error names file, line, column, key path.
class TableReader {
 public:
  TableReader(const std::string& job, const toml::table& table, std::string path)
      : job_(job), table_(table), path_(std::move(path)) {}

  [[noreturn]] void fail(const toml::source_region& where, const std::string& key, const std::string& what) const {
    throw InputError(job_, int(where.begin.line), int(where.begin.column), key_path(key) + ": " + what);
  }
  [[noreturn]] void fail_missing(const std::string& key, const std::string& what) const {
    const int line = int(table_.source().begin.line);
    throw InputError(job_, line > 0 ? line : 1, 0,
                     key_path(key) + ": missing (" + what + ")" + (path_.empty() ? "" : " in [" + path_ + "]"));
  }
  std::string key_path(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  void allow_only(const std::set<std::string>& keys) const {
    for (auto&& [key, node] : table_) {
      (void)node;
      if (!keys.count(std::string(key.str()))) {
        std::string known;
        for (const std::string& k : keys) known += (known.empty() ? "" : ", ") + k;
        fail(key.source(), std::string(key.str()), "unknown key (expected one of: " + known + ")");
      }
    }
  }
  bool has(const std::string& key) const { return table_.contains(key); }
  const toml::node* node(const std::string& key) const { return table_.get(key); }

  [[noreturn]] void wrong_type(const toml::node& n, const std::string& key, const std::string& expected) const {
    std::ostringstream found;
    found << n.type();
    fail(n.source(), key, "expected " + expected + ", found " + found.str());
  }

  std::string string(const std::string& key) const {
    const toml::node& n = *node(key);
    if (!n.is_string()) wrong_type(n, key, "a string");
    return n.as_string()->get();
  }
  double number(const toml::node& n, const std::string& key) const {
    if (n.is_integer()) return double(n.as_integer()->get());
    if (!n.is_floating_point()) wrong_type(n, key, "a number");
    const double v = n.as_floating_point()->get();
    if (!std::isfinite(v)) fail(n.source(), key, "expected a finite number");
    return v;
  }
  double number(const std::string& key) const { return number(*node(key), key); }
  double nonnegative(const std::string& key, bool strictly_positive) const {
    const double v = number(key);
    if (strictly_positive ? v <= 0 : v < 0) {
      fail(node(key)->source(), key, strictly_positive ? "must be > 0" : "must be >= 0");
    }
    return v;
  }
  std::int64_t integer(const toml::node& n, const std::string& key) const {
    if (!n.is_integer()) wrong_type(n, key, "an integer");
    return n.as_integer()->get();
  }
  bool boolean(const std::string& key) const {
    const toml::node& n = *node(key);
    if (!n.is_boolean()) wrong_type(n, key, "true or false");
    return n.as_boolean()->get();
  }
  const toml::array& array(const std::string& key) const {
    const toml::node& n = *node(key);
    if (!n.is_array()) wrong_type(n, key, "an array");
    if (n.as_array()->empty()) fail(n.source(), key, "must not be empty");
    return *n.as_array();
  }
  std::vector<double> numbers(const std::string& key) const {
    std::vector<double> v;
    const toml::array& a = array(key);
    for (std::size_t i = 0; i < a.size(); ++i) v.push_back(number(a[i], key + "[" + std::to_string(i) + "]"));
    return v;
  }
  std::vector<std::string> strings(const std::string& key) const {
    std::vector<std::string> v;
    const toml::array& a = array(key);
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!a[i].is_string()) wrong_type(a[i], key + "[" + std::to_string(i) + "]", "a string");
      v.push_back(a[i].as_string()->get());
    }
    return v;
  }
  const toml::table& table(const std::string& key) const {
    const toml::node& n = *node(key);
    if (!n.is_table()) wrong_type(n, key, "a table");
    return *n.as_table();
  }
  const toml::table& get() const { return table_; }
  const std::string& job() const { return job_; }

 private:
  const std::string& job_;
  const toml::table& table_;
  std::string path_;
};

inline std::string resolve_path(const std::string& job_path, const std::string& path) {
  const std::filesystem::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (std::filesystem::path(job_path).parent_path() / p).lexically_normal().string();
}

// 64-bit FNV-1a of the point values: a file edited between runs is a different job.
inline std::string fingerprint(const std::vector<double>& values) {
  std::uint64_t h = 1469598103934665603ULL;
  const auto* bytes = reinterpret_cast<const unsigned char*>(values.data());
  for (std::size_t i = 0; i < values.size() * sizeof(double); ++i) {
    h ^= bytes[i];
    h *= 1099511628211ULL;
  }
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(h));
  return text;
}

}  // namespace hessa::jobs
