// CPU backpropagation through the MLP loss: the exact gradient at many parameter vectors, and exact Hessian-vector
// products (Pearlmutter's R-operator, forward-over-reverse) at one vector, batched over directions so that every
// product with a shared W_l is one GEMM; the full Hessian is H e_j for all j, with the one-hot R W of unit directions.
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/cpu_stages.hpp"
#include "hessa/detail/mlp.hpp"

namespace hessa::cpu {
namespace {

// C = op(A) op(B) + beta C, column-major.
void gemm(bool trans_a, bool trans_b, int M, int N, int K, const double* A, int lda, const double* B, int ldb,
          double beta, double* C, int ldc) {
  cblas_dgemm(CblasColMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, M, N, K, 1.0, A,
              lda, B, ldb, beta, C, ldc);
}

struct LayerShape {
  int in, out;
  std::int64_t weight, bias;  // offsets in theta
  bool hidden;
};

std::vector<LayerShape> layer_shapes(const MlpModel& model) {
  std::vector<LayerShape> shapes;
  for (int l = 0; l < model.layer_count(); ++l) {
    shapes.push_back({model.widths[std::size_t(l)], model.widths[std::size_t(l) + 1],
                      detail::layer_weight_offset(model.widths.data(), l),
                      detail::layer_bias_offset(model.widths.data(), l), l + 1 < model.layer_count()});
  }
  return shapes;
}

// One parameter vector's forward and backward pass over all samples, each array column-major (width x m, one
// column per sample), carved from the caller's scratch. Per layer: z (pre-activations), a (activations; the output
// layer's a is its z), g = dL/dz; for second order also sigma'(z), (dL/da) sigma''(z) and the loss's curvature.
class Tape {
 public:
  Tape(const MlpModel& model, bool second_order) : model_(model), shapes_(layer_shapes(model)), second_(second_order) {}

  std::size_t size() const {
    const std::size_t m = model_.data.samples;
    std::size_t total = 0;
    for (const LayerShape& s : shapes_) total += std::size_t(s.out) * m * (s.hidden ? (second_ ? 5 : 3) : 2);
    return total + (second_ ? std::size_t(model_.outputs()) * m : 0);
  }

  void carve(double* base) {
    const std::size_t m = model_.data.samples;
    const std::size_t layers = shapes_.size();
    z_.assign(layers, nullptr);
    a_.assign(layers, nullptr);
    g_.assign(layers, nullptr);
    d1_.assign(layers, nullptr);
    ed2_.assign(layers, nullptr);
    auto take = [&](std::size_t count) {
      double* p = base;
      base += count;
      return p;
    };
    for (std::size_t l = 0; l < layers; ++l) {
      const std::size_t plane = std::size_t(shapes_[l].out) * m;
      z_[l] = take(plane);
      g_[l] = take(plane);
      a_[l] = shapes_[l].hidden ? take(plane) : z_[l];
      if (shapes_[l].hidden && second_) {
        d1_[l] = take(plane);
        ed2_[l] = take(plane);
      }
    }
    curvature_ = second_ ? take(std::size_t(model_.outputs()) * m) : nullptr;
  }

  // The forward pass of mlp_loss (the same calls, so the same loss to the bit), keeping every layer.
  double forward(const double* theta) {
    const std::size_t m = model_.data.samples;
    const double* input = model_.data.x.data();
    for (std::size_t l = 0; l < shapes_.size(); ++l) {
      mlp_preactivation(model_, theta, int(l), input, z_[l]);
      if (shapes_[l].hidden) {
        const std::size_t plane = std::size_t(shapes_[l].out) * m;
        std::copy(z_[l], z_[l] + plane, a_[l]);
        activate_layer(model_.activation, a_[l], plane);
      }
      input = a_[l];
    }
    return mlp_mean_loss(model_, z_.back());
  }

