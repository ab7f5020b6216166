// The chunk loop shared by every command that analyzes a point set.
#include "hessa/pipeline.hpp"

#include "engine/chunk_stages.hpp"
#include "hessa/stop_signals.hpp"

#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <vector>

namespace hessa {

void add_to_summary(RunSummary& summary, const ChunkResult& result) {
  for (const PointAnalysis& a : result.points) {
    ++summary.per_class[std::size_t(a.point_class)];
    if (a.status != PointStatus::Ok) {
      ++summary.failed;
      continue;
    }
    summary.lambda_min = std::fmin(summary.lambda_min, a.lambda_min);
    summary.lambda_max = std::fmax(summary.lambda_max, a.lambda_max);
  }
  summary.points += result.count;
}

SummaryTimer::SummaryTimer() : start_(std::chrono::steady_clock::now()) {
  summary_.lambda_min = std::numeric_limits<double>::infinity();
  summary_.lambda_max = -std::numeric_limits<double>::infinity();
}

RunSummary SummaryTimer::finish() {
  RunSummary summary = summary_;
  if (summary.points == summary.failed) summary.lambda_min = summary.lambda_max = std::nan("");
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  return summary;
}

RunSummary run_analysis(const CompiledFunction& f, const AnalysisOptions& options, Backend& backend,
                        PointReader& reader, ResultWriter& writer, std::size_t chunk_points,
                        const ProgressCallback& progress, const ChunkHook& after_analyze, std::size_t slots) {
  return run_analysis(Objective{&f}, options, backend, reader, writer, chunk_points, progress, after_analyze, slots);
}

RunSummary run_analysis(const Objective& f, const AnalysisOptions& options, Backend& backend, PointReader& reader,
                        ResultWriter& writer, std::size_t chunk_points, const ProgressCallback& progress,
                        const ChunkHook& after_analyze, std::size_t slots) {
  SummaryTimer timer;
  RunSummary& summary = timer.summary();
  struct Slot {
    std::vector<double> points;
    const double* rows = nullptr;  // the chunk's points: points.data(), or the reader's own memory (read_in_place)
    std::size_t count = 0;
    std::optional<std::size_t> total;  // the reader's total once known
    ChunkResult result;
    FormattedChunk text;  // the rows rendered on the computing thread, when the writer does (text formats)
    bool formatted = false;
  };
  std::vector<Slot> slot(slots);
  std::size_t written = 0;
  ChunkStages stages;
  stages.fill = [&](std::size_t s) {
    Slot& c = slot[s];
    c.rows = next_points(reader, chunk_points, c.points, &c.count);
    c.total = reader.total_points();
    return slot[s].count > 0;
  };
  stages.compute = [&](std::size_t s) {
    throw_if_stop_requested();  // a stop signal ends the run here, between chunks (those before are written)
    Slot& c = slot[s];
    backend.analyze(f, options, c.rows, c.count, c.result);
    if (after_analyze) after_analyze(c.result);
    add_to_summary(summary, c.result);
    ++summary.chunks;
    // Text is rendered here, by the computing thread's OpenMP threads: on the writing thread it would compete with
    // them for the cores; the writing thread then only appends the bytes.
    c.formatted = writer.format(c.rows, c.result, c.text);
  };
  stages.drain = [&](std::size_t s) {
    if (slot[s].formatted) {
      writer.append(slot[s].text);
    } else {
      writer.write(slot[s].rows, slot[s].result);
    }
    written += slot[s].count;
    if (progress) progress(written, slot[s].total);
  };
  run_chunk_stages(stages, slots);
  return timer.finish();
}

}  // namespace hessa
