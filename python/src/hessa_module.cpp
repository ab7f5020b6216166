// hessa's Python extension (_hessa): bindings and conversions only. Every function fills an engine request
// (host/engine/, host/jobs/) from its arguments, runs it with the GIL released and SIGINT turned into a stop at the
// next chunk boundary, and hands the results back as the .npz layout's arrays (bytes + numpy type + shape, no
// copy). The public API, its defaults and docstrings are in python/hessa/__init__.py.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_run.hpp"
#include "engine/analyze_file.hpp"
#include "engine/critical_run.hpp"
#include "engine/jacobian_run.hpp"
#include "engine/metadata.hpp"
#include "engine/stencil_choice.hpp"
#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/errors.hpp"
#include "hessa/io.hpp"
#include "hessa/jacobian.hpp"
#include "hessa/stop_signals.hpp"
#include "jobs/job_file.hpp"
#include "jobs/job_runner.hpp"
#include "jobs/merge_stores.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace hessa::python {
namespace {

// Points as the engine reads them in place: C-contiguous float64 on the host (the Python layer converts anything
// else, copying only then). noconvert() on the argument: nanobind never copies behind the caller's back.
using PointArray = nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// --- options: a dict of the request's settings, as the Python layer names them ----------------------------------

class Options {
 public:
  explicit Options(nb::dict d) : d_(std::move(d)) {}
  bool has(const char* key) const { return d_.contains(key) && !d_[key].is_none(); }
  std::string text(const char* key, std::string fallback = "") const {
    return has(key) ? nb::cast<std::string>(d_[key]) : fallback;
  }
  double number(const char* key, double fallback) const { return has(key) ? nb::cast<double>(d_[key]) : fallback; }
  long long integer(const char* key, long long fallback) const {
    return has(key) ? nb::cast<long long>(d_[key]) : fallback;
  }
  bool flag(const char* key) const { return has(key) && nb::cast<bool>(d_[key]); }
  std::vector<std::string> texts(const char* key) const {
    return has(key) ? nb::cast<std::vector<std::string>>(d_[key]) : std::vector<std::string>{};
  }
  std::size_t count(const char* key) const {
    const long long v = integer(key, 0);
    if (v < 0) throw InputError(std::string(key) + " must be >= 0, got " + std::to_string(v));
    return std::size_t(v);
  }

 private:
  nb::dict d_;
};

std::string checked_backend(const Options& o) {
  const std::string b = o.text("backend", "auto");
  if (b != "auto" && b != "cpu" && b != "cuda")
    throw InputError("backend: expected 'auto', 'cpu' or 'cuda', got '" + b + "'");
  return b;
}

// --- results: the engine's arrays as (name, numpy type, shape, uint8 array owning the bytes) -----------------------

nb::object owned_bytes(std::vector<unsigned char>&& bytes) {
  auto* held = new std::vector<unsigned char>(std::move(bytes));
  nb::capsule owner(held, [](void* p) noexcept { delete static_cast<std::vector<unsigned char>*>(p); });
  const std::size_t size = held->size();
  return nb::cast(nb::ndarray<nb::numpy, unsigned char, nb::ndim<1>>(held->data(), {size}, owner));
}

nb::tuple arrays_tuple(ResultArrays&& r, std::vector<std::string>&& notices) {
  nb::list arrays;
  for (ResultArray& a : r.arrays) {
    nb::list shape;
    for (const std::uint64_t d : a.shape) shape.append(d);
    arrays.append(nb::make_tuple(a.name, a.descr, nb::tuple(shape), owned_bytes(std::move(a.bytes))));
  }
  return nb::make_tuple(arrays, r.coordinate_names, r.metadata_json, notices);
}

// --- running the engine -----------------------------------------------------------------------------------------

// Runs `work` with the GIL released; when `interruptible` (the caller is Python's main thread), SIGINT meanwhile
// stops the run at its next chunk boundary (StopRequested, raised as KeyboardInterrupt).
template <class Work>
void run_engine(bool interruptible, const Work& work) {
  std::optional<SigintStopScope> sigint;
  if (interruptible) sigint.emplace();
  nb::gil_scoped_release release;
  work();
}

// Notices (a CPU fallback, a clamped chunk) are collected and returned: the Python layer logs them.
NoticeSink collect(std::vector<std::string>& notices) {
  return [&notices](const std::string& message) { notices.push_back(message); };
}

// A Python object that engine-side code (callbacks, a job's function) may copy and destroy on any thread while the
// GIL is released: copies share one reference, and the last of them drops it with the GIL taken.
class HeldObject {
 public:
  explicit HeldObject(nb::object object)
      : held_(new nb::object(std::move(object)), [](nb::object* p) {
          nb::gil_scoped_acquire gil;
          delete p;
        }) {}
  const nb::object& get() const { return *held_; }  // call with the GIL held
  bool is_none() const { return held_->is_none(); }

