// TOML job files: parsed with toml++, checked table by table against the schema, defaults resolved.
#include "cli/job_file.hpp"

#include "hessa/grid.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa::cli {
namespace {

namespace fs = std::filesystem;

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

std::string resolve_path(const std::string& job_path, const std::string& path) {
  const fs::path p(path);
  if (p.is_absolute()) return p.lexically_normal().string();
  return (fs::path(job_path).parent_path() / p).lexically_normal().string();
}

// 64-bit FNV-1a of the point values: a file edited between runs is a different job.
std::string fingerprint(const std::vector<double>& values) {
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

void read_function(const TableReader& t, JobSpec& job) {
  t.allow_only({"expression", "catalogue", "vars", "params"});
  const bool expression = t.has("expression"), named = t.has("catalogue");
  if (expression == named) {
    if (expression) t.fail(t.node("catalogue")->source(), "catalogue", "give either expression or catalogue, not both");
    t.fail_missing("expression", "one of expression = \"...\" or catalogue = \"name\"");
  }
  if (expression) {
    const std::string text = t.string("expression");
    const int line = int(t.node("expression")->source().begin.line);
    job.function = {"expression", text, t.job() + ":" + std::to_string(line) + " function.expression", 0, 1, true};
  } else {
    std::string name = t.string("catalogue");
    const std::string spec = name.rfind("quadratic:", 0) == 0 ? "quadratic:" + resolve_path(t.job(), name.substr(10))
                                                                : name;
    if (spec.rfind("quadratic:", 0) != 0 && find_catalogue_entry(spec) == nullptr) {
      t.fail(t.node("catalogue")->source(), "catalogue",
             "unknown function '" + name + "' (see 'hessa functions'; or quadratic:FILE)");
    }
    job.function = resolve_function(spec);
  }
  if (t.has("vars")) job.variable_names = t.strings("vars");
  if (t.has("params")) {
    const TableReader params(t.job(), t.table("params"), t.key_path("params"));
    for (auto&& [key, node] : params.get()) job.parameters[std::string(key.str())] = params.number(node, std::string(key.str()));
  }
}

void read_points(const TableReader& t, JobSpec& job) {
  t.allow_only({"kind", "lower", "upper", "counts", "file"});
  if (!t.has("kind")) t.fail_missing("kind", "\"grid\" or \"file\"");
  const std::string kind = t.string("kind");
  if (kind == "grid") {
    for (const char* key : {"lower", "upper", "counts"})
      if (!t.has(key)) t.fail_missing(key, "a grid needs lower, upper and counts");
    if (t.has("file")) t.fail(t.node("file")->source(), "file", "not used by kind = \"grid\"");
    job.lower = t.numbers("lower");
    job.upper = t.numbers("upper");
    const toml::array& counts = t.array("counts");
    for (std::size_t i = 0; i < counts.size(); ++i) {
      const std::int64_t c = t.integer(counts[i], "counts[" + std::to_string(i) + "]");
      if (c < 1) t.fail(counts[i].source(), "counts[" + std::to_string(i) + "]", "must be >= 1");
      job.counts.push_back(std::size_t(c));
    }
    if (job.lower.size() != job.counts.size() || job.upper.size() != job.counts.size()) {
      t.fail(t.node("counts")->source(), "counts",
             "lower, upper and counts must have the same length (" + std::to_string(job.lower.size()) + ", " +
                 std::to_string(job.upper.size()) + ", " + std::to_string(job.counts.size()) + ")");
    }
    for (std::size_t i = 0; i < job.counts.size(); ++i) {
      if (job.upper[i] < job.lower[i]) t.fail(t.node("upper")->source(), "upper", "must be >= lower on every axis");
    }
    job.grid = true;
    job.n = int(job.counts.size());
    double total = 1;
    for (std::size_t c : job.counts) total *= double(c);
    if (total > 9.007199254740992e15) t.fail(t.node("counts")->source(), "counts", "more than 2^53 points");
    job.total_points = 1;
    for (std::size_t c : job.counts) job.total_points *= c;
  } else if (kind == "file") {
    if (!t.has("file")) t.fail_missing("file", "kind = \"file\" needs file = \"points.csv\"");
    for (const char* key : {"lower", "upper", "counts"})
      if (t.has(key)) t.fail(t.node(key)->source(), key, "not used by kind = \"file\"");
    const std::string given = t.string("file");
    job.points_file = resolve_path(t.job(), given);
    if (!fs::is_regular_file(job.points_file)) {
      t.fail(t.node("file")->source(), "file", "no such file '" + job.points_file + "'");
    }
    auto reader = open_point_reader(job.points_file);
    job.n = reader->dimension();
    job.file_columns = reader->column_names();
    std::vector<double> part;
    while (reader->read(1 << 16, part) > 0) job.file_points.insert(job.file_points.end(), part.begin(), part.end());
    job.total_points = job.file_points.size() / std::size_t(job.n);
    if (job.total_points == 0) t.fail(t.node("file")->source(), "file", "'" + job.points_file + "' has no points");
    job.grid = false;
  } else {
    t.fail(t.node("kind")->source(), "kind", "expected \"grid\" or \"file\", found \"" + kind + "\"");
  }
}

void read_analysis(const TableReader& t, AnalysisOptions& o) {
  t.allow_only({"stencil", "step", "gtol", "eig_tol", "eig_rtol", "lr", "eigenvalues", "eigenvectors", "gradient",
                "hessian"});
  if (t.has("stencil")) {
    const std::string name = t.string("stencil");
    try {
      o.stencil = stencil_from_name(name);
    } catch (const InputError&) {
      t.fail(t.node("stencil")->source(), "stencil",
             "expected central, compact, richardson or hyperdual, found \"" + name + "\"");
    }
  }
  o.step_scale = t.has("step") ? t.nonnegative("step", true) : default_step_scale(o.stencil);
  if (t.has("gtol")) o.thresholds.gtol = t.nonnegative("gtol", false);
  if (t.has("eig_tol")) o.thresholds.eig_tol = t.nonnegative("eig_tol", false);
  if (t.has("eig_rtol")) o.thresholds.eig_rtol = t.nonnegative("eig_rtol", false);
  if (t.has("lr")) o.lr = t.nonnegative("lr", true);
  if (t.has("eigenvalues")) o.keep_eigenvalues = t.boolean("eigenvalues");
  if (t.has("eigenvectors")) o.eigenvectors = t.boolean("eigenvectors");
  if (t.has("gradient")) o.keep_gradient = t.boolean("gradient");
  if (t.has("hessian")) o.keep_hessian = t.boolean("hessian");
  o.keep_eigenvalues = o.keep_eigenvalues || o.eigenvectors;  // vectors are meaningless without values
}

// Flattens JSON objects to "a.b.c" -> value.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out[prefix] = j;
  }
}

}  // namespace

