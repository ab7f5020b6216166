// `hessa bench` (see bench_run.hpp): the case matrix, the adaptive chunk loop with the backend's stage timer, the
// write stage through the real .npy writer, and the machine line.
#include "bench/bench_run.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include "engine/backend_choice.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/detail/stencil.hpp"
#include "hessa/errors.hpp"
#include "hessa/expression.hpp"
#include "hessa/io.hpp"
#include "hessa/objective.hpp"
#include "jobs/job_file.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;

std::string machine_line() {
  std::string cpu = "unknown CPU";
  std::ifstream info("/proc/cpuinfo");
  for (std::string line; std::getline(info, line);) {
    if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  double memory_gib = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    if (key == "MemTotal:") {
      double kib = 0;
      meminfo >> kib;
      memory_gib = kib / (1024.0 * 1024.0);
      break;
    }
    meminfo.ignore(1 << 10, '\n');
  }
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.0f GiB", memory_gib);
  return cpu + ", " + std::to_string(std::thread::hardware_concurrency()) + " hardware threads, " + memory;
}

// A scratch folder for the write stage, removed with everything in it.
class ScratchFolder {
 public:
  ScratchFolder() {
    std::string pattern = (fs::temp_directory_path() / "hessa-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw InputError(pattern, 0, 0, "cannot create a scratch folder");
    path_ = pattern;
  }
  ~ScratchFolder() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const fs::path& path() const { return path_; }
  double bytes() const {
    double total = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(path_, ec)) total += double(e.file_size(ec));
    return total;
  }

 private:
  fs::path path_;
};

using PointMaker = std::function<void(std::size_t count, std::vector<double>& points)>;

// One case: chunks of growing size (1, 2, 4, ... up to the backend's capacity, while a chunk takes less than an
// eighth of the case's time) until `seconds` are spent.
BenchCase run_case(Backend& backend, const Objective& f, const AnalysisOptions& options, double seconds,
                   const PointMaker& make_points) {
  const int n = f.dimension();
  BenchCase c;
  c.n = n;
  c.stencil = options.stencil;
  c.evaluations_per_point = double(detail::stencil_size(options.stencil, n));
  OutputLayout layout;
  layout.n = n;
  layout.gradient = options.keep_gradient;
  layout.hessian = options.keep_hessian;
  layout.eigenvalues = options.keep_eigenvalues;
  layout.eigenvectors = options.eigenvectors;
  ScratchFolder scratch;
  {
    auto writer = open_result_writer((scratch.path() / "bench.npy").string(), layout);
    const std::size_t capacity = std::max<std::size_t>(1, backend.chunk_capacity(n, options));
    std::size_t chunk = 1;
    std::vector<double> points;
    ChunkResult result;
    backend.time_stages(&c.stages);
    try {
      while (c.seconds() < seconds || c.chunks == 0) {
        make_points(chunk, points);
        const double before = c.seconds();
        backend.analyze(f, options, points.data(), chunk, result);
        const auto start = std::chrono::steady_clock::now();
        writer->write(points.data(), result);
        c.write_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        c.points += chunk;
        ++c.chunks;
        c.chunk_points = std::max(c.chunk_points, chunk);
        if (c.seconds() - before < seconds / 8 && chunk < capacity) chunk = std::min(capacity, 2 * chunk);
      }
    } catch (...) {
      backend.time_stages(nullptr);
      throw;
    }
    backend.time_stages(nullptr);
    c.bytes_out = scratch.bytes();  // (the writer's temporary; removed unfinished when the writer goes)
  }
  c.bytes_in = double(c.points) * n * sizeof(double);
  return c;
}

std::vector<StencilKind> stencils_of(const BenchRequest& request) {
  std::vector<StencilKind> kinds;
  if (request.stencils.empty()) {
    return {StencilKind::Exact,   StencilKind::Gradient,   StencilKind::Central,
            StencilKind::Compact, StencilKind::Richardson, StencilKind::HyperDual};
  }
  for (const std::string& name : request.stencils) kinds.push_back(stencil_from_name(name));  // InputError if unknown
  return kinds;
}

}  // namespace

double BenchCase::seconds() const {
  double total = write_seconds;
  for (double s : stages.seconds) total += s;
  return total;
}

double BenchCase::points_per_second() const { return seconds() > 0 ? double(points) / seconds() : 0; }

