// Points per second of each pipeline stage on the CPU backend, and of the whole pipeline on every backend
// present, for rosenbrock over n = 2, 8, 32, 128 and B = 10^3 .. 10^6 (B capped so one run stays under
// ~10^10 interpreter steps: the large-n, large-B corner would take hours on 2 cores).
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>

#include "cpu/cpu_stages.hpp"
#include "hessa/backend.hpp"
#include "hessa/catalogue.hpp"
#include "hessa/io.hpp"
#include "hessa/model.hpp"
#include "hessa/objective.hpp"

namespace {

using namespace hessa;

CompiledFunction rosenbrock(int n) {
  ExpressionOptions options;
  options.dimension = n;
  return compile_expression(find_catalogue_entry("rosenbrock")->expression, options);
}

std::vector<double> random_points(std::size_t count, int n) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-2.0, 2.0);
  std::vector<double> x(count * std::size_t(n));
  for (double& v : x) v = u(rng);
  return x;
}

// Arguments {n, B}: B from 10^3 up to 10^6, limited by n so the stencil work per run stays bounded.
void pipeline_args(benchmark::internal::Benchmark* b) {
  for (int n : {2, 8, 32, 128}) {
    for (long B = 1000; B <= 1000000; B *= 10) {
      const double work = double(B) * 2.0 * n * n * n;  // evaluations x program length ~ B * 2n^2 * n
      if (work > 5e10) break;
      b->Args({n, B});
    }
  }
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

struct StageData {
  int n;
  std::size_t B;
  CompiledFunction f;
  AnalysisOptions options;
  std::vector<double> x, evals, fx, g, H, w, hess_err, grad_err;
  std::vector<int> info;
  std::vector<PointStatus> status;
  std::vector<PointAnalysis> out;
  StageData(int dim, std::size_t count) : n(dim), B(count), f(rosenbrock(dim)), x(random_points(count, dim)) {
    evals.resize(B * std::size_t(detail::stencil_size(options.stencil, n)));
    fx.resize(B);
    hess_err.resize(B);
    grad_err.resize(B);
    g.resize(B * n);
    H.resize(B * n * n);
    w.resize(B * n);
    info.resize(B);
    status.resize(B);
    out.resize(B);
  }
  void stencil() { cpu::evaluate_stencil(f.view(), options.stencil, options.step_scale, x.data(), B, evals.data()); }
  void assemble() {
    cpu::assemble(options.stencil, n, options.step_scale, x.data(), B, evals.data(), fx.data(), g.data(), H.data(),
                  hess_err.data(), grad_err.data(), status.data());
  }
  void eigen() { cpu::eigensolve(n, B, H.data(), status.data(), w.data(), nullptr, info.data()); }
  void analyze() {
    cpu::analyze(f.view(), options, x.data(), B, fx.data(), g.data(), H.data(), w.data(), info.data(), hess_err.data(),
                 grad_err.data(), status.data(), out.data());
  }
};

void report(benchmark::State& state, std::size_t B) {
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(B));
  state.counters["points/s"] = benchmark::Counter(double(state.iterations()) * double(B), benchmark::Counter::kIsRate);
}

void BM_CpuStencil(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  for (auto _ : state) d.stencil();
  report(state, d.B);
}
void BM_CpuAssemble(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  d.stencil();
  for (auto _ : state) d.assemble();
  report(state, d.B);
}
void BM_CpuEigen(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  d.stencil();
  d.assemble();
  for (auto _ : state) d.eigen();
  report(state, d.B);
}
void BM_CpuAnalyze(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  d.stencil();
  d.assemble();
  d.eigen();
  for (auto _ : state) d.analyze();
  report(state, d.B);
}

// The eigen cut-over: the shared Jacobi solver against LAPACK dsyevd on the same Hessians, n = 2..8.
void BM_CpuEigenJacobi(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  d.stencil();
  d.assemble();
  for (auto _ : state) cpu::small_eigensolve(d.n, d.B, d.H.data(), d.status.data(), d.w.data(), nullptr, d.info.data());
  report(state, d.B);
}
void BM_CpuEigenLapack(benchmark::State& state) {
  StageData d(int(state.range(0)), std::size_t(state.range(1)));
  d.stencil();
  d.assemble();
  for (auto _ : state)
    cpu::lapack_eigensolve(d.n, d.B, d.H.data(), d.status.data(), d.w.data(), nullptr, d.info.data());
  report(state, d.B);
}

void run_pipeline(benchmark::State& state, Backend* backend) {
  const int n = int(state.range(0));
  const std::size_t B = std::size_t(state.range(1));
  const CompiledFunction f = rosenbrock(n);
  const std::vector<double> x = random_points(B, n);
  AnalysisOptions options;
  const std::size_t chunk = backend->chunk_capacity(n, options);
  ChunkResult result;
  for (auto _ : state) {
    for (std::size_t first = 0; first < B; first += chunk) {
      backend->analyze(f, options, x.data() + first * n, std::min(chunk, B - first), result);
    }
  }
  state.SetLabel(backend->name());
  report(state, B);
  // The device memory one point takes through the chunk: scripts/gpu-check-quick's HBM-roofline figure.
  state.counters["device_bytes_per_point"] = double(bytes_per_point(n, options));
}

