// The `hessa` program end to end: bad input gives one clear message and exit code 2, leaving no output
// file; good input gives the documented columns. Runs the real binary (path from CMake).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "cli_support.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;
using test::CliRun;
using test::run_hessa;

class Cli : public test::ScratchDirTest {
 protected:
  // No result file and no temporary left behind.
  void expect_no_output_files() const {
    for (const auto& entry : fs::directory_iterator(dir_)) {
      const std::string name = entry.path().filename().string();
      EXPECT_EQ(name.find("out"), std::string::npos) << "left behind: " << name;
    }
  }
};

TEST_F(Cli, HimmelblauStationaryPointsAreClassifiedFromTheirCoordinates) {
  const CliRun r = run_hessa("analyze --function himmelblau --points " HESSA_SOURCE_DIR
                             "/examples/himmelblau_stationary.csv --out " +
                             path("out.csv") + " --backend cpu");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("out.csv"));
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("x,y,f,grad_norm,lambda_min,lambda_max,class,morse_index,lr_max,gHg,step_opt", 0), 0u)
      << header;
  std::map<std::string, int> counts;
  std::string line;
  while (std::getline(in, line)) {
    std::stringstream cells(line);
    std::string cell;
    for (int k = 0; k < 7; ++k) std::getline(cells, cell, ',');
    ++counts[cell];
  }
  EXPECT_EQ(counts["minimum"], 4);
  EXPECT_EQ(counts["saddle"], 4);
  EXPECT_EQ(counts["maximum"], 1);
  EXPECT_TRUE(fs::exists(path("out.csv.meta.json")));
  EXPECT_NE(r.output.find("minimum     4"), std::string::npos) << r.output;
}

