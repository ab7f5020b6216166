// Stationary points from many starts at once: a batched Levenberg-Marquardt iteration on g(x) = 0, one backend
// call per round over every still-active start, then deduplication of the converged points with basin counts.
#include "hessa/critical_search.hpp"

#include "hessa/stop_signals.hpp"

#include "hessa/grid.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>

namespace hessa {

double SearchBox::diagonal() const {
  double sum = 0.0;
  for (std::size_t i = 0; i < lower.size(); ++i) sum += (upper[i] - lower[i]) * (upper[i] - lower[i]);
  return std::sqrt(sum);
}

bool SearchBox::contains(const double* x) const {
  for (std::size_t i = 0; i < lower.size(); ++i)
    if (!(x[i] >= lower[i] && x[i] <= upper[i])) return false;
  return true;
}

std::vector<double> grid_points(const SearchBox& box, const std::vector<int>& counts) {
  const int n = box.dimension();
  if (int(counts.size()) != n) throw std::invalid_argument("grid_points: one count per coordinate expected");
  std::size_t total = 1;
  for (int c : counts) {
    if (c < 1) throw std::invalid_argument("grid_points: counts must be positive");
    total *= std::size_t(c);
  }
  std::vector<double> points(total * std::size_t(n));
  for (std::size_t p = 0; p < total; ++p) {
    grid_point(box.lower.data(), box.upper.data(), counts.data(), std::size_t(n), p, &points[p * std::size_t(n)]);
  }
  return points;
}

const char* outcome_name(StartOutcome outcome) {
  switch (outcome) {
    case StartOutcome::Converged: return "converged";
    case StartOutcome::LeftBox: return "left_box";
    case StartOutcome::NotConverged: return "not_converged";
    case StartOutcome::Failed: return "failed";
  }
  return "unknown";
}

namespace {

enum class Phase : std::int8_t { Active, Converged, LeftBox, NotConverged, Failed };

// Per-start state, structure of arrays over the batch. x, g, lambda, V and grad_norm describe the accepted
// iterate; trial is the point the next round evaluates (the start itself in the first round).
struct Batch {
  Batch(const std::vector<double>& starts, int dimension)
      : n(dimension),
        count(starts.size() / std::size_t(dimension)),
        x(starts),
        trial(starts),
        g(count * std::size_t(n)),
        lambda(count * std::size_t(n)),
        V(count * std::size_t(n) * std::size_t(n)),
        grad_norm(count, std::numeric_limits<double>::infinity()),
        mu(count, 0.0),
        evaluations(count, 0),
        phase(count, Phase::Active) {}

  double* x_of(std::size_t p) { return &x[p * std::size_t(n)]; }
  double* trial_of(std::size_t p) { return &trial[p * std::size_t(n)]; }

