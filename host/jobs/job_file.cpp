// TOML job files: parsed with toml++, checked table by table against the schema, defaults resolved.
#include "jobs/job_file.hpp"
#include "jobs/job_table.hpp"

#include "hessa/grid.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/memory_budget.hpp"
#include "io/output_file.hpp"

namespace hessa::jobs {
namespace {

namespace fs = std::filesystem;

void read_function(const TableReader& t, JobSpec& job, const CallerFunction* caller) {
  if (t.has("model")) {
    read_model_function(t, job);
    return;
  }
  if (t.has("python")) {
    if (caller == nullptr) {
      t.fail(t.node("python")->source(), "python",
             "names a Python function: run this job from Python, hessa.run(job, function=f)");
    }
    t.allow_only({"python", "vars"});
    job.caller_function = true;
    const std::string label = t.string("python");
    job.function = {"python:" + label, "", t.job() + " function.python", 0, 1, false};
    if (t.has("vars")) job.variable_names = t.strings("vars");
    return;
  }
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
    const std::string spec =
        name.rfind("quadratic:", 0) == 0 ? "quadratic:" + resolve_path(t.job(), name.substr(10)) : name;
    if (spec.rfind("quadratic:", 0) != 0 && find_catalogue_entry(spec) == nullptr) {
      t.fail(t.node("catalogue")->source(), "catalogue",
             "unknown function '" + name + "' (see 'hessa functions'; or quadratic:FILE)");
    }
    job.function = resolve_function(spec);
  }
  if (t.has("vars")) job.variable_names = t.strings("vars");
  if (t.has("params")) {
    const TableReader params(t.job(), t.table("params"), t.key_path("params"));
    for (auto&& [key, node] : params.get())
      job.parameters[std::string(key.str())] = params.number(node, std::string(key.str()));
  }
}

void read_points(const TableReader& t, JobSpec& job) {
  if (!t.has("kind")) t.fail_missing("kind", "\"grid\", \"file\" or \"directions\"");
  const std::string kind = t.string("kind");
  if (kind == "directions") {
    t.allow_only({"kind", "lower", "upper", "counts", "centre", "directions", "seed", "hessian"});
  } else {
    t.allow_only({"kind", "lower", "upper", "counts", "file", "hessian"});
    if (t.has("hessian")) {  // the point's own space: formed by the stencil, or Lanczos over HVPs
      const std::string space = t.string("hessian");
      if (space != "full" && space != "lanczos") {
        t.fail(t.node("hessian")->source(), "hessian", "expected \"full\" or \"lanczos\", found \"" + space + "\"");
      }
      job.lanczos = space == "lanczos";
    }
  }
  if (kind == "grid" || kind == "directions") {
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
    if (kind == "directions") read_direction_scan(t, job);
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
    t.fail(t.node("kind")->source(), "kind", "expected \"grid\", \"file\" or \"directions\", found \"" + kind + "\"");
  }
}

void read_analysis(const TableReader& t, AnalysisOptions& o) {
  t.allow_only({"stencil", "step", "gtol", "eig_tol", "eig_rtol", "lr", "eigenvalues", "eigenvectors", "gradient",
                "hessian", "direction"});
  if (t.has("stencil")) {
    const std::string name = t.string("stencil");
    try {
      // auto: exact, which every model (backpropagation) and every expression whose trace fits a tape supports.
      o.stencil = name == "auto" ? StencilKind::Exact : stencil_from_name(name);
    } catch (const InputError&) {
      t.fail(t.node("stencil")->source(), "stencil",
             "expected auto, exact, gradient, central, compact, richardson or hyperdual, found \"" + name + "\"");
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

// An inline direction written as a TOML array of numbers, as the text "1,0,-1" a string would give (shortest
// round-trip digits, so it reads back to the same doubles); nullopt when the array holds anything else.
std::optional<std::string> inline_direction_text(const toml::node& node) {
  const toml::array* array = node.as_array();
  if (array == nullptr || array->empty()) return std::nullopt;
  std::string text;
  for (const toml::node& entry : *array) {
    const std::optional<double> v = entry.is_number() ? entry.value<double>() : std::nullopt;
    if (!v || !std::isfinite(*v)) return std::nullopt;  // (a direction's entries are finite)
    if (!text.empty()) text += ',';
    io::append_double(text, *v);
  }
  return text;
}

// [analysis] direction = "file.npy" | "1,0,..." | [1, 0, ...] | [ ...those... ]: files resolved against the job's
// directory, read (and checked) now, n = the function's own coordinates (a model's P, also in a direction scan).
void read_probe_directions(const TableReader& t, JobSpec& job) {
  const toml::node& node = *t.node("direction");
  std::vector<const toml::node*> items;
  const toml::array* array = node.as_array();
  if (array != nullptr && !inline_direction_text(node)) {
    for (const toml::node& item : *array) items.push_back(&item);
  } else {
    items.push_back(&node);  // one string, or one direction as an array of numbers
  }
  if (items.empty()) t.fail(node.source(), "direction", "expected a direction or a list of them, found []");
  std::vector<std::string> resolved;
  for (const toml::node* item : items) {
    std::optional<std::string> spec = item->value<std::string>();
    if (!spec) spec = inline_direction_text(*item);
    if (!spec) {
      t.fail(item->source(), "direction",
             "expected a direction: n numbers ([1, 0, -1] or \"1,0,-1\") or a .csv / .npy file of directions");
    }
    job.direction_specs.push_back(*spec);
    const bool numbers = !spec->empty() && spec->find_first_not_of("0123456789+-.eE, \t") == std::string::npos;
    if (numbers) {
      resolved.push_back(*spec);
      continue;
    }
    const std::string as_file = resolve_path(job.job_path, *spec);
    std::error_code ec;  // (a name too long for the file system is just not a file)
    if (!fs::is_regular_file(as_file, ec)) {
      t.fail(
          item->source(), "direction",
          "no such file: \"" + *spec + "\" (expected n comma-separated numbers or a .csv / .npy file of directions)");
    }
    resolved.push_back(as_file);
  }
  try {
    job.probe_directions = read_directions(resolved, job.function_n);
  } catch (const InputError& e) {
    t.fail(node.source(), "direction", e.message());
  }
}

// [lanczos]: k, steps, tol, trace_probes, seed (defaults: LanczosOptions').
void read_lanczos(const TableReader& t, LanczosOptions& o) {
  t.allow_only({"k", "steps", "tol", "trace_probes", "density_probes", "density_steps", "seed", "vectors"});
  const auto count = [&](const char* key, std::int64_t lo, std::int64_t hi) {
    const std::int64_t v = t.integer(*t.node(key), key);
    if (v < lo || v > hi) {
      t.fail(t.node(key)->source(), key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return v;
  };
  if (t.has("k")) o.k = int(count("k", 1, 1000));
  if (t.has("steps")) o.max_steps = int(count("steps", 1, 100000));
  if (t.has("trace_probes")) o.trace_probes = int(count("trace_probes", 0, 1000000));
  if (t.has("density_probes")) o.density_probes = int(count("density_probes", 0, 10000));
  if (t.has("density_steps")) o.density_steps = int(count("density_steps", 1, 100000));
  if (t.has("vectors")) o.ritz_vectors = t.boolean("vectors");
  if (t.has("seed")) o.seed = std::uint64_t(count("seed", 0, std::numeric_limits<std::int64_t>::max()));
  if (t.has("tol")) {
    o.tol = t.nonnegative("tol", true);
    if (!(o.tol < 1.0)) t.fail(t.node("tol")->source(), "tol", "must be in (0, 1)");
  }
}

// What Lanczos cannot give: the Hessian, all its eigenvalues or eigenvectors.
void check_lanczos_analysis(const TableReader& top, const JobSpec& job) {
  if (!top.has("analysis")) return;
  const TableReader analysis(job.job_path, top.table("analysis"), "analysis");
  for (const char* key : {"eigenvalues", "eigenvectors", "hessian"}) {
    if (analysis.has(key) && analysis.boolean(key)) {
      analysis.fail(analysis.node(key)->source(), key,
                    "not available with [points] hessian = \"lanczos\" (H is never formed; the extremes are in "
                    "/lanczos_lowest and /lanczos_highest)");
    }
  }
}

// Flattens JSON objects to "a.b.c" -> value.
void flatten(const nlohmann::json& j, const std::string& prefix, std::map<std::string, nlohmann::json>& out) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
  } else {
    out[prefix] = j;
  }
}

}  // namespace

std::vector<std::string> JobSpec::coordinate_names() const {
  if (directions_scan) {
    const std::vector<std::string> greek = {"alpha", "beta", "gamma"};
    std::vector<std::string> names;
    for (int a = 0; a < n; ++a) names.push_back(a < 3 ? greek[std::size_t(a)] : "a" + std::to_string(a));
    return names;
  }
  if (!variable_names.empty()) return variable_names;
  if (model && file_columns.empty()) {
    std::vector<std::string> names;
    for (int i = 0; i < n; ++i) names.push_back("p" + std::to_string(i));
    return names;
  }
  if (!file_columns.empty()) return file_columns;
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) names.push_back("x" + std::to_string(i));
  return names;
}

void JobSpec::points(std::size_t first, std::size_t count, std::vector<double>& out) const {
  const auto dim = std::size_t(n);
  out.resize(count * dim);
  if (!grid) {
    std::copy(file_points.begin() + std::ptrdiff_t(first * dim),
              file_points.begin() + std::ptrdiff_t((first + count) * dim), out.begin());
    return;
  }
  for (std::size_t p = 0; p < count; ++p) {
    grid_point(lower.data(), upper.data(), counts.data(), dim, first + p, &out[p * dim]);
  }
}

nlohmann::json JobSpec::settings() const {
  nlohmann::json s;
  if (model) {
    s["function"] = model_settings(*this);
  } else {
    s["function"] = {{"name", function.label},
                     {"expression", caller_function ? nlohmann::json(nullptr) : nlohmann::json(function.expression)},
                     {"dimension", function_n},
                     {"vars", directions_scan ? variable_names : coordinate_names()},
                     {"params", parameters}};
  }
  if (directions_scan) {
    s["points"] = direction_settings(*this);
  } else if (grid) {
    s["points"] = {{"kind", "grid"}, {"lower", lower}, {"upper", upper}, {"counts", counts}, {"total", total_points}};
  } else {
    s["points"] = {
        {"kind", "file"}, {"file", points_file}, {"total", total_points}, {"fnv1a64", fingerprint(file_points)}};
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
  if (probe_directions.count() > 0) {
    s["analysis"]["direction"] = {{"count", probe_directions.count()},
                                  {"specs", direction_specs},
                                  {"fnv1a64", fingerprint(probe_directions.values)}};
  }
  if (lanczos) {
    if (!directions_scan) s["points"]["hessian"] = "lanczos";
    const LanczosOptions& l = lanczos_options;
    s["analysis"].erase("stencil");  // (no stencil: exact Hessian-vector products)
    s["analysis"].erase("step");
    s["analysis"]["lanczos"] = {
        {"k", l.k},
        {"steps", l.max_steps},
        {"tol", l.tol},
        {"trace_probes", l.trace_probes},
        {"seed", l.seed},
        {"density_probes", l.density_probes},
        {"density_steps", l.density_probes > 0 ? nlohmann::json(l.density_steps) : nlohmann::json(nullptr)}};
    if (l.ritz_vectors) s["analysis"]["lanczos"]["vectors"] = true;
  }
  s["output"] = {{"path", output_path}, {"chunk", chunk_points}};
  if (!output_columns.empty()) s["output"]["columns"] = output_columns;
  s["run"] = {{"backend", backend}, {"threads", threads > 0 ? nlohmann::json(threads) : nlohmann::json("default")}};
  return s;
}

namespace {

// A JSON value as TOML: objects are tables, arrays arrays, integers integers, other numbers floats. `where` is its
// key path, for the message when a value has no TOML form (null).
toml::table json_table(const nlohmann::json& object, const std::string& where);
toml::array json_array(const nlohmann::json& array, const std::string& where);

// Calls put(node) with v as a TOML node.
template <class Put>
void put_json(const nlohmann::json& v, const std::string& where, const Put& put) {
  if (v.is_object()) {
    put(json_table(v, where));
  } else if (v.is_array()) {
    put(json_array(v, where));
  } else if (v.is_boolean()) {
    put(v.get<bool>());
  } else if (v.is_number_integer()) {
    put(v.get<std::int64_t>());
  } else if (v.is_number()) {
    put(v.get<double>());
  } else if (v.is_string()) {
    put(v.get<std::string>());
  } else {
    throw InputError(where + ": None (null) is not a job setting; leave the key out for its default");
  }
}

toml::table json_table(const nlohmann::json& object, const std::string& where) {
  toml::table table;
  for (const auto& [key, value] : object.items()) {
    put_json(value, where.empty() ? key : where + "." + key,
             [&, &k = key](auto&& node) { table.insert(k, std::forward<decltype(node)>(node)); });
  }
  return table;
}

toml::array json_array(const nlohmann::json& array, const std::string& where) {
  toml::array out;
  for (std::size_t i = 0; i < array.size(); ++i)
    put_json(array[i], where + "[" + std::to_string(i) + "]",
             [&](auto&& node) { out.push_back(std::forward<decltype(node)>(node)); });
  return out;
}

}  // namespace

std::string job_toml_from_json(const std::string& json_text) {
  nlohmann::json job;
  try {
    job = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(std::string("the job is not valid JSON: ") + e.what());
  }
  if (!job.is_object()) throw InputError("a job is a table of tables ([function], [points], ...)");
  const toml::table root = json_table(job, "");
  std::ostringstream text;
  text << root << '\n';
  return text.str();
}

JobSpec read_job(const std::string& job_path, const std::string* job_text, const CallerFunction* caller) {
  if (job_text == nullptr && !fs::is_regular_file(job_path)) throw InputError(job_path, 0, 0, "no such job file");
  toml::table root;
  try {
    root = job_text != nullptr ? toml::parse(*job_text, job_path) : toml::parse_file(job_path);
  } catch (const toml::parse_error& e) {
    throw InputError(job_path, int(e.source().begin.line), int(e.source().begin.column), std::string(e.description()));
  }
  JobSpec job;
  job.job_path = job_path;
  const TableReader top(job_path, root, "");
  top.allow_only({"function", "points", "analysis", "output", "run", "lanczos"});
  if (!top.has("function")) top.fail_missing("function", "a [function] table with expression or catalogue");
  const TableReader function(job_path, top.table("function"), "function");
  read_function(function, job, caller);
  job.function_line = int(top.table("function").source().begin.line);
  if (!top.has("points")) top.fail_missing("points", "a [points] table");
  const TableReader points(job_path, top.table("points"), "points");
  read_points(points, job);
  if (!job.directions_scan && job.model && job.n != job.function_n) {
    points.fail(points.node(job.grid ? "counts" : "file")->source(), job.grid ? "counts" : "file",
                "the points have " + std::to_string(job.n) + " coordinates, but the model has " +
                    std::to_string(job.function_n) + " parameters (one coordinate each)");
  }
  if (!job.directions_scan && !job.model) job.function_n = job.n;
  const std::string counted = job.directions_scan ? "the centre has " + std::to_string(job.function_n) + " coordinates"
                                                  : "the points have " + std::to_string(job.n) + " coordinates";
  if (!job.model && !job.variable_names.empty() && int(job.variable_names.size()) != job.function_n) {
    function.fail(function.node("vars")->source(), "vars",
                  "names " + std::to_string(job.variable_names.size()) + " variables but " + counted);
  }
  if (!job.model && !job.caller_function)
    check_function_dimension(job.function, job.function_n, job_path, job.function_line, counted);

  bool stencil_auto = true, step_given = false;
  if (top.has("analysis")) {
    const TableReader analysis(job_path, top.table("analysis"), "analysis");
    read_analysis(analysis, job.options);
    if (analysis.has("direction")) read_probe_directions(analysis, job);
    stencil_auto = !analysis.has("stencil") || analysis.string("stencil") == "auto";
    step_given = analysis.has("step");
  } else {
    job.options.step_scale = default_step_scale(job.options.stencil);
  }
  if (job.caller_function && stencil_auto) {
    // A caller's function has values (and maybe gradients) only: no tape for the exact stencil.
    job.options.stencil = caller->has_gradient ? StencilKind::Gradient : StencilKind::Central;
    if (!step_given) job.options.step_scale = default_step_scale(job.options.stencil);
  }

  if (top.has("lanczos")) {
    const TableReader lanczos(job_path, top.table("lanczos"), "lanczos");
    if (!job.lanczos) {
      top.fail(top.node("lanczos")->source(), "lanczos", "needs [points] hessian = \"lanczos\"");
    }
    read_lanczos(lanczos, job.lanczos_options);
  }
  if (job.lanczos) check_lanczos_analysis(top, job);

  if (!top.has("output")) top.fail_missing("output", "an [output] table with path");
  const TableReader output(job_path, top.table("output"), "output");
  output.allow_only({"path", "chunk", "columns"});
  if (!output.has("path")) output.fail_missing("path", "the HDF5 result file, e.g. \"out/scan.h5\"");
  job.output_path = resolve_path(job_path, output.string("path"));
  if (job.lanczos) {
    // A point costs tens to hundreds of Hessian-vector products (~ a gradient each): a few points a chunk.
    job.chunk_points = std::min<std::size_t>(job.chunk_points, 8);
  } else if (job.model) {
    // A model's point costs E loss evaluations (2 P^2 + 1 for a full Hessian), or E sweeps of n + 2 values for the
    // gradient kinds: about 2^20 stencil values per chunk by default, so that a chunk - the unit of progress,
    // resume and sharding - takes seconds, not hours, and its stencil values stay near 8 MiB.
    const int analysis_n = job.analysis_n();
    const auto per_point = std::size_t(detail::stencil_size(job.options.stencil, analysis_n)) *
                           std::size_t(detail::values_per_evaluation(job.options.stencil, analysis_n));
    job.chunk_points = std::clamp<std::size_t>((std::size_t(1) << 20) / per_point, 1, job.chunk_points);
  }
  if (output.has("chunk")) {
    const std::int64_t c = output.integer(*output.node("chunk"), "chunk");
    if (c < 1) output.fail(output.node("chunk")->source(), "chunk", "must be >= 1");
    job.chunk_points = std::size_t(c);
  }
  if (output.has("columns")) read_output_columns(output, job);
  if (top.has("run")) {
    const TableReader run(job_path, top.table("run"), "run");
    run.allow_only({"backend", "threads", "memory"});
    if (run.has("memory")) {
      job.memory = run.string("memory");
      try {
        (void)parse_memory_size(job.memory, "memory");
      } catch (const InputError& e) {
        run.fail(run.node("memory")->source(), "memory", e.message());
      }
    }
    if (run.has("threads")) {
      const std::int64_t t = run.integer(*run.node("threads"), "threads");
      if (t < 1 || t > 4096) run.fail(run.node("threads")->source(), "threads", "must be between 1 and 4096");
      job.threads = int(t);
    }
    if (run.has("backend")) {
      job.backend = run.string("backend");
      if (job.backend != "auto" && job.backend != "cpu" && job.backend != "cuda") {
        run.fail(run.node("backend")->source(), "backend", "expected auto, cpu or cuda, found \"" + job.backend + "\"");
      }
    }
  }
  return job;
}

void read_output_columns(const TableReader& output, JobSpec& job) {
  const std::vector<std::string> wanted = output.strings("columns");
  const std::vector<std::string> fields = analysis_field_names();
  const auto fail = [&](const std::string& why) { output.fail(output.node("columns")->source(), "columns", why); };
  if (wanted.empty()) fail("names no column; leave it out to store every field");
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (std::find(fields.begin(), fields.end(), wanted[i]) == fields.end()) {
      fail("'" + wanted[i] +
           "' is not a field the store can leave out: it always keeps points, done and checksum, and gradient, "
           "hessian, eigenvalues and eigenvectors as [analysis] says; columns chooses among " +
           join_names(fields));
    }
    if (std::find(wanted.begin(), wanted.begin() + std::ptrdiff_t(i), wanted[i]) != wanted.begin() + std::ptrdiff_t(i))
      fail("'" + wanted[i] + "' is named twice");
  }
  // Stored in the fields' own order (the store's layout), whatever the order given.
  for (const std::string& f : fields)
    if (std::find(wanted.begin(), wanted.end(), f) != wanted.end()) job.output_columns.push_back(f);
}

std::vector<std::string> result_setting_differences(const nlohmann::json& a, const nlohmann::json& b) {
  std::map<std::string, nlohmann::json> fa, fb;
  for (const char* key : {"function", "points", "analysis"}) {
    flatten(a.value(key, nlohmann::json::object()), key, fa);
    flatten(b.value(key, nlohmann::json::object()), key, fb);
  }
  const auto output = [](const nlohmann::json& s, const char* key) {
    return s.contains("output") ? s["output"].value(key, nlohmann::json()) : nlohmann::json();
  };
  for (const char* key : {"chunk", "columns"}) {
    fa[std::string("output.") + key] = output(a, key);
    fb[std::string("output.") + key] = output(b, key);
  }
  // Files may move; their content (the *_fnv1a64 fingerprints) is what must match.
  const auto is_path = [](const std::string& key) {
    return key == "points.file" || key == "analysis.direction.specs" ||
           (key.size() > 5 && key.compare(key.size() - 5, 5, "_file") == 0);
  };
  for (auto* m : {&fa, &fb}) {
    for (auto it = m->begin(); it != m->end();) it = is_path(it->first) ? m->erase(it) : std::next(it);
  }
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

}  // namespace hessa::jobs
