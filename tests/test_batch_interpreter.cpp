// The CPU's lane-batched interpreter against the scalar one: stencil values must agree bit for bit (NaN with
// NaN), for every op, every catalogue function, both stencil kinds, and blocks that are only partly filled.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>

#include "cpu/batch_interpreter.hpp"
#include "cpu/cpu_stages.hpp"
#include "hessa/detail/interpreter.hpp"
#include "hessa/detail/stencil.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

using detail::Instruction;
using detail::Op;

constexpr StencilKind kKinds[] = {StencilKind::Central, StencilKind::Compact};
constexpr double kScale = 1.220703125e-4;

bool same_bits(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return std::memcmp(&a, &b, sizeof a) == 0;
}

std::string hex_of(double v) {
  std::uint64_t u;
  std::memcpy(&u, &v, sizeof u);
  std::ostringstream s;
  s << v << " (0x" << std::hex << u << ")";
  return s.str();
}

// The scalar interpreter, one evaluation at a time: the reference.
std::vector<double> scalar_stencil(const detail::ProgramView& f, StencilKind kind, const std::vector<double>& x,
                                   std::size_t count) {
  const std::int64_t per_point = detail::stencil_size(kind, f.n);
  std::vector<double> evals(count * std::size_t(per_point));
  for (std::size_t k = 0; k < evals.size(); ++k) {
    const std::int64_t p = std::int64_t(k) / per_point;
    const detail::StencilOffset off = detail::stencil_offset(kind, f.n, std::int64_t(k) % per_point);
    evals[k] = detail::evaluate<double>(f, detail::perturbed_point(x.data() + p * f.n, off, kScale));
  }
  return evals;
}

// Irregular points with signed zeros, ties between coordinates and values outside some functions' domains.
std::vector<double> test_points(int n, std::size_t count) {
  std::mt19937_64 rng(std::uint64_t(n) * 7919u + count);
  std::uniform_real_distribution<double> u(-3.0, 3.0);
  std::vector<double> x(count * std::size_t(n));
  for (std::size_t k = 0; k < x.size(); ++k) {
    switch (k % 11) {
      case 3: x[k] = -0.0; break;
      case 7: x[k] = 0.0; break;
      case 9: x[k] = k > 0 ? x[k - 1] : 1.0; break;
      default: x[k] = u(rng);
    }
  }
  return x;
}

void expect_stencils_agree(const CompiledFunction& f, const std::string& what) {
  const int n = f.dimension();
  for (StencilKind kind : kKinds) {
    // 1 and 7 points leave the last block partly empty at small n; 67 points span many blocks at any n.
    for (std::size_t count : {std::size_t(1), std::size_t(7), std::size_t(67)}) {
      const std::vector<double> x = test_points(n, count);
      const std::vector<double> expected = scalar_stencil(f.view(), kind, x, count);
      std::vector<double> actual(expected.size(), 12345.0);
      cpu::evaluate_stencil(f.view(), kind, kScale, x.data(), count, actual.data());
      int reported = 0;
      for (std::size_t k = 0; k < expected.size() && reported < 5; ++k) {
        if (!same_bits(actual[k], expected[k])) {
          ADD_FAILURE() << what << " n=" << n << " kind=" << int(kind) << " count=" << count << " value " << k
                        << ": batched " << hex_of(actual[k]) << " vs scalar " << hex_of(expected[k]);
          ++reported;
        }
      }
    }
  }
}

TEST(BatchInterpreter, CatalogueStencilsMatchTheScalarInterpreterBitForBit) {
  for (const CatalogueEntry& e : catalogue()) {
    for (int n : {1, 2, 3, 5, 8, 13}) {
      if (!e.accepts_dimension(n)) continue;
      expect_stencils_agree(test::compile_entry(e, n), e.name);
    }
  }
}

