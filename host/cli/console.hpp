// What the commands print: the engine's notices on stderr, the summary lines after a run.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "engine/notices.hpp"
#include "hessa/pipeline.hpp"

namespace hessa::cli {

// The engine's notices as "hessa: MESSAGE" lines on stderr; none when quiet.
NoticeSink stderr_notices(bool quiet);

// Progress of a long run on stderr, nothing in its first second: on a terminal one line redrawn a few times a
// second; elsewhere (batch logs), when `log_lines`, a plain "hessa: ..." line every 10 s. The clock starts with
// the object, and again at an update with nothing done yet (the start of computing, after the set-up).
class ProgressLine {
 public:
  ProgressLine(bool enabled, bool log_lines);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;
  void update(std::size_t done, std::optional<std::size_t> total);

 private:
  bool enabled_;
  bool terminal_;
  bool shown_ = false;
  double last_ = 0.0;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The class counts, failures (with `failed_hint` after a nonzero count), the eigenvalue range (followed by
// `range_note`) and the time and rate, one per line, indented.
void print_run_summary(std::ostream& out, const RunSummary& summary, const std::string& failed_hint,
                       const std::string& range_note);

}  // namespace hessa::cli
