// Error types: InputError is the user's to fix (CLI exit code 2); DeviceError is a failed CUDA/cuSOLVER call.
#pragma once

#include <stdexcept>
#include <string>

namespace hessa {

// Bad input a user can act on. `what()` is the full message, e.g.
//   "pts.csv:3:7: expected a number, found 'abc'".
// line/column are 1-based; 0 means "not applicable" (a whole-file problem).
class InputError : public std::runtime_error {
 public:
  InputError(std::string source, int line, int column, std::string message, std::string context = "");
  explicit InputError(std::string message);

  const std::string& source() const { return source_; }
  int line() const { return line_; }
  int column() const { return column_; }
  const std::string& message() const { return message_; }

 private:
  std::string source_;
  int line_ = 0;
  int column_ = 0;
  std::string message_;
};

// A CUDA runtime, cuSOLVER or cuBLAS call that returned an error status.
class DeviceError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Formats "source:line:col: message" followed by the offending line and a caret under the column.
std::string format_located_message(const std::string& source, int line, int column, const std::string& message,
                                   const std::string& context_line);

}  // namespace hessa
