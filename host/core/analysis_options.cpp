// Names of classes, statuses and stencils as they appear in output files; ChunkResult sizing.
#include "hessa/analysis_options.hpp"

#include "hessa/errors.hpp"

namespace hessa {

void ChunkResult::resize(std::size_t points_in_chunk, int dimension, const AnalysisOptions& options) {
  count = points_in_chunk;
  n = dimension;
  const std::size_t vec = count * std::size_t(n);
  const std::size_t mat = vec * std::size_t(n);
  points.resize(count);
  gradient.resize(options.keep_gradient ? vec : 0);
  hessian.resize(options.keep_hessian ? mat : 0);
  eigenvalues.resize(options.keep_eigenvalues ? vec : 0);
  eigenvectors.resize(options.eigenvectors ? mat : 0);
}

const char* class_name(PointClass c) {
  switch (c) {
    case PointClass::Minimum: return "minimum";
    case PointClass::Maximum: return "maximum";
    case PointClass::Saddle: return "saddle";
    case PointClass::Degenerate: return "degenerate";
    case PointClass::Noncritical: return "noncritical";
    case PointClass::Unknown: break;
  }
  return "";
}

const char* status_name(PointStatus s) {
  switch (s) {
    case PointStatus::Ok: return "ok";
    case PointStatus::NonfiniteF: return "nonfinite_f";
    case PointStatus::EigenNotConverged: return "eig_not_converged";
  }
  return "unknown";
}

const char* stencil_name(StencilKind k) {
  switch (k) {
    case StencilKind::Central: return "central";
    case StencilKind::Compact: return "compact";
    case StencilKind::Richardson: return "richardson";
    case StencilKind::HyperDual: return "hyperdual";
    case StencilKind::Gradient: return "gradient";
    case StencilKind::Exact: return "exact";
  }
  return "unknown";
}

StencilKind stencil_from_name(const std::string& name) {
  for (StencilKind k : {StencilKind::Central, StencilKind::Compact, StencilKind::Richardson, StencilKind::HyperDual,
                        StencilKind::Gradient, StencilKind::Exact}) {
    if (name == stencil_name(k)) return k;
  }
  throw InputError("unknown stencil '" + name +
                   "': expected auto, central, compact, richardson, hyperdual, gradient or exact");
}

double default_step_scale(StencilKind k) {
  switch (k) {
    case StencilKind::Richardson: return kRichardsonStepScale;
    case StencilKind::HyperDual:
    case StencilKind::Exact: return 0.0;
    case StencilKind::Gradient: return kGradientStepScale;
    default: return kDefaultStepScale;
  }
}

}  // namespace hessa
