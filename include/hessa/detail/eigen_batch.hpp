// How many n x n matrices one batched cuSOLVER eigensolver call may take (kernels/eigen.cu), and the rule that
// shrinks a batch whose workspace does not fit the device: host functions, so that a CPU test checks the arithmetic.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

namespace hessa::detail {

// batch * n^2 must stay below 2^31: the batched routines address the batch's matrices with 32-bit offsets (n = 128
// with the default chunking on an H200 would otherwise reach ~2.2e9 elements). 0 for n <= 0.
constexpr std::size_t max_eigen_batch(int n) {
  return n <= 0 ? 0 : std::size_t(INT_MAX) / (std::size_t(n) * std::size_t(n));
}

// The batch a call starts from, before memory is considered: the matrices left, within max_eigen_batch(n), and
// within INT_MAX when the routine's batchSize is an int (syevjBatched).
constexpr std::size_t eigen_batch_cap(int n, std::size_t count, bool int_batch) {
  std::size_t cap = count < max_eigen_batch(n) ? count : max_eigen_batch(n);
  if (int_batch && cap > std::size_t(INT_MAX)) cap = std::size_t(INT_MAX);
  return cap;
}

// When a batch's workspace does not fit: halve it (rounding down) and ask again. 1 -> 0: not even one matrix fits.
constexpr std::size_t shrink_eigen_batch(std::size_t batch) { return batch / 2; }

// Kept free beside a solver's workspace: cuSOLVER's own allocations inside the call and the context's growth.
inline constexpr std::size_t kEigenWorkspaceHeadroom = std::size_t(64) << 20;

// Device bytes a solver's workspace may take: what is free now plus the workspace already held (it is released
// before it grows), less the headroom. 0 when even the headroom is not there.
constexpr std::size_t eigen_workspace_budget(std::size_t free_bytes, std::size_t held_bytes) {
  const std::size_t have = free_bytes + held_bytes < free_bytes ? SIZE_MAX : free_bytes + held_bytes;
  return have > kEigenWorkspaceHeadroom ? have - kEigenWorkspaceHeadroom : 0;
}

// syevjBatched reports its workspace as an int count of doubles: a negative one is an overflow inside cuSOLVER
// (the batch is too large for its int arithmetic), reported as SIZE_MAX bytes so that the batch shrinks.
constexpr std::size_t workspace_bytes_from_lwork(std::int64_t lwork, std::size_t element_bytes) {
  return lwork < 0 ? SIZE_MAX : std::size_t(lwork) * element_bytes;
}

struct EigenBatchPlan {
  std::size_t batch = 0;            // 0: not even one matrix fits the budget
  std::size_t workspace_bytes = 0;  // the workspace queried at `batch`
  int queries = 0;                  // how many sizes were asked
};

// The largest of cap, cap/2, cap/4, ... (shrink_eigen_batch) whose workspace fits budget_bytes, each size asked of
// the library at that very batch: workspace_bytes(batch) -> bytes (SIZE_MAX: cannot be represented).
template <class WorkspaceBytes>
EigenBatchPlan plan_eigen_batch(std::size_t cap, std::size_t budget_bytes, WorkspaceBytes&& workspace_bytes) {
  EigenBatchPlan plan;
  for (std::size_t batch = cap; batch > 0; batch = shrink_eigen_batch(batch)) {
    const std::size_t bytes = workspace_bytes(batch);
    ++plan.queries;
    if (bytes <= budget_bytes) {
      plan.batch = batch;
      plan.workspace_bytes = bytes;
      return plan;
    }
  }
  return plan;
}

}  // namespace hessa::detail
