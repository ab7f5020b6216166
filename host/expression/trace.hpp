// The expression compiler's tracer (trace.cpp): a program unrolled into a reverse-mode tape (detail/tape.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "hessa/detail/bytecode.hpp"
#include "hessa/detail/tape.hpp"

namespace hessa::expr {

struct TraceResult {
  std::vector<detail::TapeNode> nodes;  // empty when why_not is set
  std::string why_not;
};

// The tape of `program` (compiled for program.n coordinates), or why there is none: more than max_nodes nodes.
TraceResult trace_program(const detail::ProgramView& program, std::size_t max_nodes);

}  // namespace hessa::expr
