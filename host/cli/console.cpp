// Notices and summary lines shared by the commands.
#include "cli/console.hpp"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <iostream>

namespace hessa::cli {

NoticeSink stderr_notices(bool quiet) {
  if (quiet) return nullptr;
  return [](const std::string& message) { std::cerr << "hessa: " << message << '\n'; };
}

ProgressLine::ProgressLine(bool enabled, bool log_lines)
    : enabled_(enabled && (log_lines || isatty(STDERR_FILENO) != 0)), terminal_(isatty(STDERR_FILENO) != 0) {}

ProgressLine::~ProgressLine() {
  if (shown_) std::fprintf(stderr, "\n");
}

void ProgressLine::update(std::size_t done, std::optional<std::size_t> total) {
  if (!enabled_) return;
  if (done == 0) start_ = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  if (elapsed < 1.0 || elapsed - last_ < (terminal_ ? 0.25 : 10.0)) return;
  last_ = elapsed;
  const double rate = double(done) / elapsed;
  std::fprintf(stderr, "%s%zu", terminal_ ? "\r" : "hessa: ", done);
  if (total && *total > 0) {
    const double eta = rate > 0 && *total > done ? double(*total - done) / rate : 0.0;
    std::fprintf(stderr, " / %zu points (%.0f%%), %.3g points/s, ETA %.0f s", *total,
                 100.0 * double(done) / double(*total), rate, eta);
  } else {
    std::fprintf(stderr, " points, %.3g points/s", rate);
  }
  std::fprintf(stderr, terminal_ ? "   " : "\n");
  std::fflush(stderr);
  shown_ = terminal_;
}

void print_run_summary(std::ostream& out, const RunSummary& summary, const std::string& failed_hint,
                       const std::string& range_note) {
  for (int c = 1; c < 6; ++c) {
    out << "  " << std::left << std::setw(12) << class_name(PointClass(c)) << summary.per_class[std::size_t(c)] << '\n';
  }
  out << "  " << std::setw(12) << "failed" << summary.failed << (summary.failed ? failed_hint : "") << '\n';
  out << "  eigenvalues in [" << summary.lambda_min << ", " << summary.lambda_max << "]" << range_note << '\n';
  out << "  " << summary.seconds << " s, " << (summary.seconds > 0 ? double(summary.points) / summary.seconds : 0.0)
      << " points/s\n";
}

}  // namespace hessa::cli