 private:
  std::shared_ptr<nb::object> held_;
};

// The Python progress callable as the engine's: called with the GIL held.
ProgressCallback progress_of(const nb::object& callable) {
  if (callable.is_none()) return nullptr;
  return [progress = HeldObject(callable)](std::size_t done, std::optional<std::size_t> total) {
    nb::gil_scoped_acquire gil;
    progress.get()(done, total ? nb::cast(*total) : nb::none());
  };
}

// --- a Python function of (m, n) arrays -------------------------------------------------------------------------

// The arrays a Python function of points is handed and gives back.
class PythonArrays {
 public:
  explicit PythonArrays(int n) : n_(n), numpy_(nb::module_::import_("numpy")) {}  // with the GIL held

  // A fresh (m, n) float64 array of the points: the caller may keep or modify it.
  nb::object points(const double* x, std::size_t m) const {
    auto* copy = new double[m * std::size_t(n_)];
    std::memcpy(copy, x, m * std::size_t(n_) * sizeof(double));
    nb::capsule owner(copy, [](void* p) noexcept { delete[] static_cast<double*>(p); });
    return nb::cast(nb::ndarray<nb::numpy, double, nb::ndim<2>>(copy, {m, std::size_t(n_)}, owner));
  }

  // The function's answer (anything numpy.asarray takes: an array, a torch tensor, a list) into out: m rows of
  // `width` values, shape (m, width), or (m,) when width is 1.
  void take(const nb::object& answer, std::size_t m, std::size_t width, double* out, const char* who) const {
    const nb::object a = numpy_.get().attr("ascontiguousarray")(answer, "dtype"_a = "float64");
    const auto array = nb::cast<nb::ndarray<const double, nb::c_contig, nb::device::cpu>>(a);
    const bool fits = (array.ndim() == 2 && array.shape(0) == m && array.shape(1) == width) ||
                      (width == 1 && array.ndim() == 1 && array.shape(0) == m);
    if (!fits) {
      std::string shape;
      for (std::size_t d = 0; d < array.ndim(); ++d) shape += (d ? ", " : "") + std::to_string(array.shape(d));
      if (array.ndim() == 1) shape += ",";
      const std::string want =
          width == 1 ? "(" + std::to_string(m) + ",)" : "(" + std::to_string(m) + ", " + std::to_string(width) + ")";
      throw InputError(std::string(who) + " returned an array of shape (" + shape + ") for " + std::to_string(m) +
                       " points of " + std::to_string(n_) + " coordinates; expected " + want);
    }
    std::memcpy(out, array.data(), m * width * sizeof(double));
  }

  int dimension() const { return n_; }

 private:
  int n_;
  HeldObject numpy_;
};

// A scalar function f(X) -> (m,) and its optional gradient grad(X) -> (m, n), for analyze, critical and jobs.
class PythonFunction final : public BatchFunction {
 public:
  // Made with the GIL held; used and destroyed on any thread (HeldObject).
  PythonFunction(HeldObject f, HeldObject grad, int n, std::size_t block)
      : f_(std::move(f)), grad_(std::move(grad)), arrays_(n), block_(block) {}

  int dimension() const override { return arrays_.dimension(); }
  bool has_gradient() const override { return !grad_.is_none(); }
  std::size_t block_points() const override { return block_; }

  void values(const double* x, std::size_t m, double* out) const override {
    throw_if_stop_requested();
    nb::gil_scoped_acquire gil;
    arrays_.take(f_.get()(arrays_.points(x, m)), m, 1, out, "the function");
  }

  void gradients(const double* x, std::size_t m, double* values, double* g) const override {
    throw_if_stop_requested();
    nb::gil_scoped_acquire gil;
    const nb::object X = arrays_.points(x, m);
    arrays_.take(f_.get()(X), m, 1, values, "the function");
    arrays_.take(grad_.get()(X), m, std::size_t(dimension()), g, "the gradient function");
  }

