#include "engine/stencil_choice.hpp"

#include "hessa/analysis_options.hpp"

namespace hessa {

StencilChoice choose_stencil(const std::optional<StencilKind>& wanted, const Objective& f, BackendKind backend) {
  if (wanted) return {*wanted, ""};
  if (f.batch != nullptr) {
    if (f.batch->has_gradient())
      return {StencilKind::Gradient, "auto: gradient (central differences of the given gradient function)"};
    return {StencilKind::Central, "auto: central (the function gives values only)"};
  }
  if (backend == BackendKind::Cuda) {
    return {StencilKind::Central,
            "auto: central (the CUDA tape kernels are not yet verified on a GPU; --stencil "
            "exact runs them)"};
  }
  if (f.expression != nullptr && f.expression->has_tape()) {
    return {StencilKind::Exact, "auto: exact (forward-over-reverse sweeps of the function's tape)"};
  }
  if (f.expression != nullptr) {
    return {StencilKind::Central, "auto: central (no reverse-mode tape: " + f.expression->why_no_tape() + ")"};
  }
  return {StencilKind::Exact, "auto: exact (the model's R-operator: exact Hessian-vector products)"};
}

std::optional<StencilKind> stencil_option(const std::string& name) {
  if (name == "auto") return std::nullopt;
  return stencil_from_name(name);
}

}  // namespace hessa