  int n;
  std::size_t count;
  std::vector<double> x, trial, g, lambda, V, grad_norm, mu;
  std::vector<int> evaluations;
  std::vector<Phase> phase;
};

// Absolute tolerances and lengths derived from the options' relative ones.
struct Scales {
  double gradient_tolerance;  // set after the first round (needs the starts' gradients)
  double step_tolerance;
  double noise_floor;
  double trust_radius;
  double dedup_distance;
};

void validate(const Objective& f, const CriticalSearchOptions& options, const std::vector<double>& starts) {
  const int n = f.dimension();
  const SearchBox& box = options.box;
  if (box.dimension() != n || box.upper.size() != box.lower.size())
    throw std::invalid_argument("find_critical_points: the box must have " + std::to_string(n) + " coordinates");
  for (int i = 0; i < n; ++i)
    if (!(box.lower[std::size_t(i)] <= box.upper[std::size_t(i)]))
      throw std::invalid_argument("find_critical_points: box lower bound above upper bound");
  if (!(box.diagonal() > 0.0)) throw std::invalid_argument("find_critical_points: the box has no extent");
  if (starts.size() % std::size_t(n) != 0)
    throw std::invalid_argument("find_critical_points: starts must hold a multiple of n numbers");
  if (options.max_iterations < 1) throw std::invalid_argument("find_critical_points: max_iterations < 1");
}

Scales scales_of(const CriticalSearchOptions& options) {
  const double D = options.box.diagonal();
  double largest_coordinate = 1.0;
  for (std::size_t i = 0; i < options.box.lower.size(); ++i)
    largest_coordinate =
        std::max({largest_coordinate, std::fabs(options.box.lower[i]), std::fabs(options.box.upper[i])});
  const double largest_fd_step = options.step_scale * largest_coordinate;
  return {0.0, options.step_rtol * D, options.noise_floor_rtol * D, options.trust_radius_rtol * D,
          std::max(options.dedup_rtol * D, options.dedup_fd_steps * largest_fd_step)};
}

// What the backend computes each round: g and the eigenpairs of H, at the search's (finer) step.
AnalysisOptions search_analysis_options(const CriticalSearchOptions& options) {
  AnalysisOptions a;
  a.stencil = options.stencil;
  a.step_scale = options.step_scale;
  a.keep_gradient = true;
  a.keep_eigenvalues = true;
  a.eigenvectors = true;
  return a;
}

void drop_starts_outside_box(const CriticalSearchOptions& options, Batch& batch) {
  if (!options.confine_to_box) return;
  for (std::size_t p = 0; p < batch.count; ++p)
    if (!options.box.contains(batch.x_of(p))) batch.phase[p] = Phase::LeftBox;
}

std::vector<std::size_t> active_starts(const Batch& batch) {
  std::vector<std::size_t> active;
  for (std::size_t p = 0; p < batch.count; ++p)
    if (batch.phase[p] == Phase::Active) active.push_back(p);
  return active;
}

// Accepts or rejects the trial just evaluated (result row k) for start p; returns true when it was rejected.
// The first evaluation (at the start) is always taken, and sets mu = mu_initial * max lambda^2 (Marquardt's
// scale-aware start: mu has the units of lambda^2). Later trials are accepted only when they lower ||g||.
bool record_evaluation(const CriticalSearchOptions& options, const ChunkResult& result, std::size_t k, std::size_t p,
                       Batch& batch) {
  const std::size_t n = std::size_t(batch.n);
  const PointAnalysis& a = result.points[k];
  const bool first = batch.evaluations[p]++ == 0;
  const bool usable = a.status == PointStatus::Ok && std::isfinite(a.grad_norm);
  if (first && !usable) {
    batch.phase[p] = Phase::Failed;
    return true;
  }
  if (!first && !(usable && a.grad_norm < batch.grad_norm[p])) {
    batch.mu[p] = std::max(batch.mu[p] * options.mu_increase, std::numeric_limits<double>::min());
    return true;
  }
  std::copy_n(batch.trial_of(p), n, batch.x_of(p));
  std::copy_n(&result.gradient[k * n], n, &batch.g[p * n]);
  std::copy_n(&result.eigenvalues[k * n], n, &batch.lambda[p * n]);
  std::copy_n(&result.eigenvectors[k * n * n], n * n, &batch.V[p * n * n]);
  batch.grad_norm[p] = a.grad_norm;
  if (first) {
    const double lambda_abs_max = std::max(std::fabs(batch.lambda[p * n]), std::fabs(batch.lambda[p * n + n - 1]));
    batch.mu[p] = options.mu_initial * lambda_abs_max * lambda_abs_max;
  } else {
    batch.mu[p] *= options.mu_decrease;
  }
  return false;
}

// Evaluates every active start's trial point: one backend.analyze call over all of them (more only when they
// exceed the backend's chunk capacity), then accepts or rejects each. Returns the rejected flags by start.
std::vector<char> evaluate_trials(const Objective& f, Backend& backend, const CriticalSearchOptions& options,
                                  const std::vector<std::size_t>& active, Batch& batch) {
  const std::size_t n = std::size_t(batch.n);
  const AnalysisOptions analysis = search_analysis_options(options);
  const std::size_t capacity = std::max<std::size_t>(1, backend.chunk_capacity(batch.n, analysis));
  std::vector<char> rejected(batch.count, 0);
  std::vector<double> points;
  ChunkResult result;
  for (std::size_t begin = 0; begin < active.size(); begin += capacity) {
    throw_if_stop_requested();  // between backend batches
    const std::size_t end = std::min(active.size(), begin + capacity);
    points.resize((end - begin) * n);
    for (std::size_t k = begin; k < end; ++k) std::copy_n(batch.trial_of(active[k]), n, &points[(k - begin) * n]);
    backend.analyze(f, analysis, points.data(), end - begin, result);
    for (std::size_t k = begin; k < end; ++k)
      rejected[active[k]] = record_evaluation(options, result, k - begin, active[k], batch) ? 1 : 0;
  }
  return rejected;
}

// G: the median ||g|| over the starts, the landscape's gradient scale (invariant to rescaling f).
double median_start_gradient(const Batch& batch) {
  std::vector<double> norms;
  for (std::size_t p = 0; p < batch.count; ++p)
    if (std::isfinite(batch.grad_norm[p])) norms.push_back(batch.grad_norm[p]);
  if (norms.empty()) return 0.0;
  const auto middle = norms.begin() + std::ptrdiff_t(norms.size() / 2);
  std::nth_element(norms.begin(), middle, norms.end());
  return *middle;
}

// v_k' g for each eigenvector k of start p's accepted Hessian (V column-major: v_k at column k).
void gradient_in_eigenbasis(const Batch& batch, std::size_t p, std::vector<double>& c) {
  const std::size_t n = std::size_t(batch.n);
  c.assign(n, 0.0);
  for (std::size_t k = 0; k < n; ++k)
    for (std::size_t r = 0; r < n; ++r) c[k] += batch.V[p * n * n + k * n + r] * batch.g[p * n + r];
}

// ||H^+ g|| = sqrt(sum_k (v_k' g / lambda_k)^2): the Newton step's length, i.e. how far the linear model of g
// puts the nearest root. A zero eigenvalue with a gradient component along it makes it infinite (no root nearby).
double newton_step_length(const Batch& batch, std::size_t p, std::vector<double>& c) {
  gradient_in_eigenbasis(batch, p, c);
  double sum = 0.0;
  for (std::size_t k = 0; k < c.size(); ++k) {
    const double lambda = batch.lambda[p * std::size_t(batch.n) + k];
    if (c[k] == 0.0) continue;
    sum += lambda == 0.0 ? std::numeric_limits<double>::infinity() : (c[k] / lambda) * (c[k] / lambda);
  }
  return std::sqrt(sum);
}

bool has_converged(const Scales& scales, const Batch& batch, std::size_t p, bool rejected, std::vector<double>& c) {
  if (batch.grad_norm[p] <= scales.gradient_tolerance) return true;
  const double newton = newton_step_length(batch, p, c);
  return newton <= scales.step_tolerance || (rejected && newton <= scales.noise_floor);
}

// The Levenberg-Marquardt step for g(x) = 0 with Jacobian J = H (symmetric, H = V diag(lambda) V'):
//   delta = -(J'J + mu I)^-1 J' g = -V diag(lambda_k / (lambda_k^2 + mu)) V' g,
// capped at the trust radius. Why LM and not Newton (delta = -H^-1 g): Newton also converges to saddles and
// maxima, which we want, but from a start far from a root, or near a zero eigenvalue, its step is huge and
// aimless. LM minimizes ||g||^2 with a damping mu that blends Newton (mu -> 0, quadratic convergence near a
// nondegenerate root of any Morse index) with a short step along -H g (mu large, a descent direction for
// ||g||^2), so a rejected step can always be followed by a shorter, safer one.
void propose_lm_step(const Scales& scales, Batch& batch, std::size_t p, std::vector<double>& c) {
  const std::size_t n = std::size_t(batch.n);
  gradient_in_eigenbasis(batch, p, c);
  std::vector<double> delta(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    const double lambda = batch.lambda[p * n + k];
    const double denominator = lambda * lambda + batch.mu[p];
    const double coefficient = denominator > 0.0 ? lambda * c[k] / denominator : 0.0;
    for (std::size_t r = 0; r < n; ++r) delta[r] -= coefficient * batch.V[p * n * n + k * n + r];
  }
  double length = 0.0;
  for (double d : delta) length += d * d;
  length = std::sqrt(length);
  const double shrink = length > scales.trust_radius ? scales.trust_radius / length : 1.0;
  const double* x = batch.x_of(p);
  double* trial = batch.trial_of(p);
  for (std::size_t r = 0; r < n; ++r) trial[r] = x[r] + shrink * delta[r];
}

// After a round: stop the starts that converged, ran out of iterations or would leave the box; give the others
// their next trial point.
void decide_and_step(const CriticalSearchOptions& options, const Scales& scales, const std::vector<std::size_t>& active,
                     const std::vector<char>& rejected, Batch& batch) {
  std::vector<double> c;
  for (std::size_t p : active) {
    if (batch.phase[p] != Phase::Active) continue;  // failed at its start
    if (has_converged(scales, batch, p, rejected[p] != 0, c)) {
      batch.phase[p] = Phase::Converged;
    } else if (batch.evaluations[p] >= options.max_iterations) {
      batch.phase[p] = Phase::NotConverged;
    } else {
      propose_lm_step(scales, batch, p, c);
      if (options.confine_to_box && !options.box.contains(batch.trial_of(p))) batch.phase[p] = Phase::LeftBox;
    }
  }
}

// Union-find over the converged starts: two points closer than `distance` are the same stationary point.
// Candidates come from a sweep over the points sorted by their first coordinate, so well-separated points cost
// O(m log m), not O(m^2).
struct DisjointSets {
  explicit DisjointSets(std::size_t size) : parent(size) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t root(std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  }
  void unite(std::size_t a, std::size_t b) { parent[root(a)] = root(b); }
  std::vector<std::size_t> parent;
};

DisjointSets cluster_converged(const Batch& batch, const std::vector<std::size_t>& converged, double distance) {
  const std::size_t n = std::size_t(batch.n);
  std::vector<std::size_t> order(converged.size());
  std::iota(order.begin(), order.end(), 0);
  const auto first_coordinate = [&](std::size_t k) { return batch.x[converged[k] * n]; };
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return first_coordinate(a) < first_coordinate(b); });
  DisjointSets sets(converged.size());
  for (std::size_t a = 0; a < order.size(); ++a) {
    for (std::size_t b = a + 1; b < order.size(); ++b) {
      if (first_coordinate(order[b]) - first_coordinate(order[a]) > distance) break;
      double d2 = 0.0;
      for (std::size_t i = 0; i < n; ++i) {
        const double d = batch.x[converged[order[a]] * n + i] - batch.x[converged[order[b]] * n + i];
        d2 += d * d;
      }
      if (d2 <= distance * distance) sets.unite(order[a], order[b]);
    }
  }
  return sets;
}