 private:
  HeldObject f_, grad_;
  PythonArrays arrays_;
  std::size_t block_;
};

// A vector-valued function f(X) -> (m, k) (or (m,) for k = 1), for jacobian.
class PythonVectorFunction final : public BatchVectorFunction {
 public:
  PythonVectorFunction(HeldObject f, int n, int k, std::size_t block)
      : f_(std::move(f)), arrays_(n), k_(k), block_(block) {}

  int dimension() const override { return arrays_.dimension(); }
  int outputs() const override { return k_; }
  std::size_t block_points() const override { return block_; }

  void values(const double* x, std::size_t rows, double* out) const override {
    throw_if_stop_requested();
    nb::gil_scoped_acquire gil;
    arrays_.take(f_.get()(arrays_.points(x, rows)), rows, std::size_t(k_), out, "the function");
  }

 private:
  HeldObject f_;
  PythonArrays arrays_;
  int k_;
  std::size_t block_;
};

// --- the functions --------------------------------------------------------------------------------------------

void fill_analysis(const Options& o, AnalyzeFileRequest& r) {
  r.vars = o.text("vars");
  r.params = o.texts("params");
  r.backend = checked_backend(o);
  r.stencil = stencil_option(o.text("stencil", "auto"));
  r.step = o.number("step", 0.0);
  r.thresholds = {o.number("gtol", kDefaultGtol), o.number("eig_tol", 1e-6), o.number("eig_rtol", 1e-6)};
  r.lr = o.number("lr", 0.0);
  r.eigenvalues = o.flag("eigenvalues");
  r.eigenvectors = o.flag("eigenvectors");
  r.gradient = o.flag("gradient");
  r.hessian = o.flag("hessian");
  r.directions = o.texts("directions");
  r.columns = o.texts("columns");
  r.chunk = o.count("chunk");
  r.memory = o.text("memory");
  r.threads = int(o.integer("threads", 0));
}

// The points a Python function receives per call: the options' batch_size (default 65 536).
std::size_t batch_size(const Options& o) {
  const long long block = o.integer("batch_size", 1 << 16);
  if (block < 1) throw InputError("batch_size must be >= 1, got " + std::to_string(block));
  return std::size_t(block);
}

// The caller's function of `fn` (and its gradient `grad`) for `dimension` coordinates, called in blocks of the
// options' batch_size; null when fn is None.
std::unique_ptr<PythonFunction> python_function(nb::object fn, nb::object grad, int dimension, const Options& o) {
  if (fn.is_none()) return nullptr;
  return std::make_unique<PythonFunction>(HeldObject(fn), HeldObject(grad), dimension, batch_size(o));
}

nb::tuple analyze(const std::string& function, PointArray points, nb::object fn, nb::object grad, nb::dict options,
                  nb::object progress, bool interruptible) {
  const Options o(options);
  AnalyzeFileRequest request;
  fill_analysis(o, request);
  request.function = function;
  request.points = o.text("points_name", "points");
  request.slots = 1;  // the points are in memory and the results go to memory: nothing to overlap
  std::vector<std::string> names = o.texts("column_names");
  auto reader = open_point_array(points.data(), points.shape(0), int(points.shape(1)), request.points, names);
  request.point_source = reader.get();
  const std::unique_ptr<PythonFunction> callable = python_function(fn, grad, int(points.shape(1)), o);
  request.batch = callable.get();
  ResultArrays results;
  request.open_writer = [&results](const OutputLayout& layout) { return open_result_arrays(layout, &results); };
  std::vector<std::string> notices;
  const ProgressCallback on_progress = progress_of(progress);
  run_engine(interruptible, [&] { analyze_file(request, on_progress, collect(notices)); });
  return arrays_tuple(std::move(results), std::move(notices));
}

nb::tuple critical(const std::string& function, nb::object starts, nb::object fn, nb::object grad, nb::dict options,
                   bool interruptible) {
  const Options o(options);
  CriticalRunRequest request;
  request.function = function;
  request.vars = o.text("vars");
  request.params = o.texts("params");
  request.box = o.text("box");
  request.grid = o.text("grid");
  request.backend = checked_backend(o);
  request.stencil = stencil_option(o.text("stencil", "central"));
  request.max_iter = int(o.integer("max_iter", 100));
  request.threads = int(o.integer("threads", 0));
  request.columns = o.texts("columns");
  std::unique_ptr<PointReader> reader;
  if (!starts.is_none()) {
    const auto array = nb::cast<PointArray>(starts, false);
    request.points = o.text("points_name", "points");
    reader =
        open_point_array(array.data(), array.shape(0), int(array.shape(1)), request.points, o.texts("column_names"));
    request.point_source = reader.get();
  }
  // Its dimension: the starts', else the box's (run_critical checks the two against each other).
  const int dimension = reader ? reader->dimension() : int(o.integer("dimension", 0));
  const std::unique_ptr<PythonFunction> callable = python_function(fn, grad, dimension, o);
  request.batch = callable.get();
  ResultArrays results;
  request.open_writer = [&results](const OutputLayout& layout) { return open_result_arrays(layout, &results); };
  std::vector<std::string> notices;
  run_engine(interruptible, [&] { run_critical(request, collect(notices)); });
  return arrays_tuple(std::move(results), std::move(notices));
}

nb::tuple jacobian(const std::vector<std::string>& functions, PointArray points, nb::object fn, nb::dict options,
                   bool interruptible) {
  const Options o(options);
  JacobianRunRequest request;
  request.functions = functions;
  std::unique_ptr<PythonVectorFunction> callable;
  if (!fn.is_none()) {
    const long long outputs = o.integer("outputs", 0);
    if (outputs < 1 || outputs > std::numeric_limits<int>::max())
      throw InputError("outputs must be in [1, 2147483647], got " + std::to_string(outputs));
    callable =
        std::make_unique<PythonVectorFunction>(HeldObject(fn), int(points.shape(1)), int(outputs), batch_size(o));
    request.function = callable.get();
    request.function_label = o.text("function_label", "python");
  }
  request.vars = o.text("vars");
  request.params = o.texts("params");
  request.points = o.text("points_name", "points");
  const std::string mode = o.text("mode", "central");
  if (mode == "central") {
    request.mode = JacobianMode::Central;
  } else if (mode == "richardson") {
    request.mode = JacobianMode::Richardson;
  } else if (mode == "dual") {
    request.mode = JacobianMode::Dual;
  } else {
    throw InputError("mode: expected 'central', 'richardson' or 'dual', got '" + mode + "'");
  }
  request.step = o.number("step", 0.0);
  request.backend = checked_backend(o);
  request.chunk = o.count("chunk");
  request.memory = o.text("memory");
  request.threads = int(o.integer("threads", 0));
  auto reader =
      open_point_array(points.data(), points.shape(0), int(points.shape(1)), request.points, o.texts("column_names"));
  request.point_source = reader.get();
  ResultArrays results;
  request.open_writer = [&results](const JacobianLayout& layout) { return open_jacobian_arrays(layout, &results); };
  std::vector<std::string> notices;
  run_engine(interruptible, [&] { run_jacobian(request, collect(notices)); });
  return arrays_tuple(std::move(results), std::move(notices));
}

nb::dict run(const std::string& job, const std::string& job_json, nb::object fn, nb::object grad, nb::dict options,
             nb::object progress, bool interruptible) {
  const Options o(options);
  jobs::JobRunRequest request;
  request.job = job;
  if (!job_json.empty()) request.job_text = jobs::job_toml_from_json(job_json);
  request.resume = o.flag("resume");
  request.shard = o.text("shard");
  request.backend = o.has("backend") ? checked_backend(o) : "";
  request.threads = int(o.integer("threads", 0));
  request.memory = o.text("memory");
  if (!fn.is_none()) {
    const long long block = o.integer("batch_size", 1 << 16);
    if (block < 1) throw InputError("batch_size must be >= 1, got " + std::to_string(block));
    request.function_has_gradient = !grad.is_none();
    // Made (and called) on this thread while the engine runs: PythonFunction takes the GIL for each call.
    request.make_function = [f = HeldObject(fn), g = HeldObject(grad), block](int n) -> std::unique_ptr<BatchFunction> {
      nb::gil_scoped_acquire gil;
      return std::make_unique<PythonFunction>(f, g, n, std::size_t(block));
    };
  }
  jobs::JobProgress on_progress;
  if (!progress.is_none()) {
    on_progress = [callable = HeldObject(progress)](std::size_t written, std::size_t total) {
      nb::gil_scoped_acquire gil;
      callable.get()(written, total);
    };
  }
  jobs::JobRunOutcome outcome;
  std::vector<std::string> notices;
  run_engine(interruptible, [&] { jobs::run_job(request, outcome, on_progress, collect(notices)); });
  nb::dict summary;
  summary["points"] = outcome.summary.points;
  summary["failed"] = outcome.summary.failed;
  summary["seconds"] = outcome.summary.seconds;
  summary["chunks"] = outcome.summary.chunks;
  nb::dict per_class;
  for (int c = 0; c < 6; ++c) {
    const char* name = class_name(PointClass(c));
    per_class[*name ? name : "unknown"] = outcome.summary.per_class[std::size_t(c)];
  }
  summary["per_class"] = per_class;
  nb::dict d;
  d["out"] = outcome.out;
  d["already_complete"] = outcome.already_complete;
  d["settings_json"] = outcome.settings_json;
  d["function"] = outcome.function_label;
  d["stencil"] = stencil_name(outcome.stencil);
  d["backend"] = outcome.backend_name;
  d["chunks_done_before"] = outcome.chunks_done_before;
  d["chunks_in_shard"] = outcome.chunks_in_shard;
  d["summary"] = summary;
  d["notices"] = notices;
  return d;
}

nb::dict merge(const std::vector<std::string>& inputs, const std::string& out, bool allow_incomplete,
               bool interruptible) {
  jobs::MergeOutcome merged;
  run_engine(interruptible, [&] { merged = jobs::merge_stores({inputs, out, allow_incomplete}); });
  nb::dict d;
  d["out"] = out;
  d["inputs"] = merged.inputs;
  d["chunks"] = merged.chunks;
  d["overlaps"] = merged.overlaps;
  d["missing"] = merged.missing;
  return d;
}

// `hessa bench`'s figures as its --json writes them (the Python layer parses the text).
std::string bench(nb::dict options, bool interruptible) {
  const Options o(options);
  BenchRequest request;
  request.backend = checked_backend(o);
  request.quick = o.flag("quick");
  if (o.has("dimensions")) request.dimensions = nb::cast<std::vector<int>>(options["dimensions"]);
  request.stencils = o.texts("stencils");
  request.seconds_per_case = o.number("seconds_per_case", 0.0);
  request.model_job = o.text("model_job");
  request.model = !o.has("model") || o.flag("model");
  request.function = o.text("function", "rosenbrock");
  request.threads = int(o.integer("threads", 0));
  BenchReport report;
  std::vector<std::string> notices;
  run_engine(interruptible, [&] { report = run_bench(request, collect(notices)); });
  return dump_json(bench_json(report), 2);
}

nb::list functions() {
  nb::list out;
  for (const CatalogueEntry& e : catalogue()) {
    nb::dict d;
    d["name"] = e.name;
    d["dimension"] = e.dimension_text();
    d["description"] = e.description;
    d["expression"] = e.expression;
    out.append(d);
  }
  return out;
}

nb::list backends() {
  nb::list out;
  const auto entry = [&](const char* name, std::unique_ptr<Backend> b, const std::string& why) {
    nb::dict d;
    d["name"] = name;
    d["usable"] = b != nullptr;
    d["device"] = b ? b->name() : std::string();
    d["why_not"] = b ? std::string() : why;
    out.append(d);
  };
  entry("cpu", make_cpu_backend(), "");
  std::string why;
  auto gpu = make_cuda_backend(&why);
  entry("cuda", std::move(gpu), why);
  return out;
}

}  // namespace
}  // namespace hessa::python

