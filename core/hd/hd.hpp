// BACKSCORE_HD marks per-element math that both the CPU backend (g++) and the CUDA kernels
// (nvcc) compile from one definition, so the two backends cannot drift apart.
#pragma once

#ifdef __CUDACC__
#define BACKSCORE_HD __host__ __device__
#else
#define BACKSCORE_HD
#endif
