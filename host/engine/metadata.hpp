// What every result's metadata is written with: JSON text that cannot fail, a timestamp, the run's summary.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hessa/pipeline.hpp"

namespace hessa {

// Metadata and settings as JSON text. Bytes that are not UTF-8 (a file name, say) become U+FFFD instead of the
// exception nlohmann's plain dump() throws: metadata must never be why a finished run fails.
std::string dump_json(const nlohmann::json& value, int indent = -1);

// "2024-05-01T12:00:00Z"
std::string utc_now();

// {"points", "classes": {minimum: .., ...}, "failed", "seconds"}
nlohmann::json summary_json(const RunSummary& summary);

}  // namespace hessa