NB_MODULE(_hessa, m) {
  using namespace hessa::python;
  m.doc() = "hessa's compiled core; use the hessa package (python/hessa/__init__.py), not this module directly.";
  m.attr("__version__") = HESSA_VERSION;
  m.attr("cuda_compiled") = hessa::cuda_backend_compiled();
  nb::exception<hessa::InputError>(m, "InputError", PyExc_ValueError);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const hessa::StopRequested&) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
    } catch (const hessa::DeviceError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });
  m.def("analyze", &analyze, "function"_a, "points"_a.noconvert(), "fn"_a.none(), "grad"_a.none(), "options"_a,
        "progress"_a.none(), "interruptible"_a);
  m.def("critical", &critical, "function"_a, "starts"_a.none(), "fn"_a.none(), "grad"_a.none(), "options"_a,
        "interruptible"_a);
  m.def("jacobian", &jacobian, "functions"_a, "points"_a.noconvert(), "fn"_a.none(), "options"_a, "interruptible"_a);
  m.def("run", &run, "job"_a, "job_json"_a, "fn"_a.none(), "grad"_a.none(), "options"_a, "progress"_a.none(),
        "interruptible"_a);
  m.def("bench", &bench, "options"_a, "interruptible"_a);
  m.def("merge", &merge, "inputs"_a, "out"_a, "allow_incomplete"_a, "interruptible"_a);
  m.def("functions", &functions);
  m.def("backends", &backends);
}