  // g_l for every layer, and the gradient (P values) unless `gradient` is nullptr:
  //   g_out = d sample_loss / dz / normalizer, dW_l = g_l a_{l-1}^T, db_l = sum_s g_l, g_{l-1} = W_l^T g_l (.) sigma'.
  void backward(const double* theta, double* gradient) {
    const int m = int(model_.data.samples);
    const int k = model_.outputs();
    const int targets = model_.data.targets;
    const double inverse = 1.0 / detail::loss_normalizer(model_.loss, m, k);
    double* g_out = g_.back();
    const double* z_out = z_.back();
    for (int s = 0; s < m; ++s) {
      const double* y = model_.data.y.data() + std::int64_t(s) * targets;
      detail::sample_loss_gradient(model_.loss, z_out + std::int64_t(s) * k, k, y, g_out + std::int64_t(s) * k);
      if (second_)
        detail::sample_loss_curvature(model_.loss, z_out + std::int64_t(s) * k, k, curvature_ + std::int64_t(s) * k);
    }
    for (std::int64_t i = 0; i < std::int64_t(m) * k; ++i) g_out[i] *= inverse;
    for (int l = int(shapes_.size()) - 1; l >= 0; --l) {
      const LayerShape& s = shapes_[std::size_t(l)];
      const double* input = l > 0 ? a_[std::size_t(l) - 1] : model_.data.x.data();
      const double* g = g_[std::size_t(l)];
      if (gradient != nullptr) {
        // dW_l^T (in x out, column-major: W's row-major storage) = A_{l-1} (in x m) g_l^T (m x out).
        gemm(false, true, s.in, s.out, m, input, s.in, g, s.out, 0.0, gradient + s.weight, s.in);
        double* db = gradient + s.bias;
        std::fill(db, db + s.out, 0.0);
        for (int c = 0; c < m; ++c)
          for (int o = 0; o < s.out; ++o) db[o] += g[std::int64_t(c) * s.out + o];
      }
      if (l == 0) break;
      // dL/da_{l-1} = W_l^T g_l (W_l's storage is W_l^T column-major), into g_{l-1}, then (.) sigma'(z_{l-1}).
      const std::size_t below = std::size_t(l) - 1;
      double* e = g_[below];
      gemm(false, false, s.in, m, s.out, theta + s.weight, s.in, g, s.out, 0.0, e, s.in);
      const std::int64_t plane = std::int64_t(s.in) * m;
      const double* z = z_[below];
      const double* a = a_[below];
      for (std::int64_t i = 0; i < plane; ++i) {
        const detail::ActivationSlopes<double> d = detail::activation_slopes(model_.activation, z[i], a[i]);
        if (second_) {
          d1_[below][i] = d.first;
          ed2_[below][i] = e[i] * d.second;
        }
        e[i] *= d.first;
      }
    }
  }

  const std::vector<LayerShape>& shapes() const { return shapes_; }
  const double* input(int l) const { return l > 0 ? a_[std::size_t(l) - 1] : model_.data.x.data(); }
  const double* a(int l) const { return a_[std::size_t(l)]; }
  const double* g(int l) const { return g_[std::size_t(l)]; }
  const double* d1(int l) const { return d1_[std::size_t(l)]; }
  const double* ed2(int l) const { return ed2_[std::size_t(l)]; }
  const double* curvature() const { return curvature_; }

 private:
  const MlpModel& model_;
  std::vector<LayerShape> shapes_;
  bool second_;
  std::vector<double*> z_, a_, g_, d1_, ed2_;
  double* curvature_ = nullptr;
};

// (direction, sample) columns per block of directions: the block's R-arrays (a few widths x columns doubles per
// layer) stay in a core's L2 cache, and the GEMMs over them are wide enough for BLAS. Tuned on the bundled MLP.
constexpr std::size_t kBlockColumns = 3200;
constexpr int kMaxBlockDirections = 64;

int block_directions(const MlpModel& model) {
  const std::size_t r = kBlockColumns / std::max<std::size_t>(model.data.samples, 1);
  return int(std::clamp<std::size_t>(r, 1, kMaxBlockDirections));
}

// One thread's arrays for a block of r directions. R-arrays have one column per (direction i, sample s), column
// index i + r s, so that W_l times all of them is one GEMM and a per-sample array broadcasts over directions:
// Rz_l (width x r m; R g_l overwrites it in the backward pass), Ra_l (hidden layers), Re (dL/da's R-value), and
// `t`, `gf`, `gb` (max in x out x r each: GEMM outputs and gathered R W_l of general directions).
struct BlockArrays {
  std::vector<double*> rz, ra;
  double *re = nullptr, *t = nullptr, *gf = nullptr, *gb = nullptr;

