// --chunk and --memory, shared by the commands that stream points in chunks (analyze, jacobian, run): parsed
// strictly (a count that overflows is an error, not a saturated value) and planned within the memory budget.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace hessa::cli {

struct ChunkOptions {
  std::size_t chunk = 0;  // 0: sized from the memory budget
  std::string memory;     // "" : no user limit
};

void add_chunk_options(CLI::App* cmd, ChunkOptions& options);
// --memory alone (hessa run, whose chunk is the job's), checked as add_chunk_options checks it.
void add_memory_option(CLI::App* cmd, std::string& memory, const std::string& description);

// The user's limit in bytes (0: none); InputError for a malformed size. `what` names the option for messages.
std::size_t memory_limit_bytes(const std::string& memory, const std::string& what = "--memory");

// Points per chunk for a problem whose one point needs `per_point` bytes on the host (see plan_chunk); a clamped
// --chunk is said on stderr unless quiet. `memory` is the limit text (the option, or a job's [run] memory).
std::size_t plan_chunk_points(std::size_t requested, const std::string& memory, std::size_t per_point,
                              std::size_t backend_capacity, const std::string& what, bool quiet);

}  // namespace hessa::cli
