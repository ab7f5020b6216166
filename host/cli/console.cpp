// Notices and summary lines shared by the commands.
#include "cli/console.hpp"

#include <iomanip>
#include <iostream>

namespace hessa::cli {

NoticeSink stderr_notices(bool quiet) {
  if (quiet) return nullptr;
  return [](const std::string& message) { std::cerr << "hessa: " << message << '\n'; };
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
