// The overlapped chunk loop (host/engine/chunk_stages.cpp, used by run_analysis and the job runner): chunks drain in
// order, a slot is never in two stages at once, a failure behaves as in the serial loop (the chunks before it are
// written, the first failure in serial order is the one reported), and a chunked analysis through it writes every
// output format byte for byte as the serial loop does.
#include <gtest/gtest.h>
#include <omp.h>

#include <ctime>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "engine/chunk_stages.hpp"
#include "hessa/backend.hpp"
#include "hessa/expression.hpp"
#include "hessa/io.hpp"
#include "hessa/pipeline.hpp"
#include "io_support.hpp"
#include "npy_readback.hpp"

namespace hessa {
namespace {

// A run of `chunks` chunks whose stages record what they saw; stage s of chunk `fail_chunk[s]` throws.
struct Recorder {
  explicit Recorder(std::size_t chunk_count, std::size_t slots) : chunks(chunk_count), in_slot(slots), use(slots) {
    for (auto& u : use) u = 0;
  }

  ChunkStages stages() {
    ChunkStages s;
    s.fill = [this](std::size_t slot) {
      enter(slot);
      if (next == chunks) {
        leave(slot);
        return false;
      }
      const std::size_t c = next++;
      in_slot[slot] = c;
      if (c == fail_at[0]) {
        leave(slot);
        throw std::runtime_error("fill " + std::to_string(c));
      }
      jitter(c);
      leave(slot);
      return true;
    };
    s.compute = [this](std::size_t slot) {
      enter(slot);
      const std::size_t c = in_slot[slot];
      computed.push_back(c);  // (the compute stage runs on one thread: no lock needed)
      if (c == fail_at[1]) {
        leave(slot);
        throw std::runtime_error("compute " + std::to_string(c));
      }
      jitter(c + 1);
      leave(slot);
    };
    s.drain = [this](std::size_t slot) {
      enter(slot);
      const std::size_t c = in_slot[slot];
      if (c == fail_at[2]) {
        leave(slot);
        throw std::runtime_error("drain " + std::to_string(c));
      }
      jitter(c + 2);
      {
        std::lock_guard<std::mutex> lock(mutex);
        drained.push_back(c);
      }
      leave(slot);
    };
    return s;
  }

  // Two stages in one slot at once would be a data race on the chunk's buffers.
  void enter(std::size_t slot) {
    if (use[slot].fetch_add(1) != 0) overlapped_use = true;
  }
  void leave(std::size_t slot) { use[slot].fetch_sub(1); }
  // Uneven stage times, so every interleaving of the three threads gets a chance.
  static void jitter(std::size_t k) { std::this_thread::sleep_for(std::chrono::microseconds((k * 37) % 200)); }

