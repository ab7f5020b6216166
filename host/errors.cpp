// InputError / DeviceError formatting.
#include "hessa/errors.hpp"

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
    out << "\n  " << context_line << "\n  ";
    for (int k = 1; k < column; ++k) out << (context_line[k - 1] == '\t' ? '\t' : ' ');
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