  static std::size_t size(const MlpModel& model, int r) {
    const std::size_t columns = std::size_t(r) * model.data.samples;
    std::size_t total = std::size_t(model.max_width()) * columns;
    std::size_t weights = 0;
    for (const LayerShape& s : layer_shapes(model)) {
      total += std::size_t(s.out) * columns * (s.hidden ? 2 : 1);
      weights = std::max(weights, std::size_t(s.in) * std::size_t(s.out) + std::size_t(s.out));
    }
    return total + 3 * weights * std::size_t(r);
  }

  void carve(const MlpModel& model, int r, double* base) {
    const std::size_t columns = std::size_t(r) * model.data.samples;
    auto take = [&](std::size_t count) {
      double* p = base;
      base += count;
      return p;
    };
    rz.clear();
    ra.clear();
    std::size_t weights = 0;
    for (const LayerShape& s : layer_shapes(model)) {
      rz.push_back(take(std::size_t(s.out) * columns));
      ra.push_back(s.hidden ? take(std::size_t(s.out) * columns) : nullptr);
      weights = std::max(weights, std::size_t(s.in) * std::size_t(s.out) + std::size_t(s.out));
    }
    re = take(std::size_t(model.max_width()) * columns);
    t = take(weights * std::size_t(r));
    gf = take(weights * std::size_t(r));
    gb = take(weights * std::size_t(r));
  }
};

// The directions of one block: r general rows (`rows`, P apart), or the unit vectors e_first .. e_{first + r - 1},
// all in one layer (`layer`), whose R W_l is one-hot: the R-pass starts at that layer and its R W terms are a row.
struct BlockDirections {
  const double* rows = nullptr;
  std::int64_t first = 0;
  int layer = 0;
};

// H v for the r directions of a block into hv (r rows, `ld` apart). The R-operator on the tape's pass:
//   forward   R z_l = R W_l a_{l-1} + W_l R a_{l-1} + R b_l,   R a_l = sigma'(z_l) (.) R z_l
//   output    R g_L = H_loss(z_L) R z_L / normalizer            (detail::sample_loss_hessian_apply)
//   backward  R dW_l = R g_l a_{l-1}^T + g_l R a_{l-1}^T,   R db_l = sum_s R g_l,
//             R e_{l-1} = W_l^T R g_l + R W_l^T g_l,   R g_{l-1} = R e_{l-1} (.) sigma' + e_{l-1} (.) sigma'' (.) R
//             z_{l-1}
class BlockProduct {
 public:
  BlockProduct(const MlpModel& model, const double* theta, const Tape& tape, BlockArrays& arrays)
      : model_(model), theta_(theta), tape_(tape), w_(arrays), shapes_(tape.shapes()) {}

  void compute(const BlockDirections& d, int r, double* hv, std::int64_t ld) {
    r_ = r;
    const bool unit = d.rows == nullptr;
    const int start = unit ? d.layer : 0;
    if (unit) unit_places(d);
    forward(d, start, unit);
    output_curvature();
    backward(d, start, unit, hv, ld);
  }

 private:
  // Unit direction i: weight (row_[i], col_[i]) of layer d.layer, or bias row_[i] (col_[i] = -1).
  void unit_places(const BlockDirections& d) {
    const LayerShape& s = shapes_[std::size_t(d.layer)];
    row_.resize(std::size_t(r_));
    col_.resize(std::size_t(r_));
    for (int i = 0; i < r_; ++i) {
      const std::int64_t q = d.first + i - s.weight;
      const bool weight = q < std::int64_t(s.in) * s.out;
      row_[std::size_t(i)] = weight ? int(q / s.in) : int(q - std::int64_t(s.in) * s.out);
      col_[std::size_t(i)] = weight ? int(q % s.in) : -1;
    }
  }

