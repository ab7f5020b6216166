// Host memory budget: /proc/meminfo, the process's cgroup (v2 unified or v1 memory controller), the user's
// limit; and chunk planning within it.
#include "hessa/memory_budget.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include "hessa/errors.hpp"

namespace hessa {
namespace {

constexpr std::size_t kMaxChunkPoints = 65536;  // results stream out steadily
constexpr std::size_t kUnlimitedBudget = std::size_t(2) << 30;

// A file's first token as a byte count; 0 when missing, "max" or absurdly large (v1's "unlimited" is ~2^63).
std::size_t read_bytes_file(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!(in >> token) || token == "max") return 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(token.c_str(), &end, 10);
  if (end == token.c_str() || *end != '\0' || v >= (1ull << 60)) return 0;
  return std::size_t(v);
}

// The value of `key` in a "key value" file (memory.stat) or a "Key: value kB" file (meminfo, scaled by 1024).
std::size_t read_keyed_value(const std::string& path, const std::string& key, std::size_t scale) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    unsigned long long value = 0;
    if (fields >> name >> value && (name == key || name == key + ":")) return std::size_t(value) * scale;
  }
  return 0;
}

// The process's cgroup path for the v2 hierarchy ("0::/a/b") or v1's memory controller ("7:memory:/a/b").
void cgroup_paths(const std::string& proc, std::string& v2, std::string& v1) {
  std::ifstream in(proc + "/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string controllers = line.substr(a + 1, b - a - 1);
    const std::string path = line.substr(b + 1);
    if (line.compare(0, a, "0") == 0 && controllers.empty()) v2 = path;
    std::istringstream list(controllers);
    std::string c;
    while (std::getline(list, c, ','))
      if (c == "memory") v1 = path;
  }
}

// Walks from `dir` (below `root`) up to `root`: the tightest limit wins, with that level's usage.
void tightest_limit(const std::string& root, std::string path, const char* limit_file, const char* usage_file,
                    const char* stat_file, const char* inactive_key, MemoryFacts& facts) {
  while (true) {
    const std::string dir = root + (path == "/" ? "" : path);
    const std::size_t limit = read_bytes_file(dir + "/" + limit_file);
    if (limit > 0 && (facts.cgroup_limit == 0 || limit < facts.cgroup_limit)) {
      facts.cgroup_limit = limit;
      const std::size_t usage = read_bytes_file(dir + "/" + usage_file);
      const std::size_t inactive = read_keyed_value(dir + "/" + stat_file, inactive_key, 1);
      facts.cgroup_usage = usage > inactive ? usage - inactive : 0;
    }
    if (path.empty() || path == "/") break;
    const std::size_t slash = path.find_last_of('/');
    path = slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }
}

}  // namespace

MemoryFacts read_memory_facts(const std::string& proc, const std::string& cgroup_root) {
  MemoryFacts facts;
  facts.available = read_keyed_value(proc + "/meminfo", "MemAvailable", 1024);
  std::string v2, v1;
  cgroup_paths(proc, v2, v1);
  // In a container the cgroup namespace makes the process's own cgroup the root: "/" (v2) is the usual answer.
  if (!v2.empty())
    tightest_limit(cgroup_root, v2, "memory.max", "memory.current", "memory.stat", "inactive_file", facts);
  if (!v1.empty()) {
    tightest_limit(cgroup_root + "/memory", v1, "memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat",
                   "total_inactive_file", facts);
  }
  {
    std::ifstream statm(proc + "/self/statm");
    unsigned long long size = 0, resident = 0;
    const long page = ::sysconf(_SC_PAGESIZE);
    if (statm >> size >> resident && page > 0) facts.resident = std::size_t(resident) * std::size_t(page);
  }
  return facts;
}

