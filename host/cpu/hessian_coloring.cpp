// The structural sparsity of H from a tape, and a column coloring that lets the exact stencil sweep one tangent per
// color instead of one per coordinate (Curtis-Powell-Reid: no two columns of a color share a row, so each entry of
// H d_color is one H_ij). The pattern is the tape's nonlinear interactions (a product couples its operands'
// inputs, a nonlinear function couples its operand's inputs with themselves, linear and piecewise-linear ops couple
// nothing): a superset of the nonzeros of H at every point. Chains such as rosenbrock's get 3 colors at any n.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cpu/cpu_stages.hpp"

namespace hessa::cpu {
namespace {

using detail::Op;
using Word = std::uint64_t;

// Analysis memory bound: node dependency sets of n bits each.
constexpr std::size_t kMaxWords = std::size_t(1) << 22;  // 32 MiB
// Column pairs the greedy coloring may visit (a dense H of n = 256 is 2^24).
constexpr std::size_t kMaxColoringWork = std::size_t(1) << 26;

bool couples_itself(const detail::TapeNode& node) {
  switch (node.op) {
    case Op::Const:
    case Op::LoadX:
    case Op::Neg:
    case Op::Add:
    case Op::Sub:
    case Op::Mul:
    case Op::Div:
    case Op::Min:
    case Op::Max:
    case Op::Abs: return false;
    case Op::PowI: return node.b != 0 && node.b != 1;
    default: return true;  // the elementary functions, Pow, Atan2, Hypot
  }
}

}  // namespace

std::optional<HessianColoring> color_hessian(const detail::TapeView& tape, int n) {
  const std::size_t words = (std::size_t(n) + 63) / 64;
  if (n < 4 || words * (std::size_t(tape.size) + std::size_t(n)) > kMaxWords) return std::nullopt;
  std::vector<Word> deps(std::size_t(tape.size) * words, 0);  // inputs each node depends on
  std::vector<Word> rows(std::size_t(n) * words, 0);          // the pattern, row by row
  const auto set = [&](std::int32_t t) { return deps.data() + std::size_t(t) * words; };
  // rows[i] |= B for every input i in A.
  const auto couple = [&](const Word* a, const Word* b) {
    for (std::size_t w = 0; w < words; ++w) {
      for (Word bits = a[w]; bits != 0; bits &= bits - 1) {
        const std::size_t i = w * 64 + std::size_t(__builtin_ctzll(bits));
        Word* row = rows.data() + i * words;
        for (std::size_t u = 0; u < words; ++u) row[u] |= b[u];
      }
    }
  };
  std::vector<Word> both(words);
  for (std::int32_t t = 0; t < tape.size; ++t) {
    const detail::TapeNode& node = tape.nodes[t];
    Word* d = set(t);
    if (node.op == Op::Const) continue;
    if (node.op == Op::LoadX) {
      d[std::size_t(node.b) / 64] |= Word(1) << (node.b % 64);
      continue;
    }
    const Word* a = set(node.a);
    const Word* b = detail::is_binary(node.op) ? set(node.b) : a;
    for (std::size_t w = 0; w < words; ++w) d[w] = a[w] | b[w];
    if (node.op == Op::Mul || node.op == Op::Div) {
      couple(a, b);
      couple(b, a);
      if (node.op == Op::Div) couple(b, b);
    } else if (couples_itself(node)) {
      couple(d, d);
    }
  }
  // Greedy coloring of the columns; H is symmetric, so column j's rows are row j.
  HessianColoring c;
  c.color_of.assign(std::size_t(n), -1);
  c.row_columns.resize(std::size_t(n));
  std::size_t coloring_work = 0;  // sum of |row|^2: what the greedy coloring below visits
  for (int i = 0; i < n; ++i) {
    const Word* row = rows.data() + std::size_t(i) * words;
    for (std::size_t w = 0; w < words; ++w)
      for (Word bits = row[w]; bits != 0; bits &= bits - 1)
        c.row_columns[std::size_t(i)].push_back(int(w * 64 + std::size_t(__builtin_ctzll(bits))));
    coloring_work += c.row_columns[std::size_t(i)].size() * c.row_columns[std::size_t(i)].size();
  }
  if (coloring_work > kMaxColoringWork) return std::nullopt;  // dense and large: the plain sweeps are as good
  std::vector<int> taken(std::size_t(n), -1);                 // taken[color] == j: forbidden for column j
  for (int j = 0; j < n; ++j) {
    for (int i : c.row_columns[std::size_t(j)])
      for (int k : c.row_columns[std::size_t(i)])
        if (c.color_of[std::size_t(k)] >= 0) taken[std::size_t(c.color_of[std::size_t(k)])] = j;
    int color = 0;
    while (taken[std::size_t(color)] == j) ++color;
    c.color_of[std::size_t(j)] = color;
    c.colors = std::max(c.colors, color + 1);
  }
  if (2 * c.colors > n) return std::nullopt;  // too few columns share a color to pay
  return c;
}

}  // namespace hessa::cpu
