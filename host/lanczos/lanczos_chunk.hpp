// A job's points analyzed by Lanczos instead of a formed Hessian (`[points] hessian = "lanczos"`): each point's
// row (PointAnalysis) from the extremes, and the Lanczos datasets as extra columns of the chunk.
#pragma once

#include <cstdint>
#include <vector>

#include "hessa/analysis_options.hpp"
#include "hessa/lanczos.hpp"
#include "hessa/result_store.hpp"

namespace hessa {

// The extra datasets the analysis adds, in the order lanczos_chunk fills ChunkResult::extra_columns.
std::vector<ExtraDataset> lanczos_datasets(const LanczosOptions& options, int n);

// `count` points of the objective's own coordinates (first_index: the first one's index in the job): the
// second-derivative test from lambda_min and lambda_max with the band widened by their residuals (Morse index -1:
// unknown), grad_norm, lr_max = 1 / lambda_max, the gradient step's quantities (g'Hg by one HVP, f(x - step g)
// by one more evaluation), the gradient when `options.keep_gradient`; then the Lanczos columns.
void lanczos_chunk(Backend& backend, const Objective& objective, const double* points, std::size_t count,
                   std::uint64_t first_index, const LanczosOptions& lanczos, const AnalysisOptions& options,
                   ChunkResult& out);

}  // namespace hessa