  const double* direction(const BlockDirections& d, int i) const { return d.rows + std::int64_t(i) * parameters(); }
  std::int64_t parameters() const { return model_.parameter_count(); }
  int samples() const { return int(model_.data.samples); }

  void forward(const BlockDirections& d, int start, bool unit) {
    const int m = samples(), r = r_;
    for (int l = start; l < int(shapes_.size()); ++l) {
      const LayerShape& s = shapes_[std::size_t(l)];
      double* rz = w_.rz[std::size_t(l)];
      const std::int64_t plane = std::int64_t(s.out) * r * m;
      const double* input = tape_.input(l);
      if (unit && l == start) {
        // R z_l = R W_l a_{l-1} + R b_l: row row_[i] of direction i's columns is a_{l-1}[col_[i], s] (or 1).
        std::fill(rz, rz + plane, 0.0);
        for (int c = 0; c < m; ++c) {
          for (int i = 0; i < r; ++i) {
            const int col = col_[std::size_t(i)];
            rz[row_[std::size_t(i)] + std::int64_t(s.out) * (i + std::int64_t(r) * c)] =
                col >= 0 ? input[col + std::int64_t(s.in) * c] : 1.0;
          }
        }
      } else if (unit && l == start + 1) {
        // W_l R a_{l-1} with R a_{l-1} one row per direction: a rank-one column of W_l times that row.
        const double* ra = w_.ra[std::size_t(l) - 1];
        const double* W = theta_ + s.weight;
        for (int c = 0; c < m; ++c) {
          for (int i = 0; i < r; ++i) {
            const std::int64_t column = i + std::int64_t(r) * c;
            const int row = row_[std::size_t(i)];
            const double v = ra[row + std::int64_t(s.in) * column];
            double* out = rz + std::int64_t(s.out) * column;
            for (int o = 0; o < s.out; ++o) out[o] = W[std::int64_t(o) * s.in + row] * v;
          }
        }
      } else {
        double beta = 0.0;
        if (!unit) {
          // Gathered R W_l, rows (o, i): gf[(o + out i) + out r c] = v_i[weight + o in + c]; then (out r x in) A.
          for (int i = 0; i < r; ++i) {
            const double* v = direction(d, i) + s.weight;
            for (int o = 0; o < s.out; ++o)
              for (int c = 0; c < s.in; ++c)
                w_.gf[o + s.out * (i + std::int64_t(r) * c)] = v[std::int64_t(o) * s.in + c];
          }
          gemm(false, false, s.out * r, m, s.in, w_.gf, s.out * r, input, s.in, 0.0, rz, s.out * r);
          beta = 1.0;
        }
        if (l > start) {
          gemm(true, false, s.out, r * m, s.in, theta_ + s.weight, s.in, w_.ra[std::size_t(l) - 1], s.in, beta, rz,
               s.out);
        }
        if (!unit) {
          for (int c = 0; c < m; ++c) {
            for (int i = 0; i < r; ++i) {
              const double* b = direction(d, i) + s.bias;
              double* out = rz + std::int64_t(s.out) * (i + std::int64_t(r) * c);
              for (int o = 0; o < s.out; ++o) out[o] += b[o];
            }
          }
        }
      }
      if (s.hidden) broadcast_multiply(tape_.d1(l), rz, s.out, w_.ra[std::size_t(l)]);
    }
  }

