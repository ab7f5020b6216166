// Metadata helpers shared by every run.
#include "engine/metadata.hpp"

#include <ctime>

namespace hessa {

std::string dump_json(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json summary_json(const RunSummary& summary) {
  nlohmann::json counts;
  for (int c = 1; c < 6; ++c) counts[class_name(PointClass(c))] = summary.per_class[std::size_t(c)];
  return {{"points", summary.points}, {"classes", counts}, {"failed", summary.failed}, {"seconds", summary.seconds}};
}

}  // namespace hessa