void BM_CpuPipeline(benchmark::State& state) {
  auto backend = make_cpu_backend();
  run_pipeline(state, backend.get());
}

void BM_CudaPipeline(benchmark::State& state) {
  std::string why;
  auto backend = make_cuda_backend(&why);
  if (!backend) {
    state.SkipWithError(("no usable GPU: " + why).c_str());
    return;
  }
  run_pipeline(state, backend.get());
}

// --- model losses: an MLP 2-h-h-1 (tanh, logistic) on 200 random samples --------------------------------------

MlpModel bench_model(int hidden) {
  MlpModel model;
  model.widths = {2, std::int32_t(hidden), std::int32_t(hidden), 1};
  model.loss = LossKind::Logistic;
  const std::vector<double> x = random_points(200, 2);
  std::vector<double> rows;
  for (std::size_t s = 0; s < 200; ++s) rows.insert(rows.end(), {x[2 * s], x[2 * s + 1], double(s % 2)});
  if (!make_dataset(rows, 3, model, &model.data).empty()) std::abort();
  return model;
}

// Loss evaluations per second (each one a forward pass over all 200 samples), one thread.
void BM_CpuMlpLoss(benchmark::State& state) {
  const MlpModel model = bench_model(int(state.range(0)));
  const std::size_t count = 64;
  const std::vector<double> theta = random_points(count, int(model.parameter_count()));
  std::vector<double> losses(count), scratch;
  for (auto _ : state) cpu::mlp_loss(model, theta.data(), count, losses.data(), scratch);
  report(state, count);
}

// A restricted 2-direction scan (2x2 Hessians) of B points: points per second through the whole pipeline.
void run_model_scan(benchmark::State& state, Backend* backend) {
  const MlpModel model = bench_model(int(state.range(0)));
  const std::size_t B = std::size_t(state.range(1));
  const int P = int(model.parameter_count());
  const std::vector<double> centre = random_points(1, P), directions = random_points(2, P);
  const AffineSubspace subspace{2, P, centre, directions};
  Objective objective;
  objective.model = &model;
  objective.subspace = &subspace;
  const std::vector<double> ab = random_points(B, 2);
  AnalysisOptions options;
  ChunkResult result;
  for (auto _ : state) backend->analyze(objective, options, ab.data(), B, result);
  state.SetLabel(backend->name());
  report(state, B);
}

// The full P x P Hessian of the model at B parameter vectors (2 P^2 + 1 loss evaluations each): points per second.
// The CPU reuses the centre's forward pass layer by layer (host/cpu/model_stencil.cpp); CUDA runs whole passes.
void run_model_full(benchmark::State& state, Backend* backend) {
  const MlpModel model = bench_model(int(state.range(0)));
  const std::size_t B = std::size_t(state.range(1));
  const std::vector<double> theta = random_points(B, int(model.parameter_count()));
  Objective objective;
  objective.model = &model;
  AnalysisOptions options;
  ChunkResult result;
  for (auto _ : state) backend->analyze(objective, options, theta.data(), B, result);
  state.SetLabel(backend->name());
  report(state, B);
}

void BM_CpuModelFullHessian(benchmark::State& state) {
  auto backend = make_cpu_backend();
  run_model_full(state, backend.get());
}

void BM_CudaModelFullHessian(benchmark::State& state) {
  std::string why;
  auto backend = make_cuda_backend(&why);
  if (!backend) {
    state.SkipWithError(("no usable GPU: " + why).c_str());
    return;
  }
  run_model_full(state, backend.get());
}

void BM_CpuModelScan(benchmark::State& state) {
  auto backend = make_cpu_backend();
  run_model_scan(state, backend.get());
}

void BM_CudaModelScan(benchmark::State& state) {
  std::string why;
  auto backend = make_cuda_backend(&why);
  if (!backend) {
    state.SkipWithError(("no usable GPU: " + why).c_str());
    return;
  }
  run_model_scan(state, backend.get());
}

// --- backpropagation on the bundled MLP (examples/mlp_moons: 2-16-16-1, tanh, logistic, 200 samples, P = 337) ---

std::vector<double> read_all(const std::string& path) {
  std::vector<double> all, part;
  auto reader = open_point_reader(path);
  while (reader->read(4096, part) > 0) all.insert(all.end(), part.begin(), part.end());
  return all;
}

struct BundledMlp {
  MlpModel model;
  std::vector<double> theta;
  BundledMlp() {
    model.widths = {2, 16, 16, 1};
    model.loss = LossKind::Logistic;
    const std::string dir = std::string(HESSA_SOURCE_DIR) + "/examples/mlp_moons/";
    if (!make_dataset(read_all(dir + "moons.csv"), 3, model, &model.data).empty()) std::abort();
    theta = read_all(dir + "params.npy");
    if (std::int64_t(theta.size()) != model.parameter_count()) std::abort();
  }
};

