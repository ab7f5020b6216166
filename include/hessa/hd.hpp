// HESSA_HD marks per-element math shared by the CPU backend and the CUDA kernels.
// Under nvcc it expands to __host__ __device__; under a host compiler to nothing.
#pragma once

#if defined(__CUDACC__)
#define HESSA_HD __host__ __device__
#else
#define HESSA_HD
#endif
