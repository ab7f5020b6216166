// HESSA_CPU_AVX2_CLONE: on x86-64 g++ also compiles the function for AVX2 and picks the copy at load time (about
// 2x for the interpreter at n = 32, 2x for vectorized tanh). AVX2 does not include FMA, so no multiply-add is
// fused and the results stay those of the default copy.
#pragma once

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HESSA_CPU_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define HESSA_CPU_AVX2_CLONE
#endif