TEST_F(Cli, QuarticAtTheOriginIsDegenerate) {
  const std::string pts = write("origin.csv", "x,y\n0,0\n");
  const CliRun r = run_hessa("analyze --function \"x^4 + y^4\" --points " + pts + " --out " + path("out.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("out.jsonl"));
  std::string line;
  std::getline(in, line);
  EXPECT_NE(line.find("\"class\":\"degenerate\""), std::string::npos) << line;
}

TEST_F(Cli, EveryStencilRunsAndIsRecordedInTheMetadata) {
  const std::string pts = write("p.csv", "x,y\n3,2\n");
  for (const char* stencil : {"central", "compact", "richardson", "hyperdual"}) {
    const CliRun r =
        run_hessa("analyze -f himmelblau -p " + pts + " -o " + path("out.csv") + " --backend cpu --stencil " + stencil);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("minimum     1"), std::string::npos) << stencil << ": " << r.output;
    std::ifstream meta(path("out.csv.meta.json"));
    const std::string text((std::istreambuf_iterator<char>(meta)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find(std::string("\"kind\": \"") + stencil + "\""), std::string::npos) << text;
  }
}

TEST_F(Cli, AutoBackendSaysWhenItFallsBackToTheCpu) {
  const std::string pts = write("p.csv", "1,2\n");
  const CliRun r = run_hessa("analyze -f saddle -p " + pts + " -o " + path("out.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  if (r.output.find("cuda (") == std::string::npos) {
    EXPECT_NE(r.output.find("using the CPU backend"), std::string::npos) << r.output;
  }
}

struct BadInput {
  const char* name;
  const char* points_text;  // written to pts.csv; nullptr: the file does not exist
  const char* extra_args;
  const char* expected;  // a fragment of the one error message
};

class CliBadInput : public Cli, public ::testing::WithParamInterface<BadInput> {};

TEST_P(CliBadInput, OneClearMessageExitCode2AndNoOutputFile) {
  const BadInput& c = GetParam();
  const std::string pts = c.points_text ? write("pts.csv", c.points_text) : path("missing.csv");
  const CliRun r = run_hessa("analyze --points " + pts + " --out " + path("out.csv") + " " + c.extra_args);
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(c.expected), std::string::npos) << "expected '" << c.expected << "' in:\n" << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
  expect_no_output_files();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBadInput,
    ::testing::Values(BadInput{"missing_file", nullptr, "-f saddle", "missing.csv"},
                      BadInput{"ragged_row", "1,2\n3\n", "-f saddle", "pts.csv:2"},
                      BadInput{"non_numeric_cell", "1,2\n3,abc\n", "-f saddle", "pts.csv:2:3"},
                      BadInput{"nan_coordinate", "1,2\nnan,1\n", "-f saddle", "pts.csv:2:1"},
                      BadInput{"dimension_mismatch", "1,2,3\n", "-f himmelblau", "himmelblau takes 2 coordinates"},
                      BadInput{"unknown_variable", "1,2\n", "-f \"x^2 + z\" --vars x,y", "unknown name 'z'"},
                      BadInput{"vars_count", "1,2\n", "-f \"x^2\" --vars x,y,z", "--vars names 3 variables"},
                      BadInput{"syntax_error", "1,2\n", "-f \"x0 +* x1\"", "--function:1:5"},
                      BadInput{"unknown_function", "1,2\n", "-f \"foo(x0)\"", "unknown function 'foo'"},
                      BadInput{"bad_param", "1,2\n", "-f \"a*x0\" --param a=two", "--param a=two"},
                      BadInput{"empty_file", "", "-f saddle", "no points"},
                      BadInput{"bad_stencil", "1,2\n", "-f saddle --stencil forward", "--stencil"},
                      BadInput{"index_out_of_range", "1,2\n", "-f \"x[0] + x[2]\"", "outside x[0..1]"},
                      BadInput{"unknown_option", "1,2\n", "-f saddle --frobnicate", "frobnicate"},
                      BadInput{"unknown_column", "1,2\n", "-f saddle --columns f,lambda", "--columns: 'lambda'"},
                      BadInput{"column_without_its_flag", "1,2\n", "-f saddle --columns f,H_0_0", "need --gradient"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(Cli, UnwritableOutputFailsBeforeComputing) {
  const std::string pts = write("p.csv", "1,2\n");
  const CliRun r = run_hessa("analyze -f saddle -p " + pts + " -o " + path("no/such/dir/out.csv"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("no/such/dir"), std::string::npos) << r.output;
}

TEST_F(Cli, UnknownOutputExtensionIsRejected) {
  const std::string pts = write("p.csv", "1,2\n");
  const CliRun r = run_hessa("analyze -f saddle -p " + pts + " -o " + path("out.xlsx"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find(".xlsx"), std::string::npos) << r.output;
}

// hessa bench --quick: a case per dimension and stencil plus the bundled model, each with its points, rates and a
// figure per stage (no timing is asserted: machines are noisy); the write stage's scratch file is gone after.
TEST_F(Cli, BenchQuickWritesAFigurePerStageAndCase) {
  const CliRun r = run_hessa("bench --quick --backend cpu --n 2,8 --seconds 0.01 --json " + path("bench.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("machine: "), std::string::npos) << r.output;
  std::ifstream in(path("bench.json"));
  const nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_NE(j["backend"].get<std::string>().find("cpu"), std::string::npos);
  EXPECT_TRUE(j["peak_memory_bandwidth"].is_null());  // unknown on the CPU
  const nlohmann::json& cases = j["cases"];
  ASSERT_EQ(cases.size(), 2u * 6u + 1u) << j.dump(1);  // n = 2, 8 x six stencils, and the model
  std::set<std::string> stencils;
  for (const nlohmann::json& c : cases) {
    stencils.insert(c["stencil"].get<std::string>());
    EXPECT_GT(c["points"].get<double>(), 0) << c.dump();
    EXPECT_GT(c["points_per_second"].get<double>(), 0) << c.dump();
    EXPECT_GT(c["evaluations_per_second"].get<double>(), 0) << c.dump();
    EXPECT_GT(c["bytes"].get<double>(), 0) << c.dump();
    for (const char* stage : {"upload", "stencil", "assemble", "eigen", "analyze", "download", "write"}) {
      ASSERT_TRUE(c["stages_seconds"].contains(stage)) << stage << " in " << c.dump();
      EXPECT_GE(c["stages_seconds"][stage].get<double>(), 0) << stage;
    }
    EXPECT_GT(c["stages_seconds"]["stencil"].get<double>(), 0) << c.dump();
  }
  EXPECT_EQ(stencils.size(), 6u);
  EXPECT_EQ(cases.back()["n"], 337) << "the bundled MLP (examples/mlp_moons_line.toml)";
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::temp_directory_path()))
    EXPECT_EQ(e.path().filename().string().rfind("hessa-bench-", 0), std::string::npos) << e.path();
}

TEST_F(Cli, BenchWithAnUnknownStencilIsExitCode2) {
  const CliRun r = run_hessa("bench --quick --backend cpu --stencil forward");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("forward"), std::string::npos) << r.output;
}

TEST_F(Cli, CudaBackendWithoutAGpuIsAClearError) {
  const std::string pts = write("p.csv", "1,2\n");
  const CliRun r = run_hessa("analyze -f saddle -p " + pts + " -o " + path("out.csv") + " --backend cuda");
  if (r.exit_code == 0) GTEST_SKIP() << "a GPU is present: the error path is not reachable here";
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--backend cuda: no usable GPU"), std::string::npos) << r.output;
}

TEST_F(Cli, FunctionsListsTheCatalogue) {
  const CliRun r = run_hessa("functions");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* name : {"himmelblau", "rosenbrock", "six_hump_camel", "monkey_saddle", "quadratic:FILE"}) {
    EXPECT_NE(r.output.find(name), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace hessa

namespace hessa {
namespace {

// `hessa plot` hands every argument to scripts/hessa-plot (found beside the build tree): its help, and its
// one-message exit 2 for a missing scan, come back through hessa unchanged.
TEST(CliPlot, HandsItsArgumentsToThePlotScript) {
  const test::CliRun help = test::run_hessa("plot --help");
  EXPECT_EQ(help.exit_code, 0) << help.output;
  EXPECT_NE(help.output.find("usage: hessa-plot"), std::string::npos) << help.output;
  const test::CliRun missing = test::run_hessa("plot /nonexistent/scan.h5");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;
  EXPECT_NE(missing.output.find("/nonexistent/scan.h5: no such file"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace hessa