std::vector<std::string> JobSpec::coordinate_names() const {
  if (!variable_names.empty()) return variable_names;
  if (!file_columns.empty()) return file_columns;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("x" + std::to_string(i));
  return names;
}

void JobSpec::points(std::size_t first, std::size_t count, std::vector<double>& out) const {
  const auto dim = std::size_t(n);
  out.resize(count * dim);
  if (!grid) {
    std::copy(file_points.begin() + std::ptrdiff_t(first * dim), file_points.begin() + std::ptrdiff_t((first + count) * dim),
              out.begin());
    return;
  }
  for (std::size_t p = 0; p < count; ++p) {
    grid_point(lower.data(), upper.data(), counts.data(), dim, first + p, &out[p * dim]);
  }
}

nlohmann::json JobSpec::settings() const {
  nlohmann::json s;
  s["function"] = {{"name", function.label},
                   {"expression", function.expression},
                   {"dimension", n},
                   {"vars", coordinate_names()},
                   {"params", parameters}};
  if (grid) {
    s["points"] = {{"kind", "grid"}, {"lower", lower}, {"upper", upper}, {"counts", counts}, {"total", total_points}};
  } else {
    s["points"] = {{"kind", "file"},
                   {"file", points_file},
                   {"total", total_points},
                   {"fnv1a64", fingerprint(file_points)}};
  }
  s["analysis"] = {{"stencil", stencil_name(options.stencil)},
                   {"step", options.step_scale},
                   {"gtol", options.thresholds.gtol},
                   {"eig_tol", options.thresholds.eig_tol},
                   {"eig_rtol", options.thresholds.eig_rtol},
                   {"lr", options.lr > 0 ? nlohmann::json(options.lr) : nlohmann::json(nullptr)},
                   {"eigenvalues", options.keep_eigenvalues},
                   {"eigenvectors", options.eigenvectors},
                   {"gradient", options.keep_gradient},
                   {"hessian", options.keep_hessian}};
  s["output"] = {{"path", output_path}, {"chunk", chunk_points}};
  s["run"] = {{"backend", backend}};
  return s;
}