  // out[(o, i, s)] = per_sample[o + width s] * in[(o, i, s)] over the block's columns.
  void broadcast_multiply(const double* per_sample, const double* in, int width, double* out) const {
    const int m = samples(), r = r_;
    for (int c = 0; c < m; ++c) {
      const double* p = per_sample + std::int64_t(width) * c;
      for (int i = 0; i < r; ++i) {
        const std::int64_t base = std::int64_t(width) * (i + std::int64_t(r) * c);
#pragma omp simd
        for (int o = 0; o < width; ++o) out[base + o] = p[o] * in[base + o];
      }
    }
  }

  // R g_L = H_loss R z_L / normalizer, in place.
  void output_curvature() {
    const int m = samples(), r = r_, k = model_.outputs();
    const double inverse = 1.0 / detail::loss_normalizer(model_.loss, m, k);
    double* rz = w_.rz.back();
    const double* curvature = tape_.curvature();
    for (int c = 0; c < m; ++c) {
      for (int i = 0; i < r; ++i) {
        double* v = rz + std::int64_t(k) * (i + std::int64_t(r) * c);
        detail::sample_loss_hessian_apply(model_.loss, curvature + std::int64_t(k) * c, k, v, inverse, v);
      }
    }
  }

  void backward(const BlockDirections& d, int start, bool unit, double* hv, std::int64_t ld) {
    const int m = samples(), r = r_;
    for (int l = int(shapes_.size()) - 1; l >= 0; --l) {
      const LayerShape& s = shapes_[std::size_t(l)];
      const double* rg = w_.rz[std::size_t(l)];
      const double* g = tape_.g(l);
      // R dW_l's first term, transposed: a_{l-1} (in x m) R g_l^T (m x out r): direction i's in x out block is
      // contiguous and in W's storage order.
      gemm(false, true, s.in, s.out * r, m, tape_.input(l), s.in, rg, s.out * r, 0.0, w_.t, s.in);
      const std::int64_t block = std::int64_t(s.in) * s.out;
      for (int i = 0; i < r; ++i) std::memcpy(hv + i * ld + s.weight, w_.t + i * block, sizeof(double) * block);
      // The second term, g_l R a_{l-1}^T, where R a_{l-1} is not zero.
      if (l > start + 1 || (!unit && l > start)) {
        // (R a_{l-1} as in r x m) g_l^T: t[(c + in i) + in r o].
        gemm(false, true, s.in * r, s.out, m, w_.ra[std::size_t(l) - 1], s.in * r, g, s.out, 0.0, w_.t, s.in * r);
        for (int i = 0; i < r; ++i) {
          double* out = hv + i * ld + s.weight;
          for (int o = 0; o < s.out; ++o) {
            const double* t = w_.t + s.in * (i + std::int64_t(r) * o);
            for (int c = 0; c < s.in; ++c) out[std::int64_t(o) * s.in + c] += t[c];
          }
        }
      } else if (unit && l == start + 1) {
        // R a_{l-1} is row row_[i]: only column row_[i] of direction i's R dW_l gets g_l times that row.
        const double* ra = w_.ra[std::size_t(l) - 1];
        for (int i = 0; i < r; ++i) {
          const int row = row_[std::size_t(i)];
          double* out = hv + i * ld + s.weight + row;
          for (int c = 0; c < m; ++c) {
            const double v = ra[row + std::int64_t(s.in) * (i + std::int64_t(r) * c)];
            const double* gc = g + std::int64_t(s.out) * c;
            for (int o = 0; o < s.out; ++o) out[std::int64_t(o) * s.in] += gc[o] * v;
          }
        }
      }
      // R db_l = row sums of R g_l over the samples.
      double* sums = w_.t;
      std::fill(sums, sums + std::int64_t(s.out) * r, 0.0);
      for (int c = 0; c < m; ++c) {
        const double* column = rg + std::int64_t(s.out) * r * c;
#pragma omp simd
        for (std::int64_t j = 0; j < std::int64_t(s.out) * r; ++j) sums[j] += column[j];
      }
      for (int i = 0; i < r; ++i)
        std::memcpy(hv + i * ld + s.bias, sums + std::int64_t(s.out) * i, sizeof(double) * s.out);
      if (l == 0) break;
      // R e_{l-1} = W_l^T R g_l (+ R W_l^T g_l).
      double* re = w_.re;
      gemm(false, false, s.in, r * m, s.out, theta_ + s.weight, s.in, rg, s.out, 0.0, re, s.in);
      if (!unit) {
        // Gathered R W_l^T, rows (c, i): gb[(c + in i) + in r o] = v_i[weight + o in + c]; times g_l (out x m).
        for (int i = 0; i < r; ++i) {
          const double* v = direction(d, i) + s.weight;
          for (int o = 0; o < s.out; ++o)
            for (int c = 0; c < s.in; ++c) w_.gb[c + s.in * (i + std::int64_t(r) * o)] = v[std::int64_t(o) * s.in + c];
        }
        gemm(false, false, s.in * r, m, s.out, w_.gb, s.in * r, g, s.out, 1.0, re, s.in * r);
      } else if (l == start) {
        // One-hot R W_l: row col_[i] of direction i's R e gets g_l's row row_[i] (nothing for a bias).
        for (int c = 0; c < m; ++c) {
          for (int i = 0; i < r; ++i) {
            const int col = col_[std::size_t(i)];
            if (col >= 0)
              re[col + std::int64_t(s.in) * (i + std::int64_t(r) * c)] +=
                  g[row_[std::size_t(i)] + std::int64_t(s.out) * c];
          }
        }
      }
      // R g_{l-1} over R z_{l-1}'s storage; R z_{l-1} = 0 below the block's first layer.
      const int below = l - 1;
      double* rg_below = w_.rz[std::size_t(below)];
      const double* d1 = tape_.d1(below);
      const double* ed2 = tape_.ed2(below);
      const bool moved = below >= start;
      for (int c = 0; c < m; ++c) {
        const double* p1 = d1 + std::int64_t(s.in) * c;
        const double* p2 = ed2 + std::int64_t(s.in) * c;
        for (int i = 0; i < r; ++i) {
          const std::int64_t base = std::int64_t(s.in) * (i + std::int64_t(r) * c);
          if (moved) {
#pragma omp simd
            for (int o = 0; o < s.in; ++o) rg_below[base + o] = re[base + o] * p1[o] + p2[o] * rg_below[base + o];
          } else {
#pragma omp simd
            for (int o = 0; o < s.in; ++o) rg_below[base + o] = re[base + o] * p1[o];
          }
        }
      }
    }
  }

