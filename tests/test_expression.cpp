// Expression language: values computed by the interpreter against C++ arithmetic, and error positions.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>

#include "hessa/errors.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

using test::compile;

double eval(const std::string& text, std::vector<double> x, std::vector<std::string> vars = {}) {
  return compile(text, int(x.size()), std::move(vars))(x.data());
}

// Interpreter and C++ run the same IEEE operations in the same order: agreement is exact except where
// an operation is reassociated (noted per case).
TEST(Expression, ArithmeticPrecedenceAndAssociativity) {
  EXPECT_EQ(eval("1 + 2*3", {0}), 7.0);
  EXPECT_EQ(eval("(1 + 2)*3", {0}), 9.0);
  EXPECT_EQ(eval("2^3^2", {0}), 512.0);  // right-associative: 2^(3^2)
  EXPECT_EQ(eval("2**3", {0}), 8.0);
  EXPECT_EQ(eval("-2^2", {0}), -4.0);  // unary minus binds looser than ^
  EXPECT_EQ(eval("2^-1", {0}), 0.5);
  EXPECT_EQ(eval("8/4/2", {0}), 1.0);  // left-associative
  EXPECT_EQ(eval("1 - 2 - 3", {0}), -4.0);
  EXPECT_EQ(eval("--3", {0}), 3.0);
  EXPECT_EQ(eval("+x0", {1.5}), 1.5);
}

TEST(Expression, VariablesByNameIndexAndVars) {
  EXPECT_EQ(eval("x0*10 + x1", {2, 3}), 23.0);
  EXPECT_EQ(eval("x[0]*10 + x[1]", {2, 3}), 23.0);
  EXPECT_EQ(eval("x^2 - y^2", {3, 2}, {"x", "y"}), 5.0);
  EXPECT_EQ(eval("x[n-1]", {1, 2, 7}), 7.0);
  EXPECT_EQ(eval("n", {0, 0, 0, 0}), 4.0);
}

TEST(Expression, ConstantsAndParameters) {
  EXPECT_EQ(eval("pi", {0}), M_PI);
  EXPECT_EQ(eval("e", {0}), M_E);
  ExpressionOptions options;
  options.dimension = 1;
  options.parameters = {{"a", 2.5}, {"b", -1}};
  const CompiledFunction f = compile_expression("a*x0 + b", options);
  const double x = 4;
  EXPECT_EQ(f(&x), 9.0);
}

TEST(Expression, BuiltinFunctionsMatchLibm) {
  volatile double runtime_x = 0.3;  // keeps g++ from folding std::cbrt(0.3) with MPFR (correctly rounded; libm is not)
  const double x = runtime_x;
  EXPECT_EQ(eval("sin(x0)", {x}), std::sin(x));
  EXPECT_EQ(eval("cos(x0)", {x}), std::cos(x));
  EXPECT_EQ(eval("tan(x0)", {x}), std::tan(x));
  EXPECT_EQ(eval("asin(x0)", {x}), std::asin(x));
  EXPECT_EQ(eval("acos(x0)", {x}), std::acos(x));
  EXPECT_EQ(eval("atan(x0)", {x}), std::atan(x));
  EXPECT_EQ(eval("sinh(x0)", {x}), std::sinh(x));
  EXPECT_EQ(eval("cosh(x0)", {x}), std::cosh(x));
  EXPECT_EQ(eval("tanh(x0)", {x}), std::tanh(x));
  EXPECT_EQ(eval("exp(x0)", {x}), std::exp(x));
  EXPECT_EQ(eval("log(x0)", {x}), std::log(x));
  EXPECT_EQ(eval("log1p(x0)", {x}), std::log1p(x));
  EXPECT_EQ(eval("expm1(x0)", {x}), std::expm1(x));
  EXPECT_EQ(eval("sqrt(x0)", {x}), std::sqrt(x));
  EXPECT_EQ(eval("cbrt(x0)", {x}), std::cbrt(x));
  EXPECT_EQ(eval("abs(-x0)", {x}), x);
  EXPECT_EQ(eval("atan2(x0, 2)", {x}), std::atan2(x, 2.0));
  EXPECT_EQ(eval("hypot(x0, 2)", {x}), std::hypot(x, 2.0));
  EXPECT_EQ(eval("pow(x0, 2.5)", {x}), std::pow(x, 2.5));
  EXPECT_EQ(eval("min(3, x0, 1)", {x}), x);
  EXPECT_EQ(eval("max(3, x0, 1)", {x}), 3.0);
  EXPECT_TRUE(std::isnan(eval("min(x0, log(-1))", {x})));  // NaN is not silently dropped
}

TEST(Expression, IntegerPowersUseRepeatedMultiplication) {
  // x^5 by squaring: x*x^4, exactly the product below in IEEE arithmetic.
  const double x = 1.1;
  const double x2 = x * x, x4 = x2 * x2;
  EXPECT_EQ(eval("x0^5", {x}), x * x4);
  EXPECT_EQ(eval("x0^-2", {x}), 1.0 / x2);
  EXPECT_EQ(eval("x0^0", {x}), 1.0);
}