  std::size_t chunks;
  std::size_t next = 0;  // (fill runs on one thread)
  std::vector<std::size_t> in_slot;
  std::vector<std::atomic<int>> use;
  std::atomic<bool> overlapped_use{false};
  std::size_t fail_at[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX};
  std::mutex mutex;
  std::vector<std::size_t> computed, drained;
};

std::vector<std::size_t> first(std::size_t n) {
  std::vector<std::size_t> v(n);
  for (std::size_t k = 0; k < n; ++k) v[k] = k;
  return v;
}

TEST(ChunkStages, EveryChunkIsComputedAndDrainedInOrderAndNoSlotIsSharedOnEverySlotCount) {
  for (std::size_t slots : {1, 2, 3, 5}) {
    Recorder r(40, slots);
    run_chunk_stages(r.stages(), slots);
    EXPECT_EQ(r.computed, first(40)) << slots;
    EXPECT_EQ(r.drained, first(40)) << slots;
    EXPECT_FALSE(r.overlapped_use) << slots;
  }
  Recorder none(0, 3);
  run_chunk_stages(none.stages(), 3);
  EXPECT_TRUE(none.drained.empty());
  EXPECT_THROW(run_chunk_stages(none.stages(), 0), std::invalid_argument);
}

// The message of the failure first in serial order, and the chunks drained before it.
std::pair<std::string, std::vector<std::size_t>> fail_run(std::size_t slots, std::size_t fill, std::size_t compute,
                                                          std::size_t drain) {
  Recorder r(30, slots);
  r.fail_at[0] = fill;
  r.fail_at[1] = compute;
  r.fail_at[2] = drain;
  std::string message;
  try {
    run_chunk_stages(r.stages(), slots);
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  EXPECT_FALSE(r.overlapped_use);
  return {message, r.drained};
}

TEST(ChunkStages, AFailureDrainsTheChunksBeforeItAndReportsTheFirstFailureInSerialOrder) {
  struct Case {
    std::size_t fill, compute, drain;
    const char* message;
    std::size_t drained;
  };
  const Case cases[] = {
      {7, SIZE_MAX, SIZE_MAX, "fill 7", 7},
      {SIZE_MAX, 7, SIZE_MAX, "compute 7", 7},
      {SIZE_MAX, SIZE_MAX, 7, "drain 7", 7},
      {9, 5, SIZE_MAX, "compute 5", 5},  // an earlier chunk's failure wins
      {5, 9, 3, "drain 3", 3},
      {6, 6, SIZE_MAX, "fill 6", 6},  // same chunk: the earlier stage
      {0, SIZE_MAX, SIZE_MAX, "fill 0", 0},
      {SIZE_MAX, 6, 6, "compute 6", 6},
  };
  for (std::size_t slots : {1, 3}) {
    for (const Case& c : cases) {
      const auto [message, drained] = fail_run(slots, c.fill, c.compute, c.drain);
      EXPECT_EQ(message, c.message) << slots;
      EXPECT_EQ(drained, first(c.drained)) << slots << " " << c.message;
    }
  }
}

// --- run_analysis: overlapped equals serial, byte for byte, on every writer ----------------------------------

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A writer's write() alone: its default format() declines, so the pipeline calls write() on the writing thread.
class WriteOnly final : public ResultWriter {
 public:
  explicit WriteOnly(std::unique_ptr<ResultWriter> inner) : inner_(std::move(inner)) {}
  void write(const double* points, const ChunkResult& result) override { inner_->write(points, result); }
  void finish(const std::string& metadata) override { inner_->finish(metadata); }

 private:
  std::unique_ptr<ResultWriter> inner_;
};

// Busy for `seconds` of the calling thread's CPU time (by_cpu) or of wall time.
void busy(double seconds, bool by_cpu) {
  const auto cpu_now = [] {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  };
  const auto wall_now = [] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  };
  const double start = by_cpu ? cpu_now() : wall_now();
  volatile double sink = 0.0;
  while ((by_cpu ? cpu_now() : wall_now()) - start < seconds) sink = sink + 1.0;
}

// The compute team (chunk_stages.cpp's ComputeTeam) with every core: a drain that takes 10x a chunk's compute time in
// CPU leaves the I/O threads a core (once the first drains are known, the team has one thread less); a light drain
// keeps the whole team; the caller's thread count is restored after either run. The margins are 10x: the test
// checks the rule, not a timing.
TEST(ChunkStages, TheComputeTeamLeavesACoreToAHeavyDrainAndKeepsItOtherwise) {
  const int cores = omp_get_num_procs();
  if (cores < 2) GTEST_SKIP() << "one core: the team cannot shrink";
  const int before = omp_get_max_threads();
  omp_set_num_threads(cores);
  for (const bool heavy_drain : {true, false}) {
    std::vector<int> teams;
    std::size_t filled = 0;
    ChunkStages s;
    s.fill = [&](std::size_t) { return filled++ < 12; };
    s.compute = [&](std::size_t) {
      teams.push_back(omp_get_max_threads());
      busy(heavy_drain ? 5e-4 : 5e-3, false);
    };
    s.drain = [&](std::size_t) {
      if (heavy_drain) busy(5e-3, true);
    };
    run_chunk_stages(s, 3);
    ASSERT_EQ(teams.size(), 12u);
    EXPECT_EQ(teams.front(), cores);
    // From chunk 5 on: the first drain (of chunk 0) ends after chunks 0 .. 2 have filled the 3 slots.
    for (std::size_t c = 5; c < teams.size(); ++c)
      EXPECT_EQ(teams[c], heavy_drain ? cores - 1 : cores) << "chunk " << c;
    EXPECT_EQ(omp_get_max_threads(), cores) << "restored";
  }
  omp_set_num_threads(before);
}

TEST(ChunkStages, AChunkedAnalysisWritesTheSameBytesOverlappedAsInTurnOnEveryWriter) {
  test::ScratchDir dir;
  {
    std::ofstream points(dir.file("p.csv"));
    points << "x,y\n";
    for (int k = 0; k < 1000; ++k) points << -2 + 0.004 * k << ',' << 1.5 - 0.0031 * k << '\n';
  }
  ExpressionOptions eo;
  eo.dimension = 2;
  eo.variable_names = {"x", "y"};
  const CompiledFunction f = compile_expression("(1 - x)^2 + 100 * (y - x^2)^2 + log(x + 1.5)", eo);
  AnalysisOptions options;
  options.keep_gradient = options.keep_hessian = options.keep_eigenvalues = options.eigenvectors = true;
  OutputLayout layout;
  layout.n = 2;
  layout.gradient = layout.hessian = layout.eigenvalues = layout.eigenvectors = true;
  layout.extra_columns = {"chunk_row"};
  auto backend = make_cpu_backend();
  for (const char* ext : {".csv", ".jsonl", ".npy", ".npz"}) {
    // In turn, overlapped, and overlapped with the text written by write() instead of format() + append().
    std::string bytes[3];
    for (int variant = 0; variant < 3; ++variant) {
      const std::size_t slots = variant == 0 ? 1 : 3;
      const std::string out = dir.file("r" + std::to_string(variant) + ext);
      auto reader = open_point_reader(dir.file("p.csv"));
      std::unique_ptr<ResultWriter> writer = open_result_writer(out, layout);
      if (variant == 2) writer = std::make_unique<WriteOnly>(std::move(writer));
      std::size_t progress_calls = 0, last_done = 0;
      // A hook on the computing thread, as the direction columns are: the row within its chunk.
      const ChunkHook hook = [](ChunkResult& r) {
        r.extra_columns.assign(1, std::vector<double>(r.count));
        for (std::size_t p = 0; p < r.count; ++p) r.extra_columns[0][p] = double(p);
      };
      const RunSummary summary = run_analysis(
          f, options, *backend, *reader, *writer, 37,
          [&](std::size_t done, std::optional<std::size_t>) {
            EXPECT_GT(done, last_done);
            last_done = done;
            ++progress_calls;
          },
          hook, slots);
      writer->finish("{}");
      EXPECT_EQ(summary.points, 1000u);
      EXPECT_EQ(summary.chunks, 28u);  // 27 of 37 points and one of 1
      EXPECT_EQ(progress_calls, 28u);
      EXPECT_EQ(last_done, 1000u);
      EXPECT_LT(summary.failed, summary.points);  // log(x + 1.5) is NaN for x <= -1.5: some failed rows
      EXPECT_GT(summary.failed, 0u);
      bytes[variant] = read_all(out);
    }
    EXPECT_GT(bytes[0].size(), 1000u) << ext;
    if (std::string(ext) == ".npz") {
      // The zip headers stamp the time of writing (2-second resolution): compare the members' bytes.
      for (std::string& b : bytes) {
        std::string members;
        for (const auto& [name, content] : test::read_zip(b)) members += name + '\n' + content;
        b = members;
      }
    }
    EXPECT_TRUE(bytes[0] == bytes[1]) << ext << ": the overlapped run wrote other bytes";
    EXPECT_TRUE(bytes[0] == bytes[2]) << ext << ": write() and format() + append() wrote other bytes";
  }
}

}  // namespace
}  // namespace hessa