// One representative per cluster (the start with the smallest ||g||), its basin count, and each start's point.
void collect_unique_points(const Batch& batch, double distance, CriticalSearchResult& result) {
  const std::size_t n = std::size_t(batch.n);
  std::vector<std::size_t> converged;
  for (std::size_t p = 0; p < batch.count; ++p)
    if (batch.phase[p] == Phase::Converged) converged.push_back(p);
  DisjointSets sets = cluster_converged(batch, converged, distance);

  std::vector<std::ptrdiff_t> representative_of_root(converged.size(), -1);
  std::vector<std::size_t> representatives;  // start indices
  std::vector<std::size_t> members;          // per representative
  std::vector<std::size_t> cluster_of(converged.size());
  for (std::size_t k = 0; k < converged.size(); ++k) {
    const std::size_t r = sets.root(k);
    if (representative_of_root[r] < 0) {
      representative_of_root[r] = std::ptrdiff_t(representatives.size());
      representatives.push_back(converged[k]);
      members.push_back(0);
    }
    const std::size_t cluster = std::size_t(representative_of_root[r]);
    cluster_of[k] = cluster;
    ++members[cluster];
    if (batch.grad_norm[converged[k]] < batch.grad_norm[representatives[cluster]])
      representatives[cluster] = converged[k];
  }

  // Lexicographic order of the representatives, so the output does not depend on the order of the starts.
  std::vector<std::size_t> order(representatives.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const double* xa = &batch.x[representatives[a] * n];
    const double* xb = &batch.x[representatives[b] * n];
    return std::lexicographical_compare(xa, xa + n, xb, xb + n);
  });
  std::vector<std::ptrdiff_t> rank(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t start = representatives[order[k]];
    rank[order[k]] = std::ptrdiff_t(k);
    result.points.insert(result.points.end(), &batch.x[start * n], &batch.x[start * n] + n);
    result.basin_count.push_back(members[order[k]]);
    result.grad_norm.push_back(batch.grad_norm[start]);
  }
  for (std::size_t k = 0; k < converged.size(); ++k) result.basin_of_start[converged[k]] = rank[cluster_of[k]];
}

