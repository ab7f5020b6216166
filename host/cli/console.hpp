// What the commands print: the engine's notices on stderr, the summary lines after a run.
#pragma once

#include <ostream>
#include <string>

#include "engine/notices.hpp"
#include "hessa/pipeline.hpp"

namespace hessa::cli {

// The engine's notices as "hessa: MESSAGE" lines on stderr; none when quiet.
NoticeSink stderr_notices(bool quiet);

// The class counts, failures (with `failed_hint` after a nonzero count), the eigenvalue range (followed by
// `range_note`) and the time and rate, one per line, indented.
void print_run_summary(std::ostream& out, const RunSummary& summary, const std::string& failed_hint,
                       const std::string& range_note);

}  // namespace hessa::cli
