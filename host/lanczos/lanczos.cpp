// Lanczos with full reorthogonalization for the extreme eigenvalues of H, and Hutchinson's trace estimate, for a
// batch of points in lock step over Backend::hessian_vector_products (include/hessa/lanczos.hpp).
//
// Why full reorthogonalization and not a block or restarted variant: the Krylov dimensions needed here are small
// (tens of steps for a tolerance of 1e-8 at both ends), the basis of m vectors is the memory the method needs
// anyway, and with two Gram-Schmidt passes the basis stays orthogonal to rounding, so the Ritz values have no
// spurious copies and the residual estimates |beta_j s_j| are trustworthy. Both ends come from the same
// tridiagonal T: no shift-and-repeat as in the loss-landscape code's second eigsh on H - 0.51 lambda_max I.
// The residuals reported are not the estimates but ||H y - theta y||, one more HVP per Ritz vector.
#include "hessa/lanczos.hpp"

#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "hessa/errors.hpp"

namespace hessa {
namespace {

constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr int kTraceProbeBlock = 8;                               // probes per HVP call
constexpr std::uint64_t kDensityStream = std::uint64_t(1) << 40;  // random streams: 1 start, 2 + j trace probes

// Counter-based random numbers: the same values for a point whatever the batch it is computed in.
std::uint64_t mix(std::uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
std::uint64_t random_bits(std::uint64_t seed, std::uint64_t point, std::uint64_t stream, std::uint64_t i) {
  return mix(mix(mix(mix(seed) ^ point) ^ stream) ^ i);
}
double uniform_open(std::uint64_t bits) { return (double(bits >> 11) + 0.5) * 0x1.0p-53; }  // in (0, 1)

// The start vector: standard normal entries (Box-Muller), normalized.
void start_vector(std::uint64_t seed, std::uint64_t point, int n, double* q) {
  double norm2 = 0.0;
  for (int i = 0; i < n; ++i) {
    const double u1 = uniform_open(random_bits(seed, point, 1, 2 * std::uint64_t(i)));
    const double u2 = uniform_open(random_bits(seed, point, 1, 2 * std::uint64_t(i) + 1));
    q[i] = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    norm2 += q[i] * q[i];
  }
  const double scale = 1.0 / std::sqrt(norm2);
  for (int i = 0; i < n; ++i) q[i] *= scale;
}

double dot(int n, const double* a, const double* b) {
  double s = 0.0;
  for (int i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

// The Ritz pairs of the leading s x s block of T (alpha, beta): ascending values, and S's columns (s x s).
bool ritz_pairs(int s, const double* alpha, const double* beta, std::vector<double>& theta, std::vector<double>& S) {
  theta.assign(alpha, alpha + s);
  std::vector<double> off(beta, beta + std::max(s - 1, 0));
  off.resize(std::size_t(std::max(s, 1)));
  S.assign(std::size_t(s) * std::size_t(s), 0.0);
  return LAPACKE_dstev(LAPACK_COL_MAJOR, 'V', s, theta.data(), off.data(), S.data(), s) == 0;
}

// The indices (into s ascending Ritz values) reported: the k lowest, then the k highest (they overlap when 2k > s).
std::vector<int> reported(int s, int k) {
  std::vector<int> idx;
  for (int i = 0; i < k; ++i) idx.push_back(std::min(i, s - 1));
  for (int i = 0; i < k; ++i) idx.push_back(std::max(s - k + i, 0));
  return idx;
}

struct PointState {
  int steps = 0;  // Krylov vectors built (q_0 .. q_{steps-1})
  bool done = false;
  bool converged = false;
  bool failed = false;  // a non-finite HVP
};

// The Krylov bases (count x (m + 1) x n), alpha and beta (count x m) and states of a batch of points.
struct Krylov {
  Krylov(std::size_t count, int n_, int m_)
      : n(n_),
        m(m_),
        Q(count * std::size_t(m_ + 1) * std::size_t(n_)),
        alpha(count * std::size_t(m_)),
        beta(count * std::size_t(m_)),
        state(count) {}
  double* basis(std::size_t p, int j) { return Q.data() + (p * std::size_t(m + 1) + std::size_t(j)) * std::size_t(n); }
  int n, m;
  std::vector<double> Q, alpha, beta;
  std::vector<PointState> state;
};

// Lanczos with full reorthogonalization from the unit start vectors in kr.basis(p, 0), every point in lock step
// (one batched HVP call a step). k > 0: a point stops once its k lowest and k highest Ritz values have residual
// estimates beta_j |s_ji| <= tol max|theta|; k = 0: it runs kr.m steps (SLQ). Either stops at an invariant
// subspace. f and g (count, count x n) receive the first HVP's loss and gradient, when not null.
void iterate(Backend& backend, const Objective& inner, const double* points, std::size_t count, Krylov& kr, int k,
             double tol, double* f_out, double* g_out) {
  const int n = kr.n, m = kr.m;
  const auto un = std::size_t(n);
  const std::size_t k2 = 2 * std::size_t(k);
  std::vector<PointState>& state = kr.state;
  const auto basis = [&](std::size_t p, int j) { return kr.basis(p, j); };
  std::vector<double>& alpha = kr.alpha;
  std::vector<double>& beta = kr.beta;
  std::vector<std::size_t> active(count);
  for (std::size_t p = 0; p < count; ++p) active[p] = p;
  std::vector<double> at, directions, fx, g, hv;
  for (int j = 0; j < m && !active.empty(); ++j) {
    const std::size_t na = active.size();
    at.resize(na * un);
    directions.resize(na * un);
    fx.resize(na);
    g.resize(na * un);
    hv.resize(na * un);
    for (std::size_t a = 0; a < na; ++a) {
      std::copy(points + active[a] * un, points + active[a] * un + un, at.data() + a * un);
      std::copy(basis(active[a], j), basis(active[a], j) + un, directions.data() + a * un);
    }
    backend.hessian_vector_products(inner, at.data(), na, directions.data(), un, 1, fx.data(), g.data(), hv.data());
#pragma omp parallel
    {
      std::vector<double> theta, S;
#pragma omp for schedule(dynamic, 1)
      for (std::int64_t a = 0; a < std::int64_t(na); ++a) {
        const std::size_t p = active[std::size_t(a)];
        PointState& st = state[p];
        if (j == 0 && f_out != nullptr) {
          f_out[p] = fx[std::size_t(a)];
          std::copy(g.data() + std::size_t(a) * un, g.data() + std::size_t(a) * un + un, g_out + p * un);
        }
        double* w = hv.data() + std::size_t(a) * un;
        const double* q = basis(p, j);
        double* al = alpha.data() + p * std::size_t(m);
        double* be = beta.data() + p * std::size_t(m);
        al[j] = dot(n, q, w);
        for (int i = 0; i < n; ++i) w[i] -= al[j] * q[i] + (j > 0 ? be[j - 1] * basis(p, j - 1)[i] : 0.0);
        for (int pass = 0; pass < 2; ++pass) {  // classical Gram-Schmidt twice: orthogonal to rounding
          for (int i = 0; i <= j; ++i) {
            const double* qi = basis(p, i);
            const double c = dot(n, qi, w);
            for (int t = 0; t < n; ++t) w[t] -= c * qi[t];
          }
        }
        be[j] = std::sqrt(dot(n, w, w));
        st.steps = j + 1;
        if (!std::isfinite(al[j]) || !std::isfinite(be[j])) {
          st.failed = st.done = true;
          continue;
        }
        bool stop = j + 1 == m;
        if (k == 0) {  // fixed steps: stop early only at an invariant subspace (beta negligible beside T's scale)
          double scale = 0.0;
          for (int i = 0; i <= j; ++i) scale = std::max(scale, std::fabs(al[i]) + (i > 0 ? be[i - 1] : 0.0));
          st.converged = be[j] <= kEps * std::sqrt(double(n)) * scale;
          stop = stop || st.converged;
        } else {
          // Converged? The Ritz values of T_{j+1} and their residual estimates beta_j |s_{j, i}|.
          if (!ritz_pairs(j + 1, al, be, theta, S)) {
            st.failed = st.done = true;
            continue;
          }
          const double scale = std::max(std::fabs(theta.front()), std::fabs(theta.back()));
          const bool invariant = be[j] <= kEps * std::sqrt(double(n)) * std::max(scale, std::fabs(al[j]));
          bool small = j + 1 >= std::min<int>(int(k2), n);
          for (int i : reported(j + 1, k)) {  // the last row of S: column i's entry j
            small = small && be[j] * std::fabs(S[std::size_t(i) * std::size_t(j + 1) + std::size_t(j)]) <= tol * scale;
          }
          st.converged = invariant;  // else decided by the true residuals (lanczos_analysis)
          stop = stop || invariant || small;
        }
        if (stop) {
          st.done = true;
          continue;
        }
        const double inv = 1.0 / be[j];
        double* next = basis(p, j + 1);
        for (int i = 0; i < n; ++i) next[i] = w[i] * inv;
      }
    }
    std::vector<std::size_t> still;
    for (std::size_t p : active)
      if (!state[p].done) still.push_back(p);
    active.swap(still);
  }
}

}  // namespace

void lanczos_probe(std::uint64_t seed, std::uint64_t point, int probe, int n, double* v) {
  const double entry = 1.0 / std::sqrt(double(n));
  for (int i = 0; i < n; ++i) {
    const bool negative =
        (random_bits(seed, point, kDensityStream + std::uint64_t(probe), std::uint64_t(i)) >> 63) != 0;
    v[i] = negative ? -entry : entry;
  }
}

namespace {
// The Krylov dimension a point's analysis reaches at most: the extremes' steps or the density's, capped at n.
std::size_t krylov_steps(int n, const LanczosOptions& options) {
  return std::size_t(std::min(std::max(options.max_steps, options.density_probes > 0 ? options.density_steps : 0), n));
}
}  // namespace

std::size_t lanczos_vectors_per_point(int n, const LanczosOptions& options) {
  const std::size_t k2 = 2 * std::size_t(std::min(options.k, n));
  // basis m + 1, the HVP's point / direction / product / gradient, 2k Ritz vectors and their products, probes.
  return (krylov_steps(n, options) + 1) + 4 + 2 * (k2 + 1) + std::size_t(kTraceProbeBlock) * 2;
}

std::size_t lanczos_bytes_per_point(int n, const LanczosOptions& options) {
  const std::size_t m = krylov_steps(n, options);
  const std::size_t k2 = 2 * std::size_t(std::min(options.k, n));
  return lanczos_vectors_per_point(n, options) * std::size_t(n) * sizeof(double) + (4 * m + 8 * k2) * sizeof(double);
}

void lanczos_analysis(Backend& backend, const Objective& objective, const double* points, std::size_t count,
                      std::uint64_t first_index, const LanczosOptions& options, LanczosResult& out) {
  if (options.k < 1) throw InputError("lanczos: k must be >= 1, found " + std::to_string(options.k));
  if (options.max_steps < 1)
    throw InputError("lanczos: steps must be >= 1, found " + std::to_string(options.max_steps));
  if (!(options.tol > 0.0 && options.tol < 1.0)) throw InputError("lanczos: tol must be in (0, 1)");
  if (options.trace_probes < 0) throw InputError("lanczos: trace_probes must be >= 0");
  if (options.density_probes < 0) throw InputError("lanczos: density_probes must be >= 0");
  if (options.density_probes > 0 && options.density_steps < 1) throw InputError("lanczos: density_steps must be >= 1");
  Objective inner = objective;
  inner.subspace = nullptr;
  const int n = inner.inner_dimension();
  const auto un = std::size_t(n);
  const int m = std::min(options.max_steps, n);
  const int k = std::min(options.k, n);
  const std::size_t k2 = 2 * std::size_t(k);
  out = LanczosResult{};
  out.count = count;
  out.n = n;
  out.k = k;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.f.assign(count, nan);
  out.gradient.assign(count * un, nan);
  out.lowest.assign(count * std::size_t(k), nan);
  out.highest.assign(count * std::size_t(k), nan);
  out.lowest_residual.assign(count * std::size_t(k), nan);
  out.highest_residual.assign(count * std::size_t(k), nan);
  out.steps.assign(count, 0);
  out.converged.assign(count, 0);
  out.gHg.assign(count, nan);
  out.trace.assign(count, nan);
  out.trace_se.assign(count, nan);
  if (options.ritz_vectors) out.ritz_vectors.assign(count * k2 * un, nan);
  if (count == 0) return;

  // The Krylov bases, alpha and beta of every point.
  Krylov kr(count, n, m);
  for (std::size_t p = 0; p < count; ++p) start_vector(options.seed, first_index + p, n, kr.basis(p, 0));
  iterate(backend, inner, points, count, kr, k, options.tol, out.f.data(), out.gradient.data());
  std::vector<PointState>& state = kr.state;
  const auto basis = [&](std::size_t p, int j) { return kr.basis(p, j); };
  std::vector<double>& alpha = kr.alpha;
  std::vector<double>& beta = kr.beta;

  // Ritz vectors of the reported values, and their true residuals, with g'Hg: one HVP call of 2k + 1 directions.
  const std::size_t r = k2 + 1;
  std::vector<double> ritz(count * r * un, 0.0), products(count * r * un), f2(count), g2(count * un);
  std::vector<std::vector<double>> thetas(count);
#pragma omp parallel
  {
    std::vector<double> S;
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t sp = 0; sp < std::int64_t(count); ++sp) {
      const auto p = std::size_t(sp);
      const PointState& st = state[p];
      double* y = ritz.data() + p * r * un;
      std::copy(out.gradient.data() + p * un, out.gradient.data() + p * un + un, y + k2 * un);
      if (st.failed ||
          !ritz_pairs(st.steps, alpha.data() + p * std::size_t(m), beta.data() + p * std::size_t(m), thetas[p], S)) {
        state[p].failed = true;
        continue;
      }
      const std::vector<int> idx = reported(st.steps, k);
      for (std::size_t c = 0; c < k2; ++c) {
        double* yc = y + c * un;
        for (int i = 0; i < st.steps; ++i) {
          const double s = S[std::size_t(idx[c]) * std::size_t(st.steps) + std::size_t(i)];
          const double* qi = basis(p, i);
          for (int t = 0; t < n; ++t) yc[t] += s * qi[t];
        }
      }
    }
  }
  backend.hessian_vector_products(inner, points, count, ritz.data(), r * un, int(r), f2.data(), g2.data(),
                                  products.data());
  for (std::size_t p = 0; p < count; ++p) {
    const PointState& st = state[p];
    out.steps[p] = st.steps;
    const double* y = ritz.data() + p * r * un;
    const double* hy = products.data() + p * r * un;
    out.gHg[p] = dot(n, y + k2 * un, hy + k2 * un);
    if (st.failed) continue;
    const std::vector<int> idx = reported(st.steps, k);
    const double scale = std::max(std::fabs(thetas[p].front()), std::fabs(thetas[p].back()));
    bool within = true;
    for (std::size_t c = 0; c < k2; ++c) {
      const double th = thetas[p][std::size_t(idx[c])];
      double res2 = 0.0;
      for (int t = 0; t < n; ++t) {
        const double d = hy[c * un + std::size_t(t)] - th * y[c * un + std::size_t(t)];
        res2 += d * d;
      }
      const double res = std::sqrt(res2);
      within = within && res <= options.tol * scale;
      const bool low = c < std::size_t(k);
      const std::size_t slot = p * std::size_t(k) + (low ? c : c - std::size_t(k));
      (low ? out.lowest : out.highest)[slot] = th;
      (low ? out.lowest_residual : out.highest_residual)[slot] = res;
      if (options.ritz_vectors) std::copy(y + c * un, y + c * un + un, out.ritz_vectors.data() + (p * k2 + c) * un);
    }
    out.converged[p] = std::uint8_t(st.converged || within);
  }

  // Hutchinson: tr H ~ mean of z'Hz over Rademacher z, with the standard error of that mean.
  if (options.trace_probes > 0) {
    std::vector<double> sum(count, 0.0), sum2(count, 0.0);
    for (int first = 0; first < options.trace_probes; first += kTraceProbeBlock) {
      const int block = std::min(kTraceProbeBlock, options.trace_probes - first);
      const std::size_t bn = std::size_t(block) * un;
      std::vector<double> z(count * bn), hz(count * bn), tf(count), tg(count * un);
      for (std::size_t p = 0; p < count; ++p) {
        for (std::size_t i = 0; i < bn; ++i) {
          const std::uint64_t probe = std::uint64_t(first) + i / un;
          z[p * bn + i] = (random_bits(options.seed, first_index + p, 2 + probe, i % un) >> 63) != 0 ? 1.0 : -1.0;
        }
      }
      backend.hessian_vector_products(inner, points, count, z.data(), bn, block, tf.data(), tg.data(), hz.data());
      for (std::size_t p = 0; p < count; ++p) {
        for (int b = 0; b < block; ++b) {
          const double v = dot(n, z.data() + p * bn + std::size_t(b) * un, hz.data() + p * bn + std::size_t(b) * un);
          sum[p] += v;
          sum2[p] += v * v;
        }
      }
    }
    const double probes = double(options.trace_probes);
    for (std::size_t p = 0; p < count; ++p) {
      out.trace[p] = sum[p] / probes;
      const double variance =
          probes > 1 ? std::max(0.0, (sum2[p] - probes * out.trace[p] * out.trace[p]) / (probes - 1)) : nan;
      out.trace_se[p] = std::sqrt(variance / probes);
    }
  }

  // Stochastic Lanczos quadrature: per probe, density_steps of Lanczos (fixed, full reorthogonalization), the
  // Ritz values as nodes and the squared first entries of T's eigenvectors as weights.
  if (options.density_probes > 0) {
    const int ms = std::min(options.density_steps, n);
    const auto nv = std::size_t(options.density_probes);
    out.density_m = ms;
    out.density_nodes.assign(count * nv * std::size_t(ms), nan);
    out.density_weights.assign(count * nv * std::size_t(ms), 0.0);
    Krylov probe(count, n, ms);
    std::vector<double> theta, S;
    for (std::size_t v = 0; v < nv; ++v) {
      probe.state.assign(count, PointState{});
      for (std::size_t p = 0; p < count; ++p)
        lanczos_probe(options.seed, first_index + p, int(v), n, probe.basis(p, 0));
      iterate(backend, inner, points, count, probe, 0, 0.0, nullptr, nullptr);
      for (std::size_t p = 0; p < count; ++p) {
        const PointState& st = probe.state[p];
        if (st.failed || !ritz_pairs(st.steps, probe.alpha.data() + p * std::size_t(ms),
                                     probe.beta.data() + p * std::size_t(ms), theta, S)) {
          continue;
        }
        double* nodes = out.density_nodes.data() + (p * nv + v) * std::size_t(ms);
        double* weights = out.density_weights.data() + (p * nv + v) * std::size_t(ms);
        for (int i = 0; i < st.steps; ++i) {
          nodes[i] = theta[std::size_t(i)];
          const double first = S[std::size_t(i) * std::size_t(st.steps)];
          weights[i] = first * first;
        }
      }
    }
  }
}

}  // namespace hessa