MemoryBudget memory_budget(const MemoryFacts& facts, std::size_t user_limit) {
  // What is left under each hard limit, the tightest first.
  std::size_t hard = 0;
  std::string source;
  const auto consider = [&](std::size_t limit, std::size_t used, const std::string& name) {
    if (limit == 0) return;
    const std::size_t left = limit > used ? limit - used : 0;
    if (source.empty() || left < hard) {
      hard = left;
      source = name + " " + format_bytes(double(limit)) + " (" + format_bytes(double(left)) + " left)";
    }
  };
  consider(user_limit, facts.resident, "--memory");
  consider(facts.cgroup_limit, facts.cgroup_usage, "cgroup limit");
  MemoryBudget budget;
  if (!source.empty() && (facts.available == 0 || hard <= facts.available)) {
    budget.chunk_bytes = hard / 2;
    budget.one_point_limit = hard / 4 * 3;
    budget.source = source;
    return budget;
  }
  const std::size_t available = facts.available > 0 ? facts.available : kUnlimitedBudget * 4;
  budget.chunk_bytes = std::min(kUnlimitedBudget, available / 4);
  budget.one_point_limit = available / 4 * 3;
  budget.source = "available memory " + format_bytes(double(available));
  return budget;
}

MemoryBudget host_memory_budget(std::size_t user_limit) { return memory_budget(read_memory_facts(), user_limit); }

std::size_t parse_memory_size(const std::string& text, const std::string& what) {
  const auto bad = [&]() -> InputError {
    return InputError(what + ": expected a size such as 768M, 4G, 1.5GiB or a number of bytes");
  };
  std::size_t pos = 0;
  while (pos < text.size() && (std::isdigit(static_cast<unsigned char>(text[pos])) || text[pos] == '.')) ++pos;
  if (pos == 0) throw bad();
  char* end = nullptr;
  const std::string number = text.substr(0, pos);
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size()) throw bad();
  std::string unit = text.substr(pos);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return char(std::toupper(c)); });
  if (unit.size() >= 2 && unit.back() == 'B') unit.pop_back();  // "GB", "GIB" -> "G", "GI"
  if (unit.size() == 2 && unit.back() == 'I') unit.pop_back();  // "GI" -> "G"
  double scale = 1.0;
  if (unit == "K")
    scale = 1024.0;
  else if (unit == "M")
    scale = 1024.0 * 1024.0;
  else if (unit == "G")
    scale = 1024.0 * 1024.0 * 1024.0;
  else if (unit == "T")
    scale = 1024.0 * 1024.0 * 1024.0 * 1024.0;
  else if (!unit.empty() && unit != "B")
    throw bad();
  const double bytes = value * scale;
  if (!(bytes >= 1.0) || bytes >= 9.0e18) throw InputError(what + ": must be between 1 byte and 8 EiB");
  return std::size_t(bytes);
}

std::string format_bytes(double bytes) {
  static const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 6) {
    bytes /= 1024.0;
    ++u;
  }
  char text[48];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : bytes < 10 ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return text;
}

ChunkPlan plan_chunk(std::size_t requested, std::size_t per_point, std::size_t backend_capacity,
                     const MemoryBudget& budget, const std::string& what) {
  per_point = std::max<std::size_t>(per_point, 1);
  if (per_point > budget.one_point_limit) {
    throw InputError("one point (" + what + ") needs " + format_bytes(double(per_point)) +
                     " of memory, more than this run may use: " + format_bytes(double(budget.one_point_limit)) +
                     " of the " + budget.source +
                     ". Use a smaller n or a cheaper stencil, drop --hessian / "
                     "--eigenvectors, or run where more memory is available (--memory can only lower the limit)");
  }
  const std::size_t fit = std::max<std::size_t>(1, budget.chunk_bytes / per_point);
  const std::size_t capacity = std::max<std::size_t>(1, backend_capacity);
  ChunkPlan plan;
  plan.points = std::min({fit, capacity, kMaxChunkPoints});
  if (requested == 0) return plan;
  if (requested <= fit) {
    plan.points = requested;  // the backend splits a chunk larger than its capacity into sub-batches
    return plan;
  }
  plan.points = fit;
  plan.notice = "--chunk " + std::to_string(requested) + " needs " +
                format_bytes(double(requested) * double(per_point)) + ", more than the memory budget (" +
                format_bytes(double(budget.chunk_bytes)) + " of the " + budget.source + "): using chunks of " +
                std::to_string(fit) + " points";
  return plan;
}

}  // namespace hessa
