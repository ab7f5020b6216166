// The critical run: starting points from a grid over a box or a file, the batched search, the stationary points
// analyzed as `hessa analyze` would, and the result file with its metadata (what `hessa critical` runs).
#include "engine/critical_run.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "engine/backend_choice.hpp"
#include "engine/function_spec.hpp"
#include "engine/metadata.hpp"
#include "engine/stencil_choice.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"

namespace hessa {
namespace {

// A finite number filling all of `text`, or nullopt.
std::optional<double> parse_number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

// "-5:5,-2:2" -> lower {-5, -2}, upper {5, 2}.
SearchBox parse_box(const std::string& text) {
  SearchBox box;
  const std::vector<std::string> ranges = split_names(text);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    const std::string& range = ranges[i];
    const auto colon = range.find(':', 1);  // from 1: the lower bound may start with '-'
    const auto lo = colon == std::string::npos ? std::nullopt : parse_number(range.substr(0, colon));
    const auto hi = colon == std::string::npos ? std::nullopt : parse_number(range.substr(colon + 1));
    if (!lo || !hi)
      throw InputError("--box " + text + ": coordinate " + std::to_string(i + 1) + " is '" + range +
                       "', expected LOW:HIGH (two numbers), e.g. --box -5:5,-5:5");
    if (!(*lo < *hi))
      throw InputError("--box " + text + ": coordinate " + std::to_string(i + 1) + " has LOW >= HIGH ('" + range +
                       "')");
    box.lower.push_back(*lo);
    box.upper.push_back(*hi);
  }
  return box;
}

// "64x64" -> {64, 64}; as many counts as the box has coordinates.
std::vector<int> parse_grid(const std::string& text, int n) {
  std::vector<int> counts;
  std::stringstream in(text);
  std::string item;
  double total = 1.0;
  while (std::getline(in, item, 'x')) {
    char* end = nullptr;
    const long count = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || count < 1 || count > 1000000)
      throw InputError("--grid " + text + ": '" + item +
                       "' is not a positive whole number; expected e.g. --grid 64x64");
    counts.push_back(int(count));
    total *= double(count);
  }
  if (int(counts.size()) != n)
    throw InputError("--grid " + text + ": " + std::to_string(counts.size()) + " counts for a box of " +
                     std::to_string(n) + " coordinates; give one count per coordinate, e.g. --grid 64x64");
  if (total > 1e8) throw InputError("--grid " + text + ": more than 10^8 starting points");
  return counts;
}

std::vector<double> read_all_points(PointReader& reader) {
  std::vector<double> all, chunk;
  while (reader.read(std::size_t(1) << 16, chunk) > 0) all.insert(all.end(), chunk.begin(), chunk.end());
  return all;
}

// Without --box the starts' bounding box sets the scale (a flat side gets a width of max(1, |x|)), and iterates
// may leave it: the user gave starts, not a region.
SearchBox bounding_box(const std::vector<double>& points, int n) {
  SearchBox box{std::vector<double>(std::size_t(n), INFINITY), std::vector<double>(std::size_t(n), -INFINITY)};
  for (std::size_t p = 0; p < points.size() / std::size_t(n); ++p) {
    for (std::size_t i = 0; i < std::size_t(n); ++i) {
      box.lower[i] = std::min(box.lower[i], points[p * std::size_t(n) + i]);
      box.upper[i] = std::max(box.upper[i], points[p * std::size_t(n) + i]);
    }
  }
  for (std::size_t i = 0; i < std::size_t(n); ++i) {
    if (box.upper[i] > box.lower[i]) continue;
    const double half = 0.5 * std::max(1.0, std::fabs(box.lower[i]));
    box.lower[i] -= half;
    box.upper[i] += half;
  }
  return box;
}

// The starting points and the box, from --box/--grid or --points (with an optional --box that confines them).
struct Starts {
  std::vector<double> points;
  SearchBox box;
  bool confined = true;
  int n = 0;
  std::vector<std::string> header;  // the points file's column names, if any
  std::string source;               // where dimension errors point: the points file or --box
  bool from_file = false;
};