StartOutcome outcome_of(Phase phase) {
  switch (phase) {
    case Phase::Converged: return StartOutcome::Converged;
    case Phase::LeftBox: return StartOutcome::LeftBox;
    case Phase::Failed: return StartOutcome::Failed;
    case Phase::Active:
    case Phase::NotConverged: break;
  }
  return StartOutcome::NotConverged;
}

void count_outcomes(const Batch& batch, CriticalSearchResult& result) {
  result.starts = batch.count;
  result.outcome.resize(batch.count);
  result.iterations = batch.evaluations;
  for (std::size_t p = 0; p < batch.count; ++p) {
    result.outcome[p] = outcome_of(batch.phase[p]);
    switch (result.outcome[p]) {
      case StartOutcome::Converged: ++result.converged; break;
      case StartOutcome::LeftBox: ++result.left_box; break;
      case StartOutcome::NotConverged: ++result.not_converged; break;
      case StartOutcome::Failed: ++result.failed; break;
    }
  }
}

}  // namespace

CriticalSearchResult find_critical_points(const CompiledFunction& f, Backend& backend,
                                          const CriticalSearchOptions& options, const std::vector<double>& starts) {
  return find_critical_points(Objective{&f}, backend, options, starts);
}

CriticalSearchResult find_critical_points(const Objective& f, Backend& backend, const CriticalSearchOptions& options,
                                          const std::vector<double>& starts) {
  const auto clock_start = std::chrono::steady_clock::now();
  validate(f, options, starts);
  Batch batch(starts, f.dimension());
  Scales scales = scales_of(options);
  CriticalSearchResult result;
  result.n = batch.n;

  drop_starts_outside_box(options, batch);
  for (std::vector<std::size_t> active = active_starts(batch); !active.empty(); active = active_starts(batch)) {
    const std::vector<char> rejected = evaluate_trials(f, backend, options, active, batch);
    if (result.rounds++ == 0) scales.gradient_tolerance = options.gradient_rtol * median_start_gradient(batch);
    decide_and_step(options, scales, active, rejected, batch);
  }

  result.basin_of_start.assign(batch.count, -1);
  collect_unique_points(batch, scales.dedup_distance, result);
  count_outcomes(batch, result);
  result.gradient_tolerance = scales.gradient_tolerance;
  result.dedup_distance = scales.dedup_distance;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - clock_start).count();
  return result;
}

}  // namespace hessa