BenchReport run_bench(const BenchRequest& request, const NoticeSink& notice) {
  if (request.threads > 0) omp_set_num_threads(request.threads);
  std::vector<int> dimensions = request.dimensions;
  if (dimensions.empty()) dimensions = request.quick ? std::vector<int>{2, 8, 32} : std::vector<int>{2, 8, 32, 128};
  for (int n : dimensions)
    if (n < 1 || n > 4096) throw InputError("--n " + std::to_string(n) + ": expected 1 <= n <= 4096");
  const std::vector<StencilKind> stencils = stencils_of(request);
  const double seconds = request.seconds_per_case > 0 ? request.seconds_per_case : request.quick ? 0.05 : 0.5;
  const CatalogueEntry* entry = find_catalogue_entry(request.function);
  if (entry == nullptr) throw InputError("--function " + request.function + ": not a catalogue function");

  BenchReport report;
  auto backend = choose_backend(request.backend, notice);
  report.machine = machine_line();
  report.backend = backend->name();
  report.peak_memory_bandwidth = backend->peak_memory_bandwidth();
  report.quick = request.quick;

  std::mt19937_64 random(12345);
  for (int n : dimensions) {
    if (!entry->accepts_dimension(n)) {
      report.skipped.push_back(request.function + " n = " + std::to_string(n) + ": not defined in that dimension");
      continue;
    }
    ExpressionOptions eo;
    eo.dimension = n;
    const CompiledFunction f = compile_expression(entry->expression, eo);
    Objective objective;
    objective.expression = &f;
    for (StencilKind kind : stencils) {
      if (detail::uses_gradients(kind) && !f.has_tape()) {
        report.skipped.push_back(request.function + " " + stencil_name(kind) + ": " + f.why_no_tape());
        continue;
      }
      AnalysisOptions options;
      options.stencil = kind;
      options.step_scale = default_step_scale(kind);
      std::uniform_real_distribution<double> coordinate(-2.0, 2.0);
      BenchCase c = run_case(*backend, objective, options, seconds, [&](std::size_t count, std::vector<double>& x) {
        x.resize(count * std::size_t(n));
        for (double& v : x) v = coordinate(random);
      });
      c.function = request.function;
      report.cases.push_back(c);
    }
  }

  if (request.model) {
    const std::string job_path =
        request.model_job.empty() ? std::string(HESSA_EXAMPLES_DIR) + "/mlp_moons_line.toml" : request.model_job;
    std::error_code ec;
    if (request.model_job.empty() && !fs::exists(job_path, ec)) {
      report.skipped.push_back("model: the bundled example " + job_path + " is not here (--model JOB names one)");
    } else {
      const jobs::JobSpec job = jobs::read_job(job_path);
      if (!job.model || job.model_parameters.empty()) {
        throw InputError(job_path, 0, 0, "hessa bench --model needs a job whose [function] is a model with parameters");
      }
      Objective objective;
      objective.model = &job.mlp;
      AnalysisOptions options = job.options;
      options.keep_gradient = options.keep_hessian = false;
      // Exact Hessians by backpropagation (what a job's stencil = "auto" means for a model), whatever the job says.
      options.stencil = StencilKind::Exact;
      options.step_scale = default_step_scale(options.stencil);
      const std::size_t P = job.model_parameters.size();
      std::uniform_real_distribution<double> jitter(-0.05, 0.05);
      BenchCase c = run_case(*backend, objective, options, seconds * 4, [&](std::size_t count, std::vector<double>& x) {
        x.resize(count * P);
        for (std::size_t p = 0; p < count; ++p)
          for (std::size_t i = 0; i < P; ++i) x[p * P + i] = job.model_parameters[i] + jitter(random);
      });
      c.function = job.function.label;
      report.cases.push_back(c);
    }
  }
  return report;
}

nlohmann::json bench_json(const BenchReport& report) {
  nlohmann::json j;
  j["machine"] = report.machine;
  j["backend"] = report.backend;
  j["peak_memory_bandwidth"] =
      report.peak_memory_bandwidth > 0 ? nlohmann::json(report.peak_memory_bandwidth) : nlohmann::json(nullptr);
  j["quick"] = report.quick;
  j["bytes_rule"] = "bytes = the points read (n doubles a point) + the result rows written (.npy)";
  nlohmann::json cases = nlohmann::json::array();
  for (const BenchCase& c : report.cases) {
    nlohmann::json stages;
    for (int s = 0; s < kStageCount; ++s) stages[kStageNames[s]] = c.stages.seconds[s];
    stages["write"] = c.write_seconds;
    const double pipeline = c.seconds() - c.write_seconds;
    nlohmann::json one = {{"function", c.function},
                          {"n", c.n},
                          {"stencil", stencil_name(c.stencil)},
                          {"points", c.points},
                          {"chunks", c.chunks},
                          {"largest_chunk", c.chunk_points},
                          {"seconds", c.seconds()},
                          {"points_per_second", c.points_per_second()},
                          {"evaluations_per_second",
                           c.stages.seconds[int(Stage::Stencil)] > 0
                               ? double(c.points) * c.evaluations_per_point / c.stages.seconds[int(Stage::Stencil)]
                               : 0.0},
                          {"bytes", c.bytes_in + c.bytes_out},
                          {"stages_seconds", stages}};
    if (report.peak_memory_bandwidth > 0 && pipeline > 0)
      one["roofline_fraction"] = (c.bytes_in + c.bytes_out) / pipeline / report.peak_memory_bandwidth;
    cases.push_back(one);
  }
  j["cases"] = cases;
  j["skipped"] = report.skipped;
  return j;
}

}  // namespace hessa