// Each expression exercises a group of ops; together they cover every Op the compiler emits.
TEST(BatchInterpreter, EveryOpMatchesTheScalarInterpreterBitForBit) {
  const char* expressions[] = {
      "x0 + x1*x2 - x0/x1 - -x2",
      "x0^2 + x1^3 + x2^4 + x0^5 + x1^0 + x2^64 + x0^-1 + x1^-2 + x2^-3 + x0^-64",
      "pow(x0, x1) + pow(abs(x1), 2.5) + atan2(x0, x1) + hypot(x1, x2)",
      "sin(x0) + cos(x1) + tan(x2) + asin(x0/4) + acos(x1/4) + atan(x2) + sinh(x0) + cosh(x1) + tanh(x2)",
      "exp(x0) + log(x1) + log1p(x2) + expm1(x0) + sqrt(x1) + cbrt(x2) + abs(x0)",
      "min(x0, x1, 2) + max(x2, x0) + min(x0, log(x1)) + max(log(x2), x1) + min(log(-x0), 1)",
      "1/x0 + atan2(x1, -1) + 1/x2",  // signed zeros survive the lazy perturbation
      "sum(i, 0, n-1, prod(j, 0, i, x[j] + i*j))",
      "sum(i, 0, n-1, sum(j, i, n-1, x[i]*x[j])) + prod(i, 0, n-1, 1 + x[i]/10)",
      "sum(i, 0, n-2, x[i+1] - x[i]) + x[n-1] * sum(i, 0, n-1, x[n-1-i] * (i+1))",
      "sum(i, 0, 1, x[2*i]) + sum(i, 0, n-1, -i + 2*i - (i - 1))",
      "sum(i, 1, 0, x[i]) + prod(i, n, n-1, x[0]) + sum(i, 2, 1, 5) + x0",  // empty ranges: 0 and 1
      "r2 = x0^2 + x1^2; s = sum(i, 0, n-1, x[i]); exp(-r2) * r2 + s",
      "a = 2; b = a*3; c = b - x1; b*x0 + a + c*c",
      "2 + 3*4",  // no x at all: every lane shares the value
      "n + 0*x0",
      "(1 - x0) * 3 / (2 + x1) - 2^x2",
  };
  for (const char* text : expressions) {
    for (int n : {3, 9}) expect_stencils_agree(test::compile(text, n), text);
  }
}

// A block's lanes filled one by one, straight into the interpreter, for programs the compiler cannot produce.
std::vector<double> run_lanes(const detail::ProgramView& program, const std::vector<double>& x, int lanes) {
  const auto interpreter = std::make_unique<cpu::BatchInterpreter<64>>();
  for (int l = 0; l < lanes; ++l) {
    const detail::StencilOffset off = detail::stencil_offset(StencilKind::Central, program.n, l);
    interpreter->set_lane(l, detail::perturbed_point(x.data(), off, kScale));
  }
  std::vector<double> out(static_cast<std::size_t>(lanes));
  interpreter->run(program, lanes, out.data());
  return out;
}

TEST(BatchInterpreter, OutOfRangeDynamicIndexGivesNaNLikeTheScalarInterpreter) {
  const std::vector<Instruction> code = {
      {Op::IConst, 5, 0, 0.0}, {Op::LoadXDyn, 0, 0, 0.0}, {Op::IConst, -1, 0, 0.0},  {Op::LoadXDyn, 0, 0, 0.0},
      {Op::Add, 0, 0, 0.0},    {Op::IConst, 2, 0, 0.0},   {Op::LoadXDyn, 0, 0, 0.0}, {Op::Add, 0, 0, 0.0},
  };
  const detail::ProgramView program{code.data(), int32_t(code.size()), 3};
  const std::vector<double> x = {0.5, -1.5, 2.0};
  for (int lanes : {1, 7, 19}) {
    const std::vector<double> out = run_lanes(program, x, lanes);
    for (int l = 0; l < lanes; ++l) EXPECT_TRUE(std::isnan(out[std::size_t(l)])) << "lane " << l;
  }
  const std::vector<Instruction> in_range = {{Op::IConst, 2, 0, 0.0}, {Op::LoadXDyn, 0, 0, 0.0}};
  const detail::ProgramView good{in_range.data(), int32_t(in_range.size()), 3};
  const std::vector<double> out = run_lanes(good, x, 7);
  for (int l = 0; l < 7; ++l) {
    const detail::StencilOffset off = detail::stencil_offset(StencilKind::Central, 3, l);
    const double expected = detail::evaluate<double>(good, detail::perturbed_point(x.data(), off, kScale));
    EXPECT_TRUE(same_bits(out[std::size_t(l)], expected)) << "lane " << l;
  }
}

TEST(BatchInterpreter, EmptyProgramGivesNaNInEveryLane) {
  const detail::ProgramView program{nullptr, 0, 2};
  const std::vector<double> out = run_lanes(program, {1.0, 2.0}, 5);
  for (double v : out) EXPECT_TRUE(std::isnan(v));
}

}  // namespace
}  // namespace hessa