Starts make_starts(const CriticalRunRequest& args) {
  Starts s;
  const bool given = !args.points.empty() || args.point_source != nullptr;
  if (given && !args.grid.empty())
    throw InputError("--points and --grid both give starting points: use one (--box may go with either)");
  if (!given && (args.box.empty() || args.grid.empty()))
    throw InputError("starting points needed: --box LOW:HIGH,... with --grid N1xN2..., or --points FILE");
  if (!args.box.empty()) s.box = parse_box(args.box);
  if (!given) {
    s.n = s.box.dimension();
    s.points = grid_points(s.box, parse_grid(args.grid, s.n));
    s.source = "--box";
    return s;
  }
  std::unique_ptr<PointReader> file_reader;
  if (args.point_source == nullptr) file_reader = open_point_reader(args.points);
  PointReader& reader = args.point_source != nullptr ? *args.point_source : *file_reader;
  s.n = reader.dimension();
  s.header = reader.column_names();
  s.points = read_all_points(reader);
  s.source = args.points;
  s.from_file = true;
  if (s.points.empty()) throw InputError(args.points, 0, 0, "no starting points in the file");
  if (args.box.empty()) {
    s.box = bounding_box(s.points, s.n);
    s.confined = false;
  } else if (s.box.dimension() != s.n) {
    throw InputError("--box has " + std::to_string(s.box.dimension()) + " coordinates but the points in " +
                     args.points + " have " + std::to_string(s.n));
  }
  return s;
}

struct NamedFunction {
  ResolvedFunction fn;
  ExpressionOptions options;
  std::vector<std::string> coordinate_names;
  CompiledFunction f;
  const BatchFunction* batch = nullptr;  // the caller's function instead of f

  Objective objective() const {
    Objective o;
    if (batch != nullptr) {
      o.batch = batch;
    } else {
      o.expression = &f;
    }
    return o;
  }
};

// As in `hessa analyze`: --vars, else the CSV header (also the variables of a user's expression), else x0, x1, ...
NamedFunction compile_function(const CriticalRunRequest& args, const Starts& starts) {
  NamedFunction r;
  const int line = starts.from_file ? 1 : 0;
  if (args.batch != nullptr) {
    r.fn.label = args.function;
    r.batch = args.batch;
    if (args.batch->dimension() != starts.n) {
      throw InputError(starts.source, line, 0,
                       (starts.from_file ? "the starts have " : "the box has ") + std::to_string(starts.n) +
                           " coordinates but the function takes " + std::to_string(args.batch->dimension()));
    }
    r.coordinate_names = name_coordinates(args.vars, starts.header, starts.n, false, starts.source, line,
                                          "there are " + std::to_string(starts.n) + " coordinates")
                             .coordinates;
    return r;
  }
  r.fn = resolve_function(args.function);
  check_function_dimension(r.fn, starts.n, starts.source, line,
                           starts.from_file ? "" : "the box has " + std::to_string(starts.n));
  r.options.dimension = starts.n;
  r.options.parameters = parse_params(args.params);
  r.options.source_name = r.fn.source_name;
  const CoordinateNames names =
      name_coordinates(args.vars, starts.header, starts.n, r.fn.user_expression, starts.source, line,
                       "there are " + std::to_string(starts.n) + " coordinates");
  r.options.variable_names = names.variables;
  r.coordinate_names = names.coordinates;
  r.f = compile_expression(r.fn.expression, r.options);
  return r;
}

CriticalSearchOptions search_options(const CriticalRunRequest& args, const Starts& starts, StencilKind stencil) {
  CriticalSearchOptions o;
  o.box = starts.box;
  o.confine_to_box = starts.confined;
  o.stencil = stencil;
  // Central/compact: the gradient-optimal step (see kCriticalSearchStepScale); richardson and hyperdual gradients
  // are already accurate at their own default step.
  o.step_scale = stencil == StencilKind::Central || stencil == StencilKind::Compact ? kCriticalSearchStepScale
                                                                                    : default_step_scale(stencil);
  o.max_iterations = args.max_iter;
  return o;
}