// Loss + gradient evaluations per second at 64 parameter vectors (the trained one, perturbed), one thread.
void BM_MlpGradient(benchmark::State& state) {
  const BundledMlp mlp;
  const std::size_t count = 64, P = mlp.theta.size();
  std::vector<double> theta = random_points(count, int(P));
  for (std::size_t i = 0; i < theta.size(); ++i) theta[i] = mlp.theta[i % P] + 1e-2 * theta[i];
  std::vector<double> losses(count), gradients(count * P), scratch;
  for (auto _ : state) cpu::mlp_loss_gradient(mlp.model, theta.data(), count, losses.data(), gradients.data(), scratch);
  report(state, count);
}

// The exact 337 x 337 Hessian at the trained parameters (forward-over-reverse, OpenMP over direction blocks):
// Hessians per second. torch.autograd.functional.hessian takes ~0.10 s per point here (CPU, 2 threads).
void BM_MlpFullHessian(benchmark::State& state) {
  const BundledMlp mlp;
  const std::size_t P = mlp.theta.size();
  std::vector<double> H(P * P), gradient(P), scratch;
  double loss = 0.0, asymmetry = 0.0;
  for (auto _ : state) {
    cpu::mlp_full_hessian(mlp.model, mlp.theta.data(), &loss, gradient.data(), H.data(), scratch, &asymmetry);
  }
  state.counters["asymmetry"] = asymmetry;
  report(state, 1);
}

// Reverse mode's cost per catalogue function (issue 9's target: f and its gradient for at most 4x the cost of f):
// ns per (f, g) sweep of the gradient stencil against ns per f evaluation of the central stencil, both on the
// CPU backend's code (the tape's double sweeps; the lane-batched interpreter), 2 threads. Arg: catalogue index;
// dimension-generic functions at n = 8.
void BM_ReverseModeCost(benchmark::State& state) {
  const CatalogueEntry& e = catalogue()[std::size_t(state.range(0))];
  const int n = e.dimension > 0 ? e.dimension : 8;
  ExpressionOptions options;
  options.dimension = n;
  const CompiledFunction f = compile_expression(e.expression, options);
  const std::size_t B = 2000;
  const std::vector<double> x = random_points(B, n);
  const auto values = std::size_t(detail::stencil_size(StencilKind::Central, n));
  const auto sweeps = std::size_t(detail::stencil_size(StencilKind::Gradient, n));
  std::vector<double> value_evals(B * values), gradient_evals(B * sweeps * std::size_t(n + 1));
  double value_seconds = 0.0, gradient_seconds = 0.0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    cpu::evaluate_stencil(f.view(), StencilKind::Central, kDefaultStepScale, x.data(), B, value_evals.data());
    const auto t1 = std::chrono::steady_clock::now();
    cpu::evaluate_gradient_stencil(f.tape_view(), n, kGradientStepScale, x.data(), B, gradient_evals.data());
    const auto t2 = std::chrono::steady_clock::now();
    value_seconds += std::chrono::duration<double>(t1 - t0).count();
    gradient_seconds += std::chrono::duration<double>(t2 - t1).count();
  }
  const double f_ns = 1e9 * value_seconds / double(state.iterations() * B * values);
  const double fg_ns = 1e9 * gradient_seconds / double(state.iterations() * B * sweeps);
  state.SetLabel(e.name + " n=" + std::to_string(n) + " tape " + std::to_string(f.tape().size()) + " nodes");
  state.counters["f_ns"] = f_ns;
  state.counters["f_and_grad_ns"] = fg_ns;
  state.counters["ratio"] = fg_ns / f_ns;
}

void catalogue_args(benchmark::internal::Benchmark* b) {
  for (std::size_t i = 0; i < catalogue().size(); ++i) b->Arg(long(i));
  b->Unit(benchmark::kMillisecond)->UseRealTime();
}

BENCHMARK(BM_ReverseModeCost)->Apply(catalogue_args);
BENCHMARK(BM_CpuMlpLoss)->Arg(16)->Arg(64)->Arg(256);
BENCHMARK(BM_MlpGradient)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_MlpFullHessian)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CpuModelScan)->ArgsProduct({{16, 64}, {1024}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CpuModelFullHessian)->ArgsProduct({{8, 16}, {2}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CudaModelFullHessian)->ArgsProduct({{8, 16}, {2, 64}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CudaModelScan)->ArgsProduct({{16, 64}, {1024, 16384}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CpuStencil)->Apply(pipeline_args);
BENCHMARK(BM_CpuAssemble)->Apply(pipeline_args);
BENCHMARK(BM_CpuEigen)->Apply(pipeline_args);
BENCHMARK(BM_CpuAnalyze)->Apply(pipeline_args);
BENCHMARK(BM_CpuPipeline)->Apply(pipeline_args);
BENCHMARK(BM_CpuEigenJacobi)->ArgsProduct({{2, 3, 4, 5, 6, 8}, {20000}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CpuEigenLapack)->ArgsProduct({{2, 3, 4, 5, 6, 8}, {20000}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_CudaPipeline)->Apply(pipeline_args);

}  // namespace

BENCHMARK_MAIN();
