// The per-backend constructors behind hessa::make_backend (host/backend/backend_factory.cpp), defined in
// host/cpu/cpu_backend.cpp and in kernels/cuda_backend.cu or host/backend/cuda_not_built.cpp. Call make_backend, not
// these.
#pragma once

#include <memory>
#include <string>

#include "hessa/backend.hpp"

namespace hessa::detail {

std::unique_ptr<Backend> new_cpu_backend();
// nullptr with the reason in `why_unavailable` (which may be null).
std::unique_ptr<Backend> new_cuda_backend(std::string* why_unavailable);

}  // namespace hessa::detail
