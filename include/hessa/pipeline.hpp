// The chunk loop: read points -> backend analysis -> write results, with counts for the final summary.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "hessa/backend.hpp"
#include "hessa/io.hpp"

namespace hessa {

struct RunSummary {
  std::size_t points = 0;
  std::array<std::size_t, 6> per_class{};  // indexed by PointClass
  std::size_t failed = 0;                  // status != ok
  double lambda_min = 0;                   // smallest eigenvalue seen (NaN when none)
  double lambda_max = 0;                   // largest eigenvalue seen
  double seconds = 0;
  std::size_t chunks = 0;
};

// Adds one analyzed chunk to the counts (classes, failures, eigenvalue range, points).
void add_to_summary(RunSummary& summary, const ChunkResult& result);

// A run's summary from its start to its end: counts zero, the eigenvalue range empty, the clock started.
class SummaryTimer {
 public:
  SummaryTimer();
  RunSummary& summary() { return summary_; }
  // The summary at the end of the run: its seconds, and lambda_min = lambda_max = NaN when no point succeeded.
  RunSummary finish();

 private:
  RunSummary summary_;
  std::chrono::steady_clock::time_point start_;
};

// Called after each chunk with the points done so far and the total when known.
using ProgressCallback = std::function<void(std::size_t done, std::optional<std::size_t> total)>;

// The chunks an overlapped run holds in flight: one being read, one computing, one being written.
inline constexpr std::size_t kOverlappedSlots = 3;

// Runs on each analyzed chunk before it is written (extra columns derived from its results).
using ChunkHook = std::function<void(ChunkResult&)>;

// Streams every point of `reader` through `backend` into `writer` in chunks of at most `chunk_points`, with
// `slots` chunks in flight: 1 reads, computes and writes in turn; kOverlappedSlots (the default) reads the next chunk
// and writes the previous one on their own threads while one computes (engine/chunk_stages.hpp). The rows and their
// order are the same either way. The backend and `after_analyze` run on the calling thread; reader.read on the reading
// thread, writer.write and `progress` on the writing thread. Does not call writer.finish(): the caller adds
// metadata (which includes this summary) and finishes.
RunSummary run_analysis(const CompiledFunction& f, const AnalysisOptions& options, Backend& backend,
                        PointReader& reader, ResultWriter& writer, std::size_t chunk_points,
                        const ProgressCallback& progress = nullptr, const ChunkHook& after_analyze = nullptr,
                        std::size_t slots = kOverlappedSlots);
// The same for any objective (a model loss, a subspace, a caller's vectorized function).
RunSummary run_analysis(const Objective& f, const AnalysisOptions& options, Backend& backend, PointReader& reader,
                        ResultWriter& writer, std::size_t chunk_points, const ProgressCallback& progress = nullptr,
                        const ChunkHook& after_analyze = nullptr, std::size_t slots = kOverlappedSlots);

}  // namespace hessa
