// --chunk and --memory, shared by the commands that stream points in chunks (analyze, jacobian, run): parsed
// strictly (a count that overflows is an error, not a saturated value); the engine plans chunks from them.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>

namespace hessa::cli {

// --chunk into `chunk` (0 when not given: sized from the memory budget) and --memory into `memory` ("" : none).
void add_chunk_options(CLI::App* cmd, std::size_t& chunk, std::string& memory);
// --memory alone (hessa run, whose chunk is the job's), checked as add_chunk_options checks it.
void add_memory_option(CLI::App* cmd, std::string& memory, const std::string& description);

}  // namespace hessa::cli
