// --chunk / --memory: strict parsing.
#include "cli/chunk_options.hpp"

#include <cerrno>
#include <cstdlib>

#include "hessa/errors.hpp"
#include "hessa/memory_budget.hpp"

namespace hessa::cli {
namespace {

// Digits only, 1 <= value < 2^63: CLI11's own conversion saturates an overflowing count instead of refusing it.
std::string check_count(std::string& text) {
  const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  errno = 0;
  const unsigned long long value = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
  if (!digits || errno == ERANGE || value == 0 || value >= (1ull << 63))
    return "expected a whole number of points from 1 to 2^63-1, found '" + text + "'";
  return "";
}

std::string check_size(std::string& text) {
  try {
    (void)parse_memory_size(text, "'" + text + "'");
    return "";
  } catch (const InputError& e) {
    return e.what();  // CLI11 puts "--memory: " before it
  }
}

}  // namespace

void add_chunk_options(CLI::App* cmd, std::size_t& chunk, std::string& memory) {
  cmd->add_option("--chunk", chunk,
                  "Points per chunk (default: sized from the memory budget; a larger value is clamped to it)")
      ->check(CLI::Validator(check_count, "N"));
  add_memory_option(cmd, memory,
                    "Host memory limit for this run, e.g. 768M or 4G (default: the cgroup's limit, else the "
                    "available memory); chunks are sized within it and a point that cannot fit is refused");
}

void add_memory_option(CLI::App* cmd, std::string& memory, const std::string& description) {
  cmd->add_option("--memory", memory, description)->check(CLI::Validator(check_size, "SIZE"));
}

}  // namespace hessa::cli