JobSpec read_job(const std::string& job_path) {
  if (!fs::is_regular_file(job_path)) throw InputError(job_path, 0, 0, "no such job file");
  toml::table root;
  try {
    root = toml::parse_file(job_path);
  } catch (const toml::parse_error& e) {
    throw InputError(job_path, int(e.source().begin.line), int(e.source().begin.column),
                     std::string(e.description()));
  }
  JobSpec job;
  job.job_path = job_path;
  const TableReader top(job_path, root, "");
  top.allow_only({"function", "points", "analysis", "output", "run"});
  if (!top.has("function")) top.fail_missing("function", "a [function] table with expression or catalogue");
  const TableReader function(job_path, top.table("function"), "function");
  read_function(function, job);
  job.function_line = int(top.table("function").source().begin.line);
  if (!top.has("points")) top.fail_missing("points", "a [points] table");
  const TableReader points(job_path, top.table("points"), "points");
  read_points(points, job);
  if (!job.variable_names.empty() && int(job.variable_names.size()) != job.n) {
    function.fail(function.node("vars")->source(), "vars",
                  "names " + std::to_string(job.variable_names.size()) + " variables but the points have " +
                      std::to_string(job.n) + " coordinates");
  }
  check_function_dimension(job.function, job.n, job_path, job.function_line,
                           "the points have " + std::to_string(job.n) + " coordinates");

  if (top.has("analysis")) read_analysis(TableReader(job_path, top.table("analysis"), "analysis"), job.options);
  else job.options.step_scale = default_step_scale(job.options.stencil);

  if (!top.has("output")) top.fail_missing("output", "an [output] table with path");
  const TableReader output(job_path, top.table("output"), "output");
  output.allow_only({"path", "chunk"});
  if (!output.has("path")) output.fail_missing("path", "the HDF5 result file, e.g. \"out/scan.h5\"");
  job.output_path = resolve_path(job_path, output.string("path"));
  if (output.has("chunk")) {
    const std::int64_t c = output.integer(*output.node("chunk"), "chunk");
    if (c < 1) output.fail(output.node("chunk")->source(), "chunk", "must be >= 1");
    job.chunk_points = std::size_t(c);
  }
  if (top.has("run")) {
    const TableReader run(job_path, top.table("run"), "run");
    run.allow_only({"backend"});
    if (run.has("backend")) {
      job.backend = run.string("backend");
      if (job.backend != "auto" && job.backend != "cpu" && job.backend != "cuda") {
        run.fail(run.node("backend")->source(), "backend", "expected auto, cpu or cuda, found \"" + job.backend + "\"");
      }
    }
  }
  return job;
}

std::vector<std::string> result_setting_differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::map<std::string, nlohmann::json> fa, fb;
  for (const char* key : {"function", "points", "analysis"}) {
    flatten(a.value(key, nlohmann::json::object()), key, fa);
    flatten(b.value(key, nlohmann::json::object()), key, fb);
  }
  const auto chunk = [](const nlohmann::json& s) {
    return s.contains("output") ? s["output"].value("chunk", nlohmann::json()) : nlohmann::json();
  };
  fa["output.chunk"] = chunk(a);
  fb["output.chunk"] = chunk(b);
  // The points file may move; its content (points.fnv1a64) is what must match.
  fa.erase("points.file");
  fb.erase("points.file");
  std::set<std::string> keys;
  for (const auto& [k, v] : fa) keys.insert(k);
  for (const auto& [k, v] : fb) keys.insert(k);
  std::vector<std::string> differing;
  for (const std::string& k : keys) {
    const auto ia = fa.find(k), ib = fb.find(k);
    if (ia == fa.end() || ib == fb.end() || ia->second != ib->second) differing.push_back(k);
  }
  return differing;
}

}  // namespace hessa::cli
