#!/usr/bin/env python3
"""The bound for neutralizing one era (issue 12): what LAPACK and BLAS themselves take for the
work backscore's fnc must do, measured on this machine in this run.

    la_bound.py --stocks N --features F --models K [--repeats R]

- factorization: a column-pivoted QR (LAPACK dgeqp3 through scipy.linalg.qr(pivoting=True)) of
  the era's N x (F + 1) exposure matrix [features, 1] (integer features 0..4, like Numerai's);
- dgemm rate: a (N x r)^T (N x K) product (r = F + 1), the shape of Q^T G for K models;
- bound = factorization + 4 * N * r * K flops at that dgemm rate (R = G - Q (Q^T G): two GEMMs);
- tight bound: the same with an unpivoted QR (dgeqrf + dorgqr through scipy.linalg.qr), the least
  factorization any method needs (backscore's decides the rank from it in the common case).

Prints the medians of R repeats and a machine-readable line `RESULT key=value ...`.
Run it with the BLAS numpy uses (the environment's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE slow a
current numpy: bench/fnc_bench.sh unsets them for this script only).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.linalg


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stocks", type=int, required=True)
    ap.add_argument("--features", type=int, required=True)
    ap.add_argument("--models", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    n, r, k = a.stocks, a.features + 1, a.models
    x = np.asfortranarray(np.hstack([rng.integers(0, 5, (n, a.features)).astype(float),
                                     np.ones((n, 1))]))
    qr_s = median_time(lambda: scipy.linalg.qr(x, mode="economic", pivoting=True,
                                               overwrite_a=False, check_finite=False), a.repeats)
    qr0_s = median_time(lambda: scipy.linalg.qr(x, mode="economic", overwrite_a=False,
                                                check_finite=False), a.repeats)
    q = np.asfortranarray(rng.standard_normal((n, r)))
    g = np.asfortranarray(rng.standard_normal((n, k)))
    q.T @ g  # warm-up
    gemm_s = median_time(lambda: q.T @ g, a.repeats)
    rate = 2.0 * n * r * k / gemm_s
    bound = qr_s + 4.0 * n * r * k / rate
    tight = qr0_s + 4.0 * n * r * k / rate
    print(f"la_bound: {n} x {r} exposures, {k} models: dgeqp3 {qr_s:.3f} s, dgeqrf {qr0_s:.3f} s, "
          f"dgemm {rate / 1e9:.1f} GFLOP/s, bound {bound:.3f} s per era, tight {tight:.3f} s")
    print(f"RESULT tool=bound stocks={n} columns={r} models={k} qr_seconds={qr_s:.6f} "
          f"qr_unpivoted_seconds={qr0_s:.6f} dgemm_gflops={rate / 1e9:.3f} seconds={bound:.6f} "
          f"tight_seconds={tight:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
