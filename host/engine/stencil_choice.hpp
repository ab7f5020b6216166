// --stencil auto: which stencil forms H fastest for a function, and why (said in the summary and the metadata).
#pragma once

#include <optional>
#include <string>

#include "hessa/backend.hpp"
#include "hessa/objective.hpp"
#include "hessa/types.hpp"

namespace hessa {

struct StencilChoice {
  StencilKind kind = StencilKind::Central;
  std::string reason;  // "auto: ..." when chosen here, "" when the user named the stencil
};

// `wanted` as given, or (nullopt: auto) the exact stencil where the function has reverse-mode gradients (an
// expression's tape, a model's backpropagation): n forward-over-reverse sweeps, exact to rounding, as fast as any
// stencil at n = 2 and the fastest measured from n = 8 on (README, "Accuracy modes"); else (a trace too long for a
// tape) central differences. On the
// CUDA backend auto keeps central: its tape kernels have not yet run on a GPU (scripts/gpu-check checks them).
StencilChoice choose_stencil(const std::optional<StencilKind>& wanted, const Objective& f, BackendKind backend);

// "auto" -> nullopt, else stencil_from_name (InputError for an unknown name).
std::optional<StencilKind> stencil_option(const std::string& name);

}  // namespace hessa