 private:
  const MlpModel& model_;
  const double* theta_;
  const Tape& tape_;
  BlockArrays& w_;
  const std::vector<LayerShape>& shapes_;
  int r_ = 0;
  std::vector<int> row_, col_;
};

// Threads for `blocks` blocks of directions: one inside an enclosing parallel region (its caller's threads are
// already busy), else OpenMP's count, never more than there are blocks.
int block_threads(std::int64_t blocks) {
  if (omp_in_parallel()) return 1;
  return int(std::max<std::int64_t>(1, std::min<std::int64_t>(omp_get_max_threads(), blocks)));
}

// Scratch for a tape and `threads` threads' block arrays after it.
std::size_t product_scratch(const MlpModel& model, std::size_t tape_size, int threads) {
  return tape_size + std::size_t(threads) * BlockArrays::size(model, block_directions(model));
}

// Runs block(product, b) for b = 0 .. blocks - 1 over `threads` OpenMP threads, each with its own BlockArrays
// carved from scratch after the tape (scratch sized by product_scratch).
template <class Block>
void for_each_block(const MlpModel& model, const double* theta, const Tape& tape, std::size_t tape_size,
                    std::int64_t blocks, int threads, double* scratch, const Block& block) {
  const int r = block_directions(model);
  const std::size_t per_thread = BlockArrays::size(model, r);
  if (threads > 1) use_single_threaded_blas();
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    BlockArrays arrays;
    arrays.carve(model, r, scratch + tape_size + std::size_t(omp_get_thread_num()) * per_thread);
    BlockProduct product(model, theta, tape, arrays);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t b = 0; b < blocks; ++b) block(product, b, r);
  }
}

}  // namespace

