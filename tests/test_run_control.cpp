// Memory limits and stop signals: the budget's arithmetic and its sources (cgroup files, /proc), chunk planning,
// strict --chunk / --memory parsing, problems too large for the budget refused up front, and SIGINT / SIGTERM /
// SIGHUP ending a run at a chunk boundary with no temporary file left and a resumable store.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "batch_jobs.hpp"
#include "cli_support.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"
#include "hessa/memory_budget.hpp"
#include "store_reader.hpp"

namespace hessa {
namespace {

namespace fs = std::filesystem;
using test::CliRun;
using test::run_hessa;

constexpr std::size_t MiB = std::size_t(1) << 20;
constexpr std::size_t GiB = std::size_t(1) << 30;

TEST(MemorySize, ParsesBinaryMultiplesAndPlainBytes) {
  EXPECT_EQ(parse_memory_size("768M", "--memory"), 768 * MiB);
  EXPECT_EQ(parse_memory_size("768MiB", "--memory"), 768 * MiB);
  EXPECT_EQ(parse_memory_size("4g", "--memory"), 4 * GiB);
  EXPECT_EQ(parse_memory_size("1.5GiB", "--memory"), 3 * GiB / 2);
  EXPECT_EQ(parse_memory_size("512k", "--memory"), 512u * 1024u);
  EXPECT_EQ(parse_memory_size("2000000", "--memory"), 2000000u);
  for (const char* bad : {"", "M", "12X", "-5M", "1e3", "0", "1.2.3G", "99999999999T"}) {
    EXPECT_THROW(parse_memory_size(bad, "--memory"), InputError) << bad;
  }
}

// Either backend's chunk capacity is capped by host_chunk_limit: a chunk's points and ChunkResult (here n = 32 with
// the Hessian, eigenvalues and eigenvectors kept, ~50 KiB a point) fit the host's chunk budget, one more would not.
TEST(MemoryBudget, HostChunkLimitKeepsAChunkWithinTheHostBudget) {
  AnalysisOptions options;
  options.keep_hessian = options.keep_eigenvalues = options.eigenvectors = true;
  const std::size_t limit = host_chunk_limit(32, options);
  const std::size_t budget = host_memory_budget(0).chunk_bytes;
  const std::size_t per_point = host_bytes_per_point(32, options);
  ASSERT_GE(limit, 1u);
  if (budget >= per_point) {
    EXPECT_LE(limit * per_point, budget);
    EXPECT_GT((limit + 1) * per_point, budget);
  }
  EXPECT_LE(make_cpu_backend()->chunk_capacity(32, options), limit);
}

TEST(MemoryBudget, TheTightestHardLimitWinsAndLeavesHeadroom) {
  MemoryFacts facts;
  facts.available = 20 * GiB;
  facts.cgroup_limit = 4 * GiB;
  facts.cgroup_usage = 1 * GiB;
  facts.resident = 256 * MiB;
  // cgroup: 3 GiB left -> chunks may use half of it, one point three quarters.
  MemoryBudget b = memory_budget(facts, 0);
  EXPECT_EQ(b.chunk_bytes, 3 * GiB / 2);
  EXPECT_EQ(b.one_point_limit, 3 * GiB / 4 * 3);
  EXPECT_NE(b.source.find("cgroup limit 4"), std::string::npos) << b.source;
  // A user limit below the cgroup's: 768 MiB less this process's 256 MiB resident.
  b = memory_budget(facts, 768 * MiB);
  EXPECT_EQ(b.chunk_bytes, 256 * MiB);
  EXPECT_NE(b.source.find("--memory 768 MiB"), std::string::npos) << b.source;
  // A user limit already used up: nothing left, so any point is refused by plan_chunk.
  b = memory_budget(facts, 100 * MiB);
  EXPECT_EQ(b.chunk_bytes, 0u);
  // No hard limit: a quarter of what is available, at most 2 GiB per chunk.
  b = memory_budget(MemoryFacts{20 * GiB, 0, 0, 0}, 0);
  EXPECT_EQ(b.chunk_bytes, 2 * GiB);
  EXPECT_EQ(b.one_point_limit, 15 * GiB);
  b = memory_budget(MemoryFacts{4 * GiB, 0, 0, 0}, 0);
  EXPECT_EQ(b.chunk_bytes, 1 * GiB);
  // A cgroup limit above the available memory: the available memory is what counts.
  b = memory_budget(MemoryFacts{2 * GiB, 64 * GiB, 0, 0}, 0);
  EXPECT_EQ(b.chunk_bytes, 512 * MiB);
}

class FakeSystem : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hessa_fake_sys_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(root_ / "proc/self");
    put("proc/meminfo", "MemTotal:       32000000 kB\nMemFree:         1000000 kB\nMemAvailable:   16000000 kB\n");
    put("proc/self/statm", "1000 256 10 1 0 100 0\n");
  }
  void TearDown() override { fs::remove_all(root_); }
  void put(const std::string& rel, const std::string& text) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << text;
  }
  MemoryFacts facts() { return read_memory_facts((root_ / "proc").string(), (root_ / "cgroup").string()); }
  fs::path root_;
};

