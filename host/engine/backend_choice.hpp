// --backend auto|cpu|cuda turned into a backend: the GPU when usable, else the CPU (said as a notice).
#pragma once

#include <memory>
#include <string>

#include "engine/notices.hpp"
#include "hessa/backend.hpp"
#include "hessa/errors.hpp"

namespace hessa {

// auto: the GPU when usable, else the CPU with the reason as a notice; cpu; cuda (InputError without a GPU).
std::unique_ptr<Backend> choose_backend(const std::string& wanted, const NoticeSink& notice);

// Points per chunk for a problem whose one point needs `per_point` bytes on the host (see plan_chunk in
// hessa/memory_budget.hpp); a clamped request is said as a notice. `memory` is the limit text ("" none: the
// option, or a job's [run] memory), parsed as --memory.
std::size_t plan_chunk_points(std::size_t requested, const std::string& memory, std::size_t per_point,
                              std::size_t backend_capacity, const std::string& what, const NoticeSink& notice);

// The user's limit in bytes (0: none); InputError for a malformed size. `what` names the option for messages.
std::size_t memory_limit_bytes(const std::string& memory, const std::string& what = "--memory");

}  // namespace hessa