void mlp_loss_gradient(const MlpModel& model, const double* parameters, std::size_t count, double* losses,
                       double* gradients, std::vector<double>& scratch) {
  const std::int64_t P = model.parameter_count();
  Tape tape(model, false);
  scratch.resize(tape.size());
  tape.carve(scratch.data());
  for (std::size_t v = 0; v < count; ++v) {
    const double* theta = parameters + std::int64_t(v) * P;
    losses[v] = tape.forward(theta);
    tape.backward(theta, gradients + std::int64_t(v) * P);
  }
}

void mlp_loss_hvp(const MlpModel& model, const double* theta, const double* directions, std::size_t r, double* loss,
                  double* gradient, double* hv, std::vector<double>& scratch) {
  const std::int64_t P = model.parameter_count();
  const std::int64_t blocks = mlp_hvp_blocks(model, r);
  const int threads = block_threads(blocks);
  Tape tape(model, true);
  const std::size_t tape_size = tape.size();
  scratch.resize(product_scratch(model, tape_size, threads));
  tape.carve(scratch.data());
  const double value = tape.forward(theta);
  tape.backward(theta, gradient);
  if (loss != nullptr) *loss = value;
  for_each_block(model, theta, tape, tape_size, blocks, threads, scratch.data(),
                 [&](BlockProduct& product, std::int64_t b, int size) {
                   const std::int64_t first = b * size;
                   BlockDirections d;
                   d.rows = directions + first * P;
                   product.compute(d, int(std::min<std::int64_t>(size, std::int64_t(r) - first)), hv + first * P, P);
                 });
}

std::int64_t mlp_hvp_blocks(const MlpModel& model, std::size_t r) {
  const int block = block_directions(model);
  return (std::int64_t(r) + block - 1) / block;
}

void mlp_full_hessian(const MlpModel& model, const double* theta, double* loss, double* gradient, double* H,
                      std::vector<double>& scratch, double* asymmetry) {
  const std::int64_t P = model.parameter_count();
  const int block = block_directions(model);
  // Blocks never straddle a layer: every unit direction of a block starts its R-pass in the same layer.
  struct Range {
    std::int64_t first;
    int count, layer;
  };
  std::vector<Range> ranges;
  for (int l = 0; l < model.layer_count(); ++l) {
    const std::int64_t begin = detail::layer_weight_offset(model.widths.data(), l);
    const std::int64_t end = detail::layer_weight_offset(model.widths.data(), l + 1);
    for (std::int64_t j = begin; j < end; j += block)
      ranges.push_back({j, int(std::min<std::int64_t>(block, end - j)), l});
  }
  const int threads = block_threads(std::int64_t(ranges.size()));
  Tape tape(model, true);
  const std::size_t tape_size = tape.size();
  scratch.resize(product_scratch(model, tape_size, threads));
  tape.carve(scratch.data());
  const double value = tape.forward(theta);
  tape.backward(theta, gradient);
  if (loss != nullptr) *loss = value;
  for_each_block(model, theta, tape, tape_size, std::int64_t(ranges.size()), threads, scratch.data(),
                 [&](BlockProduct& product, std::int64_t b, int) {
                   const Range& range = ranges[std::size_t(b)];
                   BlockDirections d;
                   d.first = range.first;
                   d.layer = range.layer;
                   // Column j of H (column-major) is H e_j: direction i of the block writes column first + i.
                   product.compute(d, range.count, H + range.first * P, P);
                 });
  double worst = 0.0;
  for (std::int64_t j = 0; j < P; ++j) {
    for (std::int64_t i = j + 1; i < P; ++i) {
      double& lower = H[i + j * P];
      double& upper = H[j + i * P];
      worst = std::max(worst, std::fabs(lower - upper));
      const double mean = 0.5 * (lower + upper);
      lower = mean;
      upper = mean;
    }
  }
  if (asymmetry != nullptr) *asymmetry = worst;
}

}  // namespace hessa::cpu
