// The batch arithmetic of the CUDA eigen stage (kernels/eigen.cu), which runs only on a GPU: the int32 caps on a
// batched cuSOLVER call and the rule that halves a batch until its queried workspace fits the device memory left.
// Exact integer arithmetic, so exact comparisons.
#include <gtest/gtest.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "hessa/detail/eigen_batch.hpp"

namespace hessa::detail {
namespace {

// The largest batch whose batch * n^2 elements still fit in int32.
TEST(EigenBatch, LargestBatchWhoseElementsFitInInt32) {
  for (int n : {1, 2, 3, 32, 33, 128, 337, 1000, 46340, 46341}) {
    const std::size_t batch = max_eigen_batch(n);
    const std::size_t nn = std::size_t(n) * std::size_t(n);
    EXPECT_LE(batch * nn, std::size_t(INT_MAX)) << n;
    EXPECT_GT((batch + 1) * nn, std::size_t(INT_MAX)) << n;
  }
  EXPECT_EQ(max_eigen_batch(128), 131071u);  // the review's case: n = 128 at 2^20 points overflowed
  EXPECT_EQ(max_eigen_batch(46341), 0u);     // n^2 alone exceeds int32: no batched call can take it
  EXPECT_EQ(max_eigen_batch(0), 0u);
}

TEST(EigenBatch, CapIsTheCountWithinBothInt32Limits) {
  EXPECT_EQ(eigen_batch_cap(8, 1000, true), 1000u);                                  // a small chunk: all of it
  EXPECT_EQ(eigen_batch_cap(128, std::size_t(1) << 20, false), 131071u);             // elements past int32
  EXPECT_EQ(eigen_batch_cap(1, std::size_t(1) << 40, true), std::size_t(INT_MAX));   // batchSize is an int
  EXPECT_EQ(eigen_batch_cap(1, std::size_t(1) << 40, false), std::size_t(INT_MAX));  // n^2 = 1: INT_MAX elements
  EXPECT_EQ(eigen_batch_cap(46341, 5, false), 0u);
  EXPECT_EQ(eigen_batch_cap(8, 0, true), 0u);
}

TEST(EigenBatch, ShrinkHalvesDownToNothing) {
  EXPECT_EQ(shrink_eigen_batch(1000), 500u);
  EXPECT_EQ(shrink_eigen_batch(999), 499u);
  EXPECT_EQ(shrink_eigen_batch(1), 0u);
}

TEST(EigenBatch, BudgetCountsTheHeldWorkspaceAndKeepsHeadroom) {
  const std::size_t MiB = std::size_t(1) << 20;
  EXPECT_EQ(eigen_workspace_budget(1000 * MiB, 0), 1000 * MiB - kEigenWorkspaceHeadroom);
  EXPECT_EQ(eigen_workspace_budget(10 * MiB, 100 * MiB), 110 * MiB - kEigenWorkspaceHeadroom);
  EXPECT_EQ(eigen_workspace_budget(kEigenWorkspaceHeadroom, 0), 0u);
  EXPECT_EQ(eigen_workspace_budget(0, 0), 0u);
  EXPECT_EQ(eigen_workspace_budget(SIZE_MAX, SIZE_MAX), SIZE_MAX - kEigenWorkspaceHeadroom);  // no wrap-around
}

TEST(EigenBatch, NegativeLworkIsAnOverflowThatDoesNotFit) {
  EXPECT_EQ(workspace_bytes_from_lwork(0, 8), 0u);
  EXPECT_EQ(workspace_bytes_from_lwork(INT_MAX, 8), std::size_t(INT_MAX) * 8);
  EXPECT_EQ(workspace_bytes_from_lwork(-5, 8), SIZE_MAX);
}

// A workspace model with a fixed part and a per-matrix part, as cuSOLVER's grow; every asked batch is recorded.
struct LinearWorkspace {
  std::size_t fixed, per_matrix;
  std::vector<std::size_t>* asked;
  std::size_t operator()(std::size_t batch) const {
    asked->push_back(batch);
    return fixed + batch * per_matrix;
  }
};

TEST(EigenBatch, PlanKeepsTheCapWhenItFits) {
  std::vector<std::size_t> asked;
  const EigenBatchPlan plan = plan_eigen_batch(1000, 1 << 20, LinearWorkspace{100, 1000, &asked});
  EXPECT_EQ(plan.batch, 1000u);
  EXPECT_EQ(plan.workspace_bytes, 100u + 1000u * 1000u);
  EXPECT_EQ(plan.queries, 1);
  EXPECT_EQ(asked, std::vector<std::size_t>({1000}));
}

TEST(EigenBatch, PlanHalvesAndAsksAgainAtEachBatch) {
  std::vector<std::size_t> asked;
  // 1000 matrices need 1,000,100 bytes; the budget holds 300,000: 1000, 500 and 250 are asked, 250 fits.
  const EigenBatchPlan plan = plan_eigen_batch(1000, 300000, LinearWorkspace{100, 1000, &asked});
  EXPECT_EQ(plan.batch, 250u);
  EXPECT_EQ(plan.workspace_bytes, 250100u);
  EXPECT_EQ(plan.queries, 3);
  EXPECT_EQ(asked, std::vector<std::size_t>({1000, 500, 250}));
}

TEST(EigenBatch, PlanIsEmptyWhenNotEvenOneMatrixFits) {
  std::vector<std::size_t> asked;
  const EigenBatchPlan plan = plan_eigen_batch(8, 1000, LinearWorkspace{5000, 1, &asked});
  EXPECT_EQ(plan.batch, 0u);
  EXPECT_EQ(asked, std::vector<std::size_t>({8, 4, 2, 1}));
  EXPECT_EQ(plan_eigen_batch(0, 1000, LinearWorkspace{0, 1, &asked}).batch, 0u);  // nothing to solve: no query
  EXPECT_EQ(asked.size(), 4u);
}

TEST(EigenBatch, PlanShrinksPastAnOverflowedSize) {
  // syevjBatched's int lwork overflows above 300 matrices (reported negative, so SIZE_MAX bytes).
  const auto overflowing = [](std::size_t batch) {
    return workspace_bytes_from_lwork(batch > 300 ? -1 : std::int64_t(batch) * 10, sizeof(double));
  };
  const EigenBatchPlan plan = plan_eigen_batch(1000, SIZE_MAX - 1, overflowing);
  EXPECT_EQ(plan.batch, 250u);
  EXPECT_EQ(plan.workspace_bytes, 250u * 10u * sizeof(double));
}

}  // namespace
}  // namespace hessa::detail
