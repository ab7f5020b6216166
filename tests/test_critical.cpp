// The critical-point search on every backend: catalogue functions with known stationary points found from coarse
// grids, exactly and without spurious extras; outcome bookkeeping; `hessa critical` end to end.
// Position tolerance 1e-6: the search differentiates at h = 2^-17 max(|x|,1), where the FD gradient's error is
// ~h^2 f'''/6 + eps|f|/h <~ 1e-8 on these landscapes, so the iteration's fixed point sits within ~1e-8 / |lambda|
// (|lambda| >= 5.5 at every stationary point of himmelblau and six-hump camel) of the true one, and convergence
// stops within step_rtol * diagonal ~ 1e-8 of that fixed point. Measured: <= 2.2e-10, a margin of > 1000x.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "backend_fixture.hpp"
#include "cli_support.hpp"
#include "hessa/critical_search.hpp"
#include "test_support.hpp"

namespace hessa {
namespace {

class CriticalSearchOnBackend : public test::OnBackend {
 protected:
  CriticalSearchResult search(const CompiledFunction& f, const SearchBox& box, const std::vector<int>& grid,
                              CriticalSearchOptions options = {}) {
    options.box = box;
    return find_critical_points(f, *backend_, options, grid_points(box, grid));
  }
};

double max_abs_difference(const double* a, const std::vector<double>& b) {
  double d = 0.0;
  for (std::size_t i = 0; i < b.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

// Every outcome is counted once, and the basins partition the converged starts.
void expect_consistent_bookkeeping(const CriticalSearchResult& r) {
  EXPECT_EQ(r.converged + r.left_box + r.not_converged + r.failed, r.starts);
  EXPECT_EQ(std::accumulate(r.basin_count.begin(), r.basin_count.end(), std::size_t(0)), r.converged);
  std::vector<std::size_t> members(r.count(), 0);
  for (std::size_t p = 0; p < r.starts; ++p) {
    const bool converged = r.outcome[p] == StartOutcome::Converged;
    EXPECT_EQ(r.basin_of_start[p] >= 0, converged) << "start " << p;
    if (converged) ++members[std::size_t(r.basin_of_start[p])];
  }
  EXPECT_EQ(members, r.basin_count);
}

// The found points are exactly the catalogue's stationary points (within `tol`, one each) and, analyzed with the
// default options, get the catalogue's types.
void expect_catalogue_points(Backend& backend, const CatalogueEntry& e, const CompiledFunction& f,
                             const CriticalSearchResult& r, double tol) {
  const auto expected = e.stationary_points(2);
  ASSERT_EQ(r.count(), expected.size()) << e.name;
  const ChunkResult analyzed = [&] {
    ChunkResult a;
    backend.analyze(f, AnalysisOptions{}, r.points.data(), r.count(), a);
    return a;
  }();
  for (const StationaryPoint& s : expected) {
    int matches = 0;
    for (std::size_t k = 0; k < r.count(); ++k) {
      if (max_abs_difference(&r.points[k * 2], s.x) > tol) continue;
      ++matches;
      EXPECT_STREQ(class_name(analyzed.points[k].point_class), class_name(s.type))
          << e.name << " at (" << s.x[0] << ", " << s.x[1] << ")";
    }
    EXPECT_EQ(matches, 1) << e.name << ": stationary point (" << s.x[0] << ", " << s.x[1] << ") found " << matches
                          << " times";
  }
}

TEST_P(CriticalSearchOnBackend, HimmelblauFromA15x15GridFindsItsNineStationaryPoints) {
  const CatalogueEntry& e = *find_catalogue_entry("himmelblau");
  const CompiledFunction f = test::compile_entry(e, 2);
  const CriticalSearchResult r = search(f, {{-5, -5}, {5, 5}}, {15, 15});
  EXPECT_EQ(r.starts, 225u);
  EXPECT_EQ(r.not_converged, 0u);
  expect_consistent_bookkeeping(r);
  expect_catalogue_points(*backend_, e, f, r, 1e-6);
}

TEST_P(CriticalSearchOnBackend, SixHumpCamelFindsAllFifteenAndNothingSpurious) {
  const CatalogueEntry& e = *find_catalogue_entry("six_hump_camel");
  const CompiledFunction f = test::compile_entry(e, 2);
  const CriticalSearchResult r = search(f, {{-3, -2}, {3, 2}}, {15, 15});
  EXPECT_EQ(r.not_converged, 0u);
  expect_consistent_bookkeeping(r);
  expect_catalogue_points(*backend_, e, f, r, 1e-6);  // 6 minima, 7 saddles, 2 maxima, one each
}

TEST_P(CriticalSearchOnBackend, SaddleIsFoundFromEveryStart) {
  // Plain gradient descent never converges to a saddle; the LM iteration on g = 0 does, in one Newton step.
  const CriticalSearchResult r = search(test::compile("x0^2 - x1^2", 2), {{-1, -1}, {1, 1}}, {5, 5});
  ASSERT_EQ(r.count(), 1u);
  EXPECT_LE(std::fabs(r.points[0]) + std::fabs(r.points[1]), 1e-9);
  EXPECT_EQ(r.basin_count[0], 25u);
}

TEST_P(CriticalSearchOnBackend, DegenerateMonkeySaddleIsOnePointNotAClusterOfFdRoots) {
  // H = 0 at the origin: FD gradients have roots up to ~h apart there (x^3 - 3xy^2: (0, +-h/sqrt 3)), and the
  // iteration converges only linearly; merging within a few FD steps reports one point, within ~1e-5 of 0.
  // (Its class is not asserted: 1e-5 from 0 the Hessian's eigenvalues are +-6e-5, above the zero band.)
  const CriticalSearchResult r =
      search(test::compile_entry(*find_catalogue_entry("monkey_saddle"), 2), {{-1, -1}, {1, 1}}, {6, 6});
  ASSERT_EQ(r.count(), 1u);
  EXPECT_LE(max_abs_difference(r.points.data(), {0.0, 0.0}), 1e-4);
  EXPECT_EQ(r.converged, 36u);
  expect_consistent_bookkeeping(r);
}

TEST_P(CriticalSearchOnBackend, StationaryPointsOutsideTheBoxAreNotReported) {
  // x^3 - 3x + y^2: minimum at (1, 0), saddle at (-1, 0) outside the box; starts with x < 0 head for the saddle.
  const CriticalSearchResult r = search(test::compile("x0^3 - 3*x0 + x1^2", 2), {{-0.5, -1}, {3, 1}}, {8, 5});
  ASSERT_EQ(r.count(), 1u);
  EXPECT_LE(max_abs_difference(r.points.data(), {1.0, 0.0}), 1e-6);
  EXPECT_GT(r.left_box, 0u);
  expect_consistent_bookkeeping(r);
}

TEST_P(CriticalSearchOnBackend, WithoutAStationaryPointNothingConverges) {
  CriticalSearchOptions options;
  options.max_iterations = 5;
  const CriticalSearchResult r = search(test::compile("x0 + 2*x1", 2), {{-1, -1}, {1, 1}}, {3, 3}, options);
  EXPECT_EQ(r.count(), 0u);
  EXPECT_EQ(r.not_converged, 9u);
  for (int iterations : r.iterations) EXPECT_EQ(iterations, 5);
  expect_consistent_bookkeeping(r);
}

HESSA_INSTANTIATE_ON_BACKENDS(Backends, CriticalSearchOnBackend);

TEST(GridPoints, IncludeBothEndsWithTheLastCoordinateFastest) {
  EXPECT_EQ(grid_points({{0, 10}, {1, 12}}, {2, 3}), (std::vector<double>{0, 10, 0, 11, 0, 12, 1, 10, 1, 11, 1, 12}));
  EXPECT_EQ(grid_points({{-2}, {4}}, {1}), (std::vector<double>{1}));
}

// --- `hessa critical` end to end (the binary, as tests/test_cli.cpp runs it) ---------------------------------

namespace fs = std::filesystem;

using test::CliRun;
using test::run_hessa;

class CriticalCli : public test::ScratchDirTest {};

TEST_F(CriticalCli, HimmelblauGridWritesNineClassifiedPointsWithBasinCounts) {
  const CliRun r =
      run_hessa("critical --function himmelblau --box -5:5,-5:5 --grid 15x15 --backend cpu --out " + path("out.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("out.csv"));
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("x0,x1,f,grad_norm,lambda_min,lambda_max,class,morse_index,", 0), 0u) << header;
  ASSERT_GE(header.size(), 12u);
  EXPECT_EQ(header.substr(header.size() - 12), ",basin_count") << header;
  std::map<std::string, int> classes;
  double basins = 0;
  int rows = 0;
  for (std::string line; std::getline(in, line); ++rows) {
    std::vector<std::string> cells;
    std::stringstream row(line);
    for (std::string cell; std::getline(row, cell, ',');) cells.push_back(cell);
    ++classes[cells.at(6)];
    basins += std::stod(cells.back());
  }
  EXPECT_EQ(rows, 9);
  EXPECT_EQ(classes["minimum"], 4);
  EXPECT_EQ(classes["saddle"], 4);
  EXPECT_EQ(classes["maximum"], 1);
  EXPECT_EQ(basins, 225);
  EXPECT_TRUE(fs::exists(path("out.csv.meta.json")));
  EXPECT_NE(r.output.find("starts 225, converged 225"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("unique 9"), std::string::npos) << r.output;
}

// --columns on critical: the named columns only, in their order (the writers' own tests cover the rest).
TEST_F(CriticalCli, ColumnsWriteOnlyTheNamedColumns) {
  const CliRun r = run_hessa(
      "critical --function himmelblau --box -5:5,-5:5 --grid 15x15 --backend cpu --columns "
      "class,basin_count,x0 --out " +
      path("out.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::ifstream in(path("out.csv"));
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header, "class,basin_count,x0");
  EXPECT_EQ(std::count(first.begin(), first.end(), ','), 2) << first;
}

TEST_F(CriticalCli, BadBoxOrGridIsExitCode2WithAClearMessageAndNoOutput) {
  const struct {
    const char* args;
    const char* message;
  } cases[] = {
      {"--box -5:5,abc --grid 15x15", "--box -5:5,abc: coordinate 2 is 'abc', expected LOW:HIGH"},
      {"--box 5:-5,-5:5 --grid 15x15", "coordinate 1 has LOW >= HIGH"},
      {"--box -5:5,-5:5 --grid 15x0", "--grid 15x0: '0' is not a positive whole number"},
      {"--box -5:5,-5:5 --grid 15x15x15", "3 counts for a box of 2 coordinates"},
      {"--box -5:5,-5:5", "starting points needed"},
  };
  for (const auto& c : cases) {
    const CliRun r =
        run_hessa(std::string("critical --function himmelblau --backend cpu ") + c.args + " --out " + path("out.csv"));
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(std::string("hessa: error: ")), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(path("out.csv"))) << c.args;
  }
}

}  // namespace
}  // namespace hessa