nlohmann::json metadata(const CriticalRunRequest& args, const NamedFunction& nf, const CriticalSearchOptions& o,
                        const AnalysisOptions& analysis, const CriticalSearchResult& r, const Backend& backend) {
  nlohmann::json meta;
  meta["hessa_version"] = HESSA_VERSION;
  meta["created_utc"] = utc_now();
  meta["command"] = "critical";
  meta["function"] = {{"name", nf.fn.label},
                      {"expression", nf.batch != nullptr ? nlohmann::json(nullptr) : nlohmann::json(nf.fn.expression)},
                      {"dimension", r.n},
                      {"variables", nf.coordinate_names},
                      {"parameters", nf.options.parameters}};
  if (nf.batch != nullptr) meta["function"]["kind"] = "the caller's vectorized function";
  meta["starts"] = args.points.empty() ? nlohmann::json{{"grid", args.grid}, {"box", args.box}}
                                       : nlohmann::json{{"points_file", args.points}, {"box", args.box}};
  meta["box"] = {{"lower", o.box.lower}, {"upper", o.box.upper}, {"confined", o.confine_to_box}};
  meta["search"] = {
      {"method", "Levenberg-Marquardt on grad f = 0, J = H: delta = -V diag(lambda/(lambda^2+mu)) V' g"},
      {"stencil", stencil_name(o.stencil)},
      {"relative_step", o.step_scale},
      {"max_iterations", o.max_iterations},
      {"gradient_tolerance", r.gradient_tolerance},
      {"gradient_rtol", o.gradient_rtol},
      {"step_rtol", o.step_rtol},
      {"noise_floor_rtol", o.noise_floor_rtol},
      {"trust_radius_rtol", o.trust_radius_rtol},
      {"dedup_rtol", o.dedup_rtol},
      {"dedup_fd_steps", o.dedup_fd_steps},
      {"dedup_distance", r.dedup_distance},
      {"rule",
       "converged when ||g|| <= gradient_rtol * median ||g(start)||, or the Newton step ||H^+ g|| <= "
       "step_rtol * box diagonal, or a step is rejected with ||H^+ g|| <= noise_floor_rtol * box diagonal; "
       "points within dedup_distance = max(dedup_rtol * box diagonal, dedup_fd_steps * largest FD step) "
       "are one"}};
  meta["analysis"] = {{"stencil", stencil_name(analysis.stencil)},
                      {"relative_step", analysis.step_scale},
                      {"gtol", analysis.thresholds.gtol},
                      {"eig_tol", analysis.thresholds.eig_tol},
                      {"eig_rtol", analysis.thresholds.eig_rtol}};
  meta["backend"] = backend.name();
  meta["summary"] = {
      {"starts", r.starts}, {"converged", r.converged}, {"left_box", r.left_box}, {"not_converged", r.not_converged},
      {"failed", r.failed}, {"unique", r.count()},      {"rounds", r.rounds},     {"seconds", r.seconds}};
  return meta;
}

}  // namespace

CriticalRunOutcome run_critical(const CriticalRunRequest& args, const NoticeSink& notice) {
  if (args.threads > 0) omp_set_num_threads(args.threads);
  const Starts starts = make_starts(args);
  const NamedFunction nf = compile_function(args, starts);

  OutputLayout layout;
  layout.n = starts.n;
  layout.coordinate_names = nf.coordinate_names;
  layout.extra_columns = {"basin_count"};
  layout.columns = args.columns;
  // A file fails now, before any work, if unwritable.
  auto writer = args.open_writer ? args.open_writer(layout) : open_result_writer(args.out, layout);

  // A caller's function runs on the CPU (its values are computed on the host): auto picks it.
  auto backend = choose_backend(args.batch != nullptr && args.backend == "auto" ? "cpu" : args.backend, notice);
  const Objective objective = nf.objective();
  const StencilKind stencil = choose_stencil(args.stencil, objective, backend->kind()).kind;
  if (args.batch != nullptr) check_batch_function(*args.batch, stencil, backend->kind());
  const CriticalSearchOptions options = search_options(args, starts, stencil);
  CriticalSearchResult found = find_critical_points(objective, *backend, options, starts.points);

  // The stationary points themselves, analyzed as `hessa analyze` would (its default step and thresholds).
  AnalysisOptions analysis;
  analysis.stencil = stencil;
  analysis.step_scale = default_step_scale(stencil);
  ChunkResult analyzed;
  analyzed.resize(0, starts.n, analysis);
  if (found.count() > 0) backend->analyze(objective, analysis, found.points.data(), found.count(), analyzed);
  analyzed.extra_columns = {std::vector<double>(found.basin_count.begin(), found.basin_count.end())};
  writer->write(found.points.data(), analyzed);
  writer->finish(dump_json(metadata(args, nf, options, analysis, found, *backend), 2));

  CriticalRunOutcome outcome;
  outcome.function_label = nf.fn.label;
  outcome.backend_name = backend->name();
  outcome.found = found;
  outcome.analyzed = std::move(analyzed);
  return outcome;
}

}  // namespace hessa
