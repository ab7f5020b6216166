// The chunk loop shared by every command that analyzes a point set.
#include "hessa/pipeline.hpp"

#include "hessa/stop_signals.hpp"

#include <chrono>
#include <cmath>
#include <limits>
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
                        const ProgressCallback& progress, const ChunkHook& after_analyze) {
  SummaryTimer timer;
  RunSummary& summary = timer.summary();
  std::vector<double> points;
  ChunkResult result;
  for (;;) {
    throw_if_stop_requested();  // a stop signal ends the run here, between chunks
    const std::size_t count = reader.read(chunk_points, points);
    if (count == 0) break;
    backend.analyze(f, options, points.data(), count, result);
    if (after_analyze) after_analyze(result);
    writer.write(points.data(), result);
    add_to_summary(summary, result);
    ++summary.chunks;
    if (progress) progress(summary.points, reader.total_points());
  }
  return timer.finish();
}

}  // namespace hessa
