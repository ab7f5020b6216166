// How much host memory a run may use, and how many points a chunk may hold within it. The budget honours, in
// this order of tightness, a user limit (--memory, [run] memory), the cgroup (v2 or v1) the process runs in
// (SLURM, containers), and the memory the kernel says is available; chunks are sized from it, a user --chunk
// beyond it is clamped with a notice, and a problem whose single point does not fit is refused up front.
#pragma once

#include <cstddef>
#include <string>

namespace hessa {

// What the machine says, in bytes; 0 where unknown or unlimited.
struct MemoryFacts {
  std::size_t available = 0;     // /proc/meminfo MemAvailable
  std::size_t cgroup_limit = 0;  // the tightest memory.max / memory.limit_in_bytes on the way to the root
  std::size_t cgroup_usage = 0;  // that cgroup's usage less its inactive file cache (reclaimable)
  std::size_t resident = 0;      // this process's resident set now
};

// Reads MemoryFacts from `proc` (/proc) and `cgroup_root` (/sys/fs/cgroup); missing files leave fields at 0.
MemoryFacts read_memory_facts(const std::string& proc = "/proc", const std::string& cgroup_root = "/sys/fs/cgroup");

struct MemoryBudget {
  std::size_t chunk_bytes = 0;      // a chunk's working memory: streaming stays steady below this
  std::size_t one_point_limit = 0;  // the most a single point may need; more is refused
  std::string source;               // what set it: "--memory 768 MiB", "cgroup limit 4 GiB", "available memory 21 GiB"
};

// From the facts and the user's limit (bytes, 0: none). With a hard limit (user or cgroup) a chunk may use half
// of what is left under it, a single point three quarters; with none, a quarter of the available memory (at
// most 2 GiB: results stream out steadily and other jobs share the machine), a single point three quarters.
MemoryBudget memory_budget(const MemoryFacts& facts, std::size_t user_limit);
// The budget of this process now.
MemoryBudget host_memory_budget(std::size_t user_limit);

// "768M", "4G", "1.5GiB", "2000000" (bytes), "512k": binary multiples (K = 1024). InputError naming `what` else.
std::size_t parse_memory_size(const std::string& text, const std::string& what);
// 805306368 -> "768 MiB".
std::string format_bytes(double bytes);

struct ChunkPlan {
  std::size_t points = 0;  // points per chunk
  std::string notice;      // non-empty when the user's --chunk was clamped: say it on stderr
};

// Points per chunk: the user's `requested` (0: choose) within the budget and the backend's capacity.
// `per_point` is the host memory one point needs; `what` describes the problem for the refusal message
// ("n = 20000, central stencil"). Throws InputError when one point exceeds budget.one_point_limit.
ChunkPlan plan_chunk(std::size_t requested, std::size_t per_point, std::size_t backend_capacity,
                     const MemoryBudget& budget, const std::string& what);

}  // namespace hessa
