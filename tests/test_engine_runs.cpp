// The engine's runs called in-process, as a front end other than the CLI would call them (the CLI's own printing
// and exit codes are tested through the binary in test_cli.cpp): outcomes, notices, written files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/analyze_file.hpp"
#include "engine/critical_run.hpp"
#include "engine/jacobian_run.hpp"
#include "hessa/errors.hpp"
#include "io_support.hpp"

namespace {

namespace fs = std::filesystem;

class EngineRuns : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_.file(name)) << text;
    return dir_.file(name);
  }
  std::string path(const std::string& name) const { return dir_.file(name); }
  // Collects the engine's notices instead of printing them.
  hessa::NoticeSink collect() {
    return [this](const std::string& message) { notices_.push_back(message); };
  }

  hessa::test::ScratchDir dir_;
  std::vector<std::string> notices_;
};

// Himmelblau's 9 stationary points (4 minima, 4 saddles, 1 maximum) from the bundled file: the counts are the
// test's tolerance-free check (each point is far from the zero band), the files are complete.
TEST_F(EngineRuns, AnalyzeFileCountsTheClassesAndWritesResultAndMetadata) {
  hessa::AnalyzeFileRequest request;
  request.function = "himmelblau";
  request.points = HESSA_SOURCE_DIR "/examples/himmelblau_stationary.csv";
  request.out = path("r.csv");
  request.backend = "cpu";
  std::size_t reported = 0;
  const hessa::AnalyzeFileOutcome outcome = hessa::analyze_file(
      request, [&](std::size_t done, std::optional<std::size_t>) { reported = done; }, collect());
  EXPECT_EQ(outcome.summary.points, 9u);
  EXPECT_EQ(outcome.summary.per_class[std::size_t(hessa::PointClass::Minimum)], 4u);
  EXPECT_EQ(outcome.summary.per_class[std::size_t(hessa::PointClass::Saddle)], 4u);
  EXPECT_EQ(outcome.summary.per_class[std::size_t(hessa::PointClass::Maximum)], 1u);
  EXPECT_EQ(outcome.n, 2);
  EXPECT_EQ(reported, 9u);
  EXPECT_TRUE(notices_.empty());  // --backend cpu: no fallback to say
  EXPECT_TRUE(fs::exists(path("r.csv")));
  EXPECT_TRUE(fs::exists(path("r.csv.meta.json")));
}

// A --chunk that does not fit the memory limit is clamped, and that is a notice, not an error.
TEST_F(EngineRuns, AClampedChunkIsANoticeToTheSink) {
  std::string points = "x,y\n";
  for (int i = 0; i < 50; ++i) points += std::to_string(i * 0.1) + ",1\n";
  hessa::AnalyzeFileRequest request;
  request.function = "x^4 + y^2";
  request.points = write("p.csv", points);
  request.out = path("r.jsonl");
  request.backend = "cpu";
  request.chunk = std::size_t(1) << 40;
  request.memory = "1G";  // a limit above the fixed reserves of either build
  const hessa::AnalyzeFileOutcome outcome = hessa::analyze_file(request, nullptr, collect());
  EXPECT_EQ(outcome.summary.points, 50u);
  ASSERT_EQ(notices_.size(), 1u);
  EXPECT_NE(notices_[0].find("more than the memory budget"), std::string::npos) << notices_[0];
}

// A bad request is an InputError thrown before any file is written.
TEST_F(EngineRuns, ABadRequestThrowsAndWritesNothing) {
  hessa::AnalyzeFileRequest request;
  request.function = "x^2 + (y";
  request.points = write("p.csv", "x,y\n1,2\n");
  request.out = path("r.csv");
  EXPECT_THROW(hessa::analyze_file(request, nullptr, nullptr), hessa::InputError);
  EXPECT_FALSE(fs::exists(path("r.csv")));
}

// The critical run finds himmelblau's 9 stationary points from a 15 x 15 grid and analyzes each one.
TEST_F(EngineRuns, CriticalRunFindsAndAnalyzesEveryStationaryPoint) {
  hessa::CriticalRunRequest request;
  request.function = "himmelblau";
  request.box = "-5:5,-5:5";
  request.grid = "15x15";
  request.out = path("c.csv");
  request.backend = "cpu";
  const hessa::CriticalRunOutcome outcome = hessa::run_critical(request, collect());
  EXPECT_EQ(outcome.found.count(), 9u);
  EXPECT_EQ(outcome.analyzed.count, 9u);
  EXPECT_EQ(outcome.found.starts, 225u);
  EXPECT_TRUE(fs::exists(path("c.csv")));
}

// Jacobians of the polar map in dual mode: exact, so no failures and no error estimate.
TEST_F(EngineRuns, JacobianRunReportsPointsAndShape) {
  hessa::JacobianRunRequest request;
  request.functions = {"r*cos(t)", "r*sin(t)"};
  request.points = write("polar.csv", "r,t\n1,0\n2,0.5\n");
  request.out = path("J.csv");
  request.mode = hessa::JacobianMode::Dual;
  request.backend = "cpu";
  const hessa::JacobianRunOutcome outcome = hessa::run_jacobian(request, collect());
  EXPECT_EQ(outcome.points, 2u);
  EXPECT_EQ(outcome.failed, 0u);
  EXPECT_EQ(outcome.m, 2);
  EXPECT_EQ(outcome.k, 2);
  EXPECT_EQ(outcome.largest_error, 0.0);
  EXPECT_TRUE(fs::exists(path("J.csv.meta.json")));
}

}  // namespace
