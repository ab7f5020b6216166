// How many n x n matrices one batched cuSOLVER eigensolver call may take (kernels/eigen.cu), as a host function
// so that a CPU test checks the arithmetic.
#pragma once

#include <climits>
#include <cstddef>

namespace hessa::detail {

// batch * n^2 must stay below 2^31: the batched routines address the batch's matrices with 32-bit offsets (n = 128
// with the default chunking on an H200 would otherwise reach ~2.2e9 elements). 0 for n <= 0.
constexpr std::size_t max_eigen_batch(int n) {
  return n <= 0 ? 0 : std::size_t(INT_MAX) / (std::size_t(n) * std::size_t(n));
}

}  // namespace hessa::detail
