// InputError / DeviceError formatting.
#include "hessa/errors.hpp"

#include <algorithm>
#include <sstream>

namespace hessa {

std::string format_located_message(const std::string& source, int line, int column, const std::string& message,
                                   const std::string& context_line) {
  std::ostringstream out;
  out << source;
  if (line > 0) out << ':' << line;
  if (line > 0 && column > 0) out << ':' << column;
  out << ": " << message;
  if (!context_line.empty()) {
    // A window of the line around the column: a hostile one-line input can be megabytes long. The window's ends
    // do not split a UTF-8 sequence (continuation bytes are 10xxxxxx).
    constexpr std::size_t kBefore = 60, kWidth = 120;
    const auto continuation = [&](std::size_t i) {
      return i < context_line.size() && (static_cast<unsigned char>(context_line[i]) & 0xC0) == 0x80;
    };
    const std::size_t at = column > 0 ? std::min(std::size_t(column - 1), context_line.size()) : 0;
    std::size_t begin = at > kBefore ? at - kBefore : 0;
    while (begin < at && continuation(begin)) ++begin;
    std::size_t end = std::min(context_line.size(), begin + kWidth);
    while (end > at && continuation(end)) --end;
    const std::string lead = begin > 0 ? "..." : "";
    out << "\n  " << lead << context_line.substr(begin, end - begin) << (end < context_line.size() ? "..." : "")
        << "\n  " << std::string(lead.size(), ' ');
    for (std::size_t k = begin; k < at; ++k) out << (context_line[k] == '\t' ? '\t' : ' ');
    out << '^';
  }
  return out.str();
}

InputError::InputError(std::string source, int line, int column, std::string message, std::string context)
    : std::runtime_error(format_located_message(source, line, column, message, context)),
      source_(std::move(source)),
      line_(line),
      column_(column),
      message_(std::move(message)) {}

InputError::InputError(std::string message) : std::runtime_error(message), message_(std::move(message)) {}

}  // namespace hessa
