// The expression compiler on hostile input: deep nesting, huge flat chains, huge names, integer overflow, runaway
// loops and invalid UTF-8 end in an InputError that names the limit and the position, never in a crash, a hang
// or a silently wrong value; and programs just inside each limit still compile and evaluate exactly.
#include <gtest/gtest.h>
#include <pthread.h>

#include <cmath>
#include <exception>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "cli_support.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

std::string repeat(const std::string& text, int count) {
  std::string out;
  out.reserve(text.size() * std::size_t(count));
  for (int k = 0; k < count; ++k) out += text;
  return out;
}

// "x0+x0+...+x0": a left-nested chain `terms` deep after parsing.
std::string flat_sum(int terms) {
  std::string out = "x0";
  out.reserve(std::size_t(terms) * 3);
  for (int k = 1; k < terms; ++k) out += "+x0";
  return out;
}

CompiledFunction compile_with(const std::string& text, int n, ExpressionOptions options = {}) {
  options.dimension = n;
  options.source_name = "f.hx";
  return compile_expression(text, options);
}

// The InputError that compiling `text` throws; fails the test when it compiles.
InputError compile_error(const std::string& text, int n, ExpressionOptions options = {}) {
  try {
    compile_with(text, n, std::move(options));
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for: " << text.substr(0, 200);
  return InputError("no error");
}

bool contains(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

// Runs `body` on a thread with a 1 MiB stack (a common size for worker threads, an eighth of the main thread's
// usual 8 MiB) and rethrows what it threw. A stack overflow there kills the test binary, which ctest reports.
void run_on_small_stack(const std::function<void()>& body) {
  struct Job {
    const std::function<void()>* body;
    std::exception_ptr error;
  } job{&body, nullptr};
  pthread_attr_t attr;
  ASSERT_EQ(pthread_attr_init(&attr), 0);
  ASSERT_EQ(pthread_attr_setstacksize(&attr, std::size_t(1) << 20), 0);
  pthread_t thread;
  const auto entry = [](void* arg) -> void* {
    Job& j = *static_cast<Job*>(arg);
    try {
      (*j.body)();
    } catch (...) {
      j.error = std::current_exception();
    }
    return nullptr;
  };
  ASSERT_EQ(pthread_create(&thread, &attr, entry, &job), 0);
  pthread_join(thread, nullptr);
  pthread_attr_destroy(&attr);
  if (job.error) std::rethrow_exception(job.error);
}

// --- parser nesting (limit 128 levels) -------------------------------------------------------------------------

// The top-level expression is level 1; each '(' , call, sign or '^' opens one more. Level 129 is refused where it
// opens: column 129 for 8000 parentheses, column 4*128+1 for nested sin(, column 128 for 48 000 minuses.
TEST(ExpressionLimits, DeepParenthesesAreRefusedAtLevel129) {
  const InputError e = compile_error(repeat("(", 8000) + "x0" + repeat(")", 8000), 1);
  EXPECT_EQ(e.line(), 1);
  EXPECT_EQ(e.column(), 129);
  EXPECT_TRUE(contains(e.what(), "nested too deeply (more than 128 levels")) << e.what();
}

TEST(ExpressionLimits, DeeplyNestedCallsAreRefusedAtLevel129) {
  const InputError e = compile_error(repeat("sin(", 5600) + "x0" + repeat(")", 5600), 1);
  EXPECT_EQ(e.column(), 4 * 128 + 1);
  EXPECT_TRUE(contains(e.what(), "more than 128 levels")) << e.what();
}

TEST(ExpressionLimits, LongRunsOfSignsAndPowersAreRefusedAtLevel129) {
  const InputError minus = compile_error(repeat("-", 48000) + "x0", 1);
  EXPECT_EQ(minus.column(), 128);
  EXPECT_TRUE(contains(minus.what(), "more than 128 levels")) << minus.what();
  const InputError plus = compile_error(repeat("+", 48000) + "x0", 1);
  EXPECT_EQ(plus.column(), 128);
  const InputError power = compile_error(repeat("x0^", 20000) + "x0", 1);  // right-associative: recursion
  EXPECT_TRUE(contains(power.what(), "more than 128 levels")) << power.what();
}

TEST(ExpressionLimits, NestingJustInsideTheLimitCompilesOnA1MiBStack) {
  const double x = 0.75;
  run_on_small_stack([&] {
    EXPECT_EQ(compile_with(repeat("(", 127) + "x0" + repeat(")", 127), 1)(&x), x);
    EXPECT_EQ(compile_with(repeat("-", 127) + "x0", 1)(&x), -x);  // an odd number of signs
    double expected = x;
    for (int k = 0; k < 127; ++k) expected = std::sin(expected);
    EXPECT_EQ(compile_with(repeat("sin(", 127) + "x0" + repeat(")", 127), 1)(&x), expected);
    // One level more is an error, thrown and unwound on the same small stack.
    EXPECT_THROW(compile_with(repeat("sin(", 128) + "x0" + repeat(")", 128), 1), InputError);
    EXPECT_THROW(compile_with(repeat("(", 8000) + "x0" + repeat(")", 8000), 1), InputError);
  });
}

TEST(ExpressionLimits, EveryCatalogueFunctionStillCompiles) {
  for (const CatalogueEntry& e : catalogue()) {
    const int n = e.dimension > 0 ? e.dimension : 5;
    EXPECT_NO_THROW(test::compile_entry(e, n)) << e.name;
  }
}

// --- code generation over deep trees ---------------------------------------------------------------------------

TEST(ExpressionLimits, FlatSumOf61000TermsCompilesAndIsExact) {
  run_on_small_stack([] {
    const CompiledFunction f = compile_with(flat_sum(61000), 1);
    EXPECT_EQ(f.code().size(), 2u * 61000 - 1);  // a load per term, an add between terms
    // Every partial sum is a multiple of x0 far below 2^53 ulps: exact.
    for (const double x : {0.5, -1.0, 1.25}) EXPECT_EQ(f(&x), 61000 * x) << x;
  });
  const double one = 1.0;
  std::string long_min = "min(x0";
  for (int k = 1; k < 30000; ++k) long_min += ",x0";
  EXPECT_EQ(compile_with(long_min + ")", 1)(&one), 1.0);  // a left-nested chain of 29 999 min nodes
}

TEST(ExpressionLimits, ProgramSizeLimitIsNamed) {
  const InputError e = compile_error(flat_sum(530000), 1);  // 1 059 999 instructions
  EXPECT_TRUE(contains(e.what(), "more than 1048576 instructions")) << e.message();
}

// --- names from --vars, --param and CSV headers ----------------------------------------------------------------

TEST(ExpressionLimits, HugeNamesAreCheckedWithoutRecursion) {
  const std::string long_name(60000, 'a');
  ExpressionOptions vars;
  vars.variable_names = {long_name, "b"};
  const double x[2] = {3, 4};
  EXPECT_EQ(compile_with(long_name + "*b", 2, vars)(x), 12.0);

  ExpressionOptions bad_vars;
  bad_vars.variable_names = {long_name + "-", "b"};
  const InputError e = compile_error("b", 2, bad_vars);
  EXPECT_TRUE(contains(e.what(), "is not a valid name")) << e.what();
  EXPECT_TRUE(contains(e.what(), "(60001 characters)")) << e.what();  // shortened, not 60 KB of message
  EXPECT_LT(std::string(e.what()).size(), 200u);

  ExpressionOptions params;
  params.parameters[long_name] = 2.5;
  EXPECT_EQ(compile_with(long_name + "*x0", 1, params)(x), 7.5);
  ExpressionOptions bad_params;
  bad_params.parameters["1" + long_name] = 2.5;
  EXPECT_TRUE(contains(compile_error("x0", 1, bad_params).what(), "--param: '1aaa")) << "param name check";
}

// --- integer ranges and work per evaluation --------------------------------------------------------------------

TEST(ExpressionLimits, IndexArithmeticThatCanOverflowIsRefusedAtItsOperator) {
  // i*1073741824 is in [0, 2^30]; times 4 reaches 2^32 (it used to wrap to x[0] silently).
  const InputError index = compile_error("sum(i,0,1,x[i*1073741824*4])", 2);
  EXPECT_EQ(index.column(), 25);
  EXPECT_TRUE(contains(index.what(), "integer expression can leave the 32-bit range")) << index.what();
  EXPECT_TRUE(contains(index.what(), "[0, 4294967296]")) << index.what();
  // parser.cpp leaves 2147483647*2 unfolded (it does not fit): the range check catches the Binary node.
  const InputError bound = compile_error("sum(i,0,2147483647*2,1)+x0", 1);
  EXPECT_EQ(bound.column(), 19);
  EXPECT_TRUE(contains(bound.what(), "[4294967294, 4294967294]")) << bound.what();
  // Negating INT32_MIN overflows too.
  const InputError negation = compile_error("sum(i,0,0,-(-2147483647-1+i))+x0", 1);
  EXPECT_EQ(negation.column(), 11);
  EXPECT_TRUE(contains(negation.what(), "32-bit range")) << negation.what();
}

TEST(ExpressionLimits, LoopsMayEndAtTheEdgesOfInt32) {
  const double x = 1.5;
  EXPECT_EQ(compile_with("sum(i,2147483647,2147483647,x[0])", 1)(&x), x);
  EXPECT_EQ(compile_with("sum(i,2147483646,2147483647,i)", 1)(&x), 4294967293.0);
  EXPECT_EQ(compile_with("sum(i,-2147483647-1,-2147483647,i)", 1)(&x), -4294967295.0);

  // The CPU backend's lane-batched interpreter runs the same loop (its f column is the value at the point).
  const auto backend = make_cpu_backend();
  const CompiledFunction f = compile_with("sum(i,2147483646,2147483647,x[0]) + x0^2", 1);
  const ChunkResult result = test::analyze_points(*backend, f, {{1.5}});
  ASSERT_EQ(result.points.size(), 1u);
  EXPECT_EQ(result.points[0].f, 2 * 1.5 + 1.5 * 1.5);
}

TEST(ExpressionLimits, RunawayLoopsAreRefusedWithTheirWorkBound) {
  // 1e8 trips of (Const, ProdEnd) plus lo, hi and LoopBegin: 200 000 003 instructions.
  const InputError prod = compile_error("prod(j,0,99999999,pi)", 1);
  EXPECT_EQ(prod.column(), 1);
  EXPECT_TRUE(contains(prod.what(), "up to 200000003 instructions per evaluation")) << prod.what();
  EXPECT_TRUE(contains(prod.what(), "the limit of 16777216")) << prod.what();
  // Used to iterate 2^32 values in the compile-time dry run.
  const InputError wide = compile_error("sum(i,0-2147483647,2147483647,0)+x0", 1);
  EXPECT_TRUE(contains(wide.what(), "the limit of 16777216")) << wide.what();
  // Nested trip counts multiply; eight loops over all of int32 saturate the bound.
  const InputError nested = compile_error("sum(i,0,9999,sum(j,0,9999,x0))", 1);
  EXPECT_EQ(nested.column(), 14);  // the inner loop is where the bound crosses the limit
  std::string huge = "x0";
  for (const char* name : {"a", "b", "c", "d", "e1", "f", "g", "h"}) {
    huge = std::string("sum(") + name + ",-2147483647-1,2147483647," + huge + ")";
  }
  EXPECT_TRUE(contains(compile_error(huge, 1).what(), "can execute more than 2^64 instructions"));
}

TEST(ExpressionLimits, LoopsInsideTheWorkLimitCompileAndEvaluate) {
  const double x = 0.5;
  EXPECT_EQ(compile_with("sum(i,0,999,sum(j,0,999,x0))", 1)(&x), 500000.0);
  // An empty range weighs nothing, whatever its body would cost.
  EXPECT_EQ(compile_with("sum(i,1,0,prod(j,0,2147483647,x0))", 1)(&x), 0.0);
}

TEST(ExpressionLimits, IndicesOutsideTheirRangeStillGetTheExactDryRun) {
  // i-j lies in [-3, 3] by ranges alone but in [0, 3] in fact: the dry run accepts it.
  const std::vector<double> x = {1, 2, 3, 4};
  const CompiledFunction f = compile_with("sum(i,0,n-1,sum(j,0,i,x[i-j]))", 4);
  EXPECT_EQ(f(x.data()), 1 + (1 + 2) + (1 + 2 + 3) + (1 + 2 + 3 + 4.0));
  const InputError e = compile_error("sum(i,0,n-1,sum(j,0,i,x[i-j+1]))", 4);
  EXPECT_TRUE(contains(e.what(), "index 4 is outside x[0..3]")) << e.what();
}

// --- UTF-8 ---------------------------------------------------------------------------------------------------

TEST(ExpressionLimits, ValidUtf8InCommentsIsAccepted) {
  const double x = 2;
  EXPECT_EQ(compile_with("x0 # caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\n + 1", 1)(&x), 3.0);
}

struct BadUtf8 {
  const char* source;
  int line;
  int column;
  const char* fragment;
};

TEST(ExpressionLimits, InvalidUtf8IsRefusedAtItsByte) {
  const BadUtf8 cases[] = {
      {"x0 # \xFF\n+1", 1, 6, "invalid UTF-8 byte 0xFF"},
      {"x0\n# ok\n# \x80", 3, 3, "invalid UTF-8 byte 0x80"},       // a continuation byte without a lead
      {"x0 # \xC0\xAF", 1, 6, "invalid UTF-8 byte 0xC0"},          // overlong '/'
      {"x0 # \xED\xA0\x80", 1, 7, "invalid UTF-8 byte 0xA0"},      // a UTF-16 surrogate
      {"x0 # \xF4\x90\x80\x80", 1, 7, "invalid UTF-8 byte 0x90"},  // above U+10FFFF
      {"x0 # \xE2\x82", 1, 6, "invalid UTF-8 byte 0xE2"},          // cut off by the end of the input
      {"x0 # \xC3\xA9\xC3(", 1, 9, "invalid UTF-8 byte 0x28"},     // a lead followed by ASCII
  };
  for (const BadUtf8& c : cases) {
    const InputError e = compile_error(c.source, 1);
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_EQ(e.column(), c.column) << e.what();
    EXPECT_TRUE(contains(e.what(), c.fragment)) << e.what();
  }
  // Valid UTF-8 outside a comment is an unexpected character, shown whole.
  EXPECT_TRUE(contains(compile_error("x0 + \xC3\xA9", 1).what(), "unexpected character '\xC3\xA9'"));
}

// --- the CLI ---------------------------------------------------------------------------------------------------

class ExpressionLimitsCli : public test::ScratchDirTest {
 protected:
  test::CliRun analyze(const std::string& expression) {
    const std::string points = write("nh.csv", "1,2\n0.5,-1\n");
    const std::string function = write("e.txt", expression);
    return test::run_hessa("analyze --function @" + function + " --points " + points + " --out " + path("out.csv") +
                           " --backend cpu");
  }
};

TEST_F(ExpressionLimitsCli, EightThousandParenthesesExitWith2AndTheLimit) {
  const test::CliRun r = analyze(repeat("(", 8000) + "x0" + repeat(")", 8000));
  EXPECT_EQ(r.exit_code, 2) << r.output.substr(0, 400);
  EXPECT_TRUE(contains(r.output, ":1:129: expression nested too deeply (more than 128 levels"))
      << r.output.substr(0, 400);
}

TEST_F(ExpressionLimitsCli, FlatSumOf61000TermsRunsAndGivesTheValue) {
  const test::CliRun r = analyze(flat_sum(61000));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("out.csv"));
  std::string header;
  std::getline(in, header);
  ASSERT_EQ(header.rfind("x0,x1,f,", 0), 0u) << header;
  std::vector<double> f_column;
  for (std::string line; std::getline(in, line);) {
    std::stringstream cells(line);
    std::string cell;
    for (int k = 0; k < 3; ++k) std::getline(cells, cell, ',');
    f_column.push_back(std::stod(cell));
  }
  EXPECT_EQ(f_column, (std::vector<double>{61000.0, 30500.0}));
}

TEST_F(ExpressionLimitsCli, InvalidUtf8InACommentExitsWith2NotAnInternalError) {
  const test::CliRun r = analyze("x0 + x1 # \xFF\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "invalid UTF-8 byte 0xFF")) << r.output;
  EXPECT_FALSE(contains(r.output, "internal error")) << r.output;
}

TEST_F(ExpressionLimitsCli, HugeCsvHeaderNameIsChecked) {
  const std::string points = write("pts.csv", std::string(60000, 'v') + ",w\n1,2\n");
  const test::CliRun r =
      test::run_hessa("analyze --function \"w^2\" --points " + points + " --out " + path("out.csv") + " --backend cpu");
  EXPECT_EQ(r.exit_code, 0) << r.output.substr(0, 400);
}

}  // namespace
}  // namespace hessa