TEST_F(FakeSystem, CgroupV2LimitIsFoundAboveTheProcessAndLessesItsReclaimableCache) {
  put("proc/self/cgroup", "0::/job/step\n");
  put("cgroup/job/memory.max", "805306368\n");  // 768 MiB on the parent (SLURM job), none on the step
  put("cgroup/job/memory.current", "209715200\n");
  put("cgroup/job/memory.stat", "anon 100\nfile 900\ninactive_file 104857600\nactive_file 5\n");
  put("cgroup/job/step/memory.max", "max\n");
  put("cgroup/job/step/memory.current", "1\n");
  const MemoryFacts f = facts();
  EXPECT_EQ(f.available, std::size_t(16000000) * 1024);
  EXPECT_EQ(f.cgroup_limit, 768 * MiB);
  EXPECT_EQ(f.cgroup_usage, 100 * MiB);  // 200 MiB current less 100 MiB inactive file cache
  EXPECT_EQ(f.resident, std::size_t(256) * std::size_t(sysconf(_SC_PAGESIZE)));
}

TEST_F(FakeSystem, CgroupV1MemoryControllerAndItsUnlimitedValue) {
  put("proc/self/cgroup", "9:pids:/\n4:memory:/slurm/uid_0/job_7\n0::/\n");
  put("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");  // v1's "unlimited" at the root
  put("cgroup/memory/slurm/uid_0/job_7/memory.limit_in_bytes", "4294967296\n");
  put("cgroup/memory/slurm/uid_0/job_7/memory.usage_in_bytes", "1073741824\n");
  put("cgroup/memory/slurm/uid_0/job_7/memory.stat", "cache 5\ntotal_inactive_file 0\n");
  const MemoryFacts f = facts();
  EXPECT_EQ(f.cgroup_limit, 4 * GiB);
  EXPECT_EQ(f.cgroup_usage, 1 * GiB);
}

TEST_F(FakeSystem, NoCgroupFilesMeansNoLimit) {
  put("proc/self/cgroup", "0::/\n");
  const MemoryFacts f = facts();
  EXPECT_EQ(f.cgroup_limit, 0u);
  EXPECT_EQ(f.available, std::size_t(16000000) * 1024);
}

TEST(PlanChunk, DefaultsFitTheBudgetAndTheBackend) {
  MemoryBudget budget{100 * MiB, 300 * MiB, "test budget"};
  EXPECT_EQ(plan_chunk(0, MiB, 1000, budget, "p").points, 100u);      // the budget
  EXPECT_EQ(plan_chunk(0, MiB, 40, budget, "p").points, 40u);         // the backend's capacity
  EXPECT_EQ(plan_chunk(0, 8, 1u << 30, budget, "p").points, 65536u);  // the streaming cap
  // One point above the chunk budget but within the one-point limit: chunks of one point.
  EXPECT_EQ(plan_chunk(0, 200 * MiB, 1000, budget, "p").points, 1u);
}

TEST(PlanChunk, AUserChunkBeyondTheBudgetIsClampedWithANotice) {
  MemoryBudget budget{100 * MiB, 300 * MiB, "test budget"};
  ChunkPlan plan = plan_chunk(50, MiB, 1000, budget, "p");
  EXPECT_EQ(plan.points, 50u);
  EXPECT_TRUE(plan.notice.empty());
  plan = plan_chunk(std::size_t(1) << 40, MiB, 1000, budget, "p");
  EXPECT_EQ(plan.points, 100u);
  EXPECT_NE(plan.notice.find("using chunks of 100 points"), std::string::npos) << plan.notice;
}

TEST(PlanChunk, APointLargerThanTheBudgetIsRefusedWithTheBytesItNeeds) {
  MemoryBudget budget{100 * MiB, 300 * MiB, "cgroup limit 1 GiB"};
  try {
    plan_chunk(0, 2 * GiB, 1000, budget, "n = 20000, central stencil");
    FAIL() << "no error";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("n = 20000, central stencil"), std::string::npos) << m;
    EXPECT_NE(m.find("needs 2.0 GiB"), std::string::npos) << m;
    EXPECT_NE(m.find("cgroup limit 1 GiB"), std::string::npos) << m;
  }
}

