// Messages for the user that are not errors (a fallback to the CPU, a clamped chunk): the engine hands them to a
// sink and a front end decides where they go (the CLI: stderr, unless --quiet).
#pragma once

#include <functional>
#include <string>

namespace hessa {

using NoticeSink = std::function<void(const std::string& message)>;

// Says `message` through `sink` when there is one.
inline void notify(const NoticeSink& sink, const std::string& message) {
  if (sink) sink(message);
}

}  // namespace hessa