TEST(Expression, SumsProductsAndIndexArithmetic) {
  const std::vector<double> x = {1, 2, 3, 4};
  EXPECT_EQ(eval("sum(i, 0, n-1, x[i])", x), 10.0);
  EXPECT_EQ(eval("prod(i, 0, n-1, x[i])", x), 24.0);
  EXPECT_EQ(eval("sum(i, 0, n-2, x[i+1] - x[i])", x), 3.0);
  EXPECT_EQ(eval("sum(i, 1, n, i*x[i-1])", x), 30.0);
  EXPECT_EQ(eval("sum(i, 0, n-1, sum(j, i, n-1, x[i]*x[j]))", x), 1 + 2 + 3 + 4 + 4 + 6 + 8 + 9 + 12 + 16.0);
  EXPECT_EQ(eval("sum(i, 0, 1, x[2*i+1])", x), 6.0);
  EXPECT_EQ(eval("sum(i, 3, 2, x[i])", x), 0.0);   // empty sum
  EXPECT_EQ(eval("prod(i, 3, 2, x[i])", x), 1.0);  // empty product
  EXPECT_EQ(eval("sum(i, 0, n-1, i)", x), 6.0);    // loop index as a number
  EXPECT_EQ(eval("1/n", x), 0.25);                 // integer / integer is real division
}

TEST(Expression, BindingsAreEvaluatedInOrder) {
  EXPECT_EQ(eval("a = x0 + 1; b = a*a; b - a", {2}), 6.0);
  EXPECT_EQ(eval("r2 = x^2 + y^2;\n sqrt(r2);", {3, 4}, {"x", "y"}), 5.0);
}

TEST(Expression, CommentsAndNewlines) { EXPECT_EQ(eval("# a comment\nx0 + # trailing\n 1", {1}), 2.0); }

struct ErrorCase {
  const char* source;
  int n;
  int line;
  int column;
  const char* fragment;
};

// Shown by gtest (and ctest) instead of the struct's bytes; newlines escaped to keep test names on one line.
void PrintTo(const ErrorCase& c, std::ostream* os) {
  *os << '"';
  for (const char* p = c.source; *p != '\0'; ++p) *os << (*p == '\n' ? std::string("\\n") : std::string(1, *p));
  *os << '"';
}

class ExpressionErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ExpressionErrors, NameLineColumnAndWhatWasExpected) {
  const ErrorCase& c = GetParam();
  ExpressionOptions options;
  options.dimension = c.n;
  options.source_name = "f.hx";
  try {
    compile_expression(c.source, options);
    FAIL() << "no error for: " << c.source;
  } catch (const InputError& e) {
    EXPECT_EQ(e.source(), "f.hx");
    EXPECT_EQ(e.line(), c.line) << e.what();
    EXPECT_EQ(e.column(), c.column) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.fragment), std::string::npos) << e.what();
    if (*c.source != '\0') {
      EXPECT_NE(std::string(e.what()).find('^'), std::string::npos) << "caret line missing: " << e.what();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ExpressionErrors,
    ::testing::Values(
        ErrorCase{"x0 + ", 1, 1, 6, "expected a number, a name or '('"}, ErrorCase{"(x0 + 1", 1, 1, 8, "expected ')'"},
        ErrorCase{"x0 + foo", 1, 1, 6, "unknown name 'foo'"}, ErrorCase{"bar(x0)", 1, 1, 1, "unknown function 'bar'"},
        ErrorCase{"x0 $ 1", 1, 1, 4, "unexpected character '$'"},
        ErrorCase{"x5", 2, 1, 1, "outside the coordinates x0..x1"},
        ErrorCase{"x[2]", 2, 1, 3, "index 2 is outside x[0..1]"},
        ErrorCase{"sum(i, 0, n-1,\n  x[i+1])", 3, 2, 4, "index 3 is outside x[0..2]"},
        ErrorCase{"x[0.5]", 2, 1, 3, "must be an integer expression"},
        ErrorCase{"sum(i, 0, 1.5, x[i])", 2, 1, 11, "must be an integer expression"},
        ErrorCase{"atan2(x0)", 1, 1, 1, "takes 2 arguments, given 1"},
        ErrorCase{"sin(x0, 1)", 1, 1, 1, "takes 1 argument, given 2"}, ErrorCase{"", 1, 1, 1, "expected an expression"},
        ErrorCase{"x0 x0", 1, 1, 4, "expected an operator or the end"},
        ErrorCase{"pi = 3; x0", 1, 1, 1, "already a name"},
        ErrorCase{"a = x0\nb = 2; a", 1, 2, 1, "expected ';' after the binding of 'a'"},
        ErrorCase{"x + 1", 2, 1, 1, "x needs an index"}),
    [](const auto& param_info) {  // a readable test name: the case number and its expected message's first word
      std::string word = param_info.param.fragment;
      word = word.substr(0, word.find_first_of(" '.("));
      std::string name = "case" + std::to_string(param_info.index) + "_";
      for (char c : word) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return name;
    });

TEST(Expression, DynamicIndexOutOfRangeYieldsNaNNotAWildRead) {
  // A program whose index leaves the range is rejected at compile time; the interpreter must also
  // defend itself: hand-build such a program and run it.
  const std::vector<detail::Instruction> code = {{detail::Op::IConst, 7, 0, 0.0}, {detail::Op::LoadXDyn, 0, 0, 0.0}};
  const double x[2] = {1, 2};
  int bad_pc = -1, bad_index = 0;
  struct View {
    const double* x;
    double operator()(int k) const { return x[k]; }
  };
  const double v = detail::evaluate<double>(detail::ProgramView{code.data(), 2, 2}, View{x}, &bad_pc, &bad_index);
  EXPECT_TRUE(std::isnan(v));
  EXPECT_EQ(bad_pc, 1);
  EXPECT_EQ(bad_index, 7);
}

TEST(Expression, TooDeepNestingIsAnErrorNotAnOverflow) {
  std::string deep = "x0";
  for (int k = 0; k < 60; ++k) deep = "x0 + (" + deep + ")";  // right-nested: stack grows by one per level
  EXPECT_THROW(compile(deep, 1), InputError);
}

}  // namespace
}  // namespace hessa