class RunControl : public test::ScratchDirTest {
 protected:
  // Writes a B x n float64 .npy of values in [-1, 1) (a fixed LCG: no numpy needed).
  std::string npy(const std::string& name, std::size_t rows, std::size_t cols) const {
    std::string header = "{'descr': '<f8', 'fortran_order': False, 'shape': (" + std::to_string(rows) + ", " +
                         std::to_string(cols) + "), }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::ofstream out(path(name), std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const auto len = static_cast<unsigned short>(header.size());
    out.put(char(len & 0xff)).put(char(len >> 8));
    out << header;
    std::uint64_t state = 12345;
    for (std::size_t k = 0; k < rows * cols; ++k) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      const double v = double(state >> 11) / double(1ull << 53) * 2.0 - 1.0;
      out.write(reinterpret_cast<const char*>(&v), sizeof v);
    }
    return path(name);
  }

  // Files in the scratch directory whose names start with '.': writers' temporary files.
  std::vector<std::string> hidden_files() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_))
      if (entry.path().filename().string()[0] == '.') names.push_back(entry.path().filename().string());
    return names;
  }

  struct Ended {
    int exit_code = -1;  // -1 when ended by a signal
    int signal = 0;
    long max_rss_kib = 0;  // the child's peak resident set
  };

  pid_t spawn(const std::vector<std::string>& args) const {
    return test::spawn_hessa(args, (dir_ / "child.log").string());
  }

  static Ended wait_for(pid_t child) {
    int status = 0;
    rusage usage{};
    wait4(child, &status, 0, &usage);
    Ended e;
    if (WIFEXITED(status)) e.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
    e.max_rss_kib = usage.ru_maxrss;
    return e;
  }

  std::string child_log() const {
    std::ifstream in(dir_ / "child.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // Waits (up to 60 s) until `ready` holds, polling.
  template <class Ready>
  static bool wait_until(Ready ready) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (ready()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
};

TEST_F(RunControl, ChunkCountsThatOverflowAndBadSizesAreRefused) {
  const std::string points = write("p.csv", "1,2\n0.5,-1\n");
  for (const char* bad : {"--chunk 18446744073709551616", "--chunk 99999999999999999999999", "--chunk 0",
                          "--chunk 12abc", "--memory 12X", "--memory -1G"}) {
    const CliRun r = run_hessa("analyze --function himmelblau --points " + points + " --out " + path("o.csv") + " " +
                               std::string(bad));
    EXPECT_EQ(r.exit_code, 2) << bad << "\n" << r.output;
    EXPECT_FALSE(fs::exists(path("o.csv"))) << bad;
  }
  const CliRun ok = run_hessa("analyze --function himmelblau --points " + points + " --out " + path("o.csv") +
                              " --chunk 9223372036854775807 --backend cpu");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("more than the memory budget"), std::string::npos) << ok.output;
}

TEST_F(RunControl, APointTooLargeForMemoryIsRefusedUpFrontNotByBadAlloc) {
  // n = 100 000: one Hessian is 80 GB (and a 10^5-column CSV used to allocate ~160 GB).
  std::string row;
  for (int k = 0; k < 100000; ++k) row += (k ? ",0.5" : "0.5");
  const std::string points = write("wide.csv", row + "\n" + row + "\n");
  const CliRun r = run_hessa("analyze --function \"x0^2\" --points " + points + " --out " + path("o.csv") +
                             " --backend cpu --stencil central");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("one point (n = 100000, central stencil) needs"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("bad_alloc"), std::string::npos) << r.output;
}

// n = 20 000 under a 4 GiB limit (a cgroup or --memory): one point's Hessian and stencil take ~9 GiB, so the run is
// refused at once with that figure instead of being killed by the OOM killer.
TEST_F(RunControl, APointLargerThanTheUserLimitIsRefusedUpFront) {
  const std::string points = npy("wide.npy", 2, 20000);
  const CliRun r = run_hessa("analyze --function \"x0^2\" --points " + points + " --out " + path("o.npy") +
                             " --backend cpu --memory 4G --stencil central");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("one point (n = 20000, central stencil) needs 12 GiB"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("of the --memory 4.0 GiB"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("o.npy")));
}

// The case: n = 256 under a 768 MiB limit. Before, the default chunk (a quarter of the free memory)
// took gigabytes; now the chunk is planned inside the limit. x0^2 keeps each evaluation cheap (the stencil's
// 131 073 evaluations per point and the 256 x 256 eigensolves are what the memory is for).
TEST_F(RunControl, AnalyzeStaysWithinMemoryLimit) {
  const std::string points = npy("p256.npy", 200, 256);
  const pid_t child = spawn({"analyze", "--function", "x0^2 + x255^2", "--points", points, "--out", path("o.npy"),
                             "--backend", "cpu", "--memory", "768M", "--stencil", "central", "--quiet"});
  const Ended e = wait_for(child);
  ASSERT_EQ(e.exit_code, 0) << child_log();
  EXPECT_LT(e.max_rss_kib * 1024L, 768L * 1024 * 1024) << "peak RSS " << e.max_rss_kib << " KiB";
  std::ifstream meta(path("o.npy.meta.json"));
  const auto m = nlohmann::json::parse(meta);
  EXPECT_LT(m["chunk_points"].get<std::size_t>(), 200u);  // the limit shaped the chunk
}

// In a real cgroup (v1 memory controller or v2) of 768 MiB, when this machine lets the test make one (root on a
// writable cgroup file system); skipped otherwise.
TEST_F(RunControl, AnalyzeFinishesInsideA768MiBCgroup) {
  const fs::path v1 = "/sys/fs/cgroup/memory";
  const fs::path group = v1 / ("hessa-test-" + std::to_string(getpid()));
  std::error_code ec;
  if (!fs::exists(v1 / "memory.limit_in_bytes") || !fs::create_directory(group, ec) || ec) {
    GTEST_SKIP() << "no writable cgroup v1 memory controller here";
  }
  std::ofstream(group / "memory.limit_in_bytes") << (768 * MiB);
  const std::string points = npy("p256.npy", 200, 256);
  const CliRun r = test::run_command("sh -c 'echo $$ > " + (group / "cgroup.procs").string() + " && exec " + HESSA_EXE +
                                     " analyze --function \"x0^2 + x255^2\" --points " + points + " --out " +
                                     path("o.npy") + " --backend cpu --quiet'");
  std::size_t peak = 0;
  std::ifstream(group / "memory.max_usage_in_bytes") >> peak;
  std::size_t oom_kills = 0;
  {
    std::ifstream oom(group / "memory.oom_control");
    std::string key;
    std::size_t value = 0;
    while (oom >> key >> value)
      if (key == "oom_kill") oom_kills = value;
  }
  fs::remove(group, ec);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(oom_kills, 0u);
  EXPECT_LE(peak, 768 * MiB);
}

struct StopCase {
  int signal;
  int exit_code;
  const char* name;
};

class StopSignals : public RunControl, public ::testing::WithParamInterface<StopCase> {};

TEST_P(StopSignals, AnalyzeStopsAtAChunkBoundaryAndRemovesItsTemporaryFiles) {
  const StopCase c = GetParam();
  const std::string points = npy("p.npy", 1000000, 8);
  // .npz: one temporary file per array (up to 20), the worst case for leftovers.
  const pid_t child = spawn({"analyze", "--function", "rosenbrock", "--points", points, "--out", path("r.npz"),
                             "--chunk", "2000", "--backend", "cpu", "--gradient", "--quiet"});
  ASSERT_TRUE(wait_until([&] { return hidden_files().size() >= 2; })) << child_log();
  kill(child, c.signal);
  const Ended e = wait_for(child);
  EXPECT_EQ(e.exit_code, c.exit_code) << child_log();
  EXPECT_NE(child_log().find(std::string("stopped by ") + c.name), std::string::npos) << child_log();
  EXPECT_TRUE(hidden_files().empty()) << hidden_files().front();
  EXPECT_FALSE(fs::exists(path("r.npz")));
  EXPECT_FALSE(fs::exists(path("r.npz.meta.json")));
}

// SIGKILL cannot be caught: the temporaries stay, but nothing under the result's own names exists (the data file
// and its metadata are renamed into place only after the last chunk is written and synced).
TEST_F(RunControl, AnalyzeKilledWithSigkillLeavesNoCompleteLookingResult) {
  const std::string points = npy("p.npy", 1000000, 8);
  for (const char* out : {"r.csv", "r.npy"}) {
    const pid_t child = spawn({"analyze", "--function", "rosenbrock", "--points", points, "--out", path(out), "--chunk",
                               "2000", "--backend", "cpu", "--quiet"});
    ASSERT_TRUE(wait_until([&] {
      for (const std::string& h : hidden_files())
        if (fs::file_size(path(h)) > 0) return true;
      return false;
    })) << child_log();
    kill(child, SIGKILL);
    const Ended e = wait_for(child);
    EXPECT_EQ(e.signal, SIGKILL) << child_log();
    EXPECT_FALSE(fs::exists(path(out))) << out;
    EXPECT_FALSE(fs::exists(path(std::string(out) + ".meta.json"))) << out;
    for (const std::string& h : hidden_files()) fs::remove(path(h));
  }
}

INSTANTIATE_TEST_SUITE_P(Each, StopSignals,
                         ::testing::Values(StopCase{SIGINT, 130, "SIGINT"}, StopCase{SIGTERM, 143, "SIGTERM"},
                                           StopCase{SIGHUP, 129, "SIGHUP"}),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

TEST_F(RunControl, ARunStoppedBySigtermResumesToTheUninterruptedResult) {
  const auto job = [&](const std::string& name, const std::string& out) {
    test::GridJob spec{
        out,          "expression = \"sum(i, 1, 200, sin(i*x)*cos(i*y))/200 + x^2 + y^2\"\nvars = [\"x\", \"y\"]",
        "-2.0, -2.0", "2.0, 2.0",
        150,          150,
        500,          "gradient = true\neigenvalues = true\n"};
    return write(name, test::job_text(spec));
  };
  const std::string stopped_job = job("stopped.toml", "stopped.h5");
  const std::string whole_job = job("whole.toml", "whole.h5");
  const pid_t child = spawn({"run", stopped_job, "--quiet"});
  ASSERT_TRUE(wait_until([&] {
    if (!fs::exists(path("stopped.h5"))) return false;
    const auto f = test::read_file(path("stopped.h5"), {});
    return f && test::count_done(*f) >= 2;
  })) << child_log();
  kill(child, SIGTERM);
  const Ended e = wait_for(child);
  ASSERT_EQ(e.exit_code, 143) << child_log();
  EXPECT_NE(child_log().find("continue with 'hessa run " + stopped_job + " --resume'"), std::string::npos)
      << child_log();
  const auto at_stop = test::read_file(path("stopped.h5"), {});
  ASSERT_TRUE(at_stop.has_value());
  EXPECT_LT(test::count_done(*at_stop), at_stop->done().size()) << "stopped after the last chunk: nothing to test";
  EXPECT_TRUE(hidden_files().empty());

  const CliRun resumed = run_hessa("run " + stopped_job + " --resume");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  const CliRun whole = run_hessa("run " + whole_job);
  ASSERT_EQ(whole.exit_code, 0) << whole.output;
  const std::vector<std::string> names = {"points", "f", "grad_norm", "lambda_min", "gradient", "eigenvalues"};
  const auto a = test::read_file(path("stopped.h5"), names);
  const auto b = test::read_file(path("whole.h5"), names);
  ASSERT_TRUE(a && b);
  test::expect_same_per_point_data(*a, *b, names);
}

TEST_F(RunControl, AStoreLargerThanTheDiskIsRefusedBeforeItIsCreated) {
  test::GridJob spec{"huge.h5"};
  spec.nx = spec.ny = 100000, spec.chunk = 4096, spec.analysis = "hessian = true\n";
  const std::string job = write("huge.toml", test::job_text(spec));
  const CliRun r = run_hessa("run " + job + " --backend cpu");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("the store needs"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(path("huge.h5")));
}

TEST_F(RunControl, JobMemoryAndChunkAreCheckedWithTheirKeys) {
  const auto job = [&](long long chunk, const std::string& memory) {
    test::GridJob spec{"j.h5"};
    spec.nx = spec.ny = 4, spec.chunk = chunk, spec.analysis = "";
    spec.run += "memory = \"" + memory + "\"\n";
    return write("j.toml", test::job_text(spec));
  };
  CliRun r = run_hessa("run " + job(16, "lots"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("j.toml:14"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("run.memory"), std::string::npos) << r.output;
  // A job chunk that could never be held in memory: refused with the largest chunk that fits.
  r = run_hessa("run " + job(1000000000000LL, "1G"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("choose a chunk of at most"), std::string::npos) << r.output;
  r = run_hessa("run " + job(16, "1G") + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // The command line's --memory is checked as strictly as the job's key.
  r = run_hessa("run " + job(16, "1G") + " --memory lots");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--memory: 'lots': expected a size"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace hessa
