// The few LAPACK/BLAS routines the era layer calls (the Fortran interface, as OpenBLAS exports
// it) and the control of OpenBLAS's own threads. Column-major throughout.
//
// Threads: OpenBLAS (the pthread build Debian installs by default) runs a call on its own thread
// pool; OpenMP scoring threads calling it at the same time would oversubscribe the cores. The
// run layer (host/run/column_scorer.cpp) therefore runs every BLAS call with one BLAS thread
// (ScopedThreads(1)), the parallelism coming from the OpenMP threads around the calls: OpenBLAS's
// pool threads spin between calls and slowed a 2-core run 7x when woken. One thread is also what
// makes the bytes reproducible: a factorization with 2 OpenBLAS threads differed in the last bits
// from one with 1 (measured), so a count that followed --threads would change the output.
#pragma once

#include <cstddef>

namespace backscore::blas {

// A dimension as LAPACK's int; throws std::length_error when it does not fit.
int dim(std::size_t v);

// The number of threads OpenBLAS uses for a call from now on (>= 1), and what it is now.
void set_threads(int threads);
int threads();

// Sets OpenBLAS's thread count for a scope and restores it after.
class ScopedThreads {
 public:
  explicit ScopedThreads(int threads) : saved_(blas::threads()) { set_threads(threads); }
  ~ScopedThreads() { set_threads(saved_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int saved_;
};

// C = alpha * op(A) op(B) + beta * C; trans_a/trans_b: 'N' or 'T'.
void gemm(char trans_a, char trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc);
// y = alpha * op(A) x + beta * y.
void gemv(char trans, int m, int n, double alpha, const double* a, int lda, const double* x,
          double beta, double* y);
// B = inv(A) B, A upper triangular m x m (left side, no transpose, non-unit diagonal).
void trsm_upper_left(int m, int n, const double* a, int lda, double* b, int ldb);
// Column-pivoted QR (dgeqp3): A P = Q R. jpvt: n entries, 1-based pivots on return. Returns
// LAPACK's info.
int geqp3(int m, int n, double* a, int lda, int* jpvt, double* tau);
// Householder QR without pivoting (dgeqrf): A = Q R. Returns LAPACK's info.
int geqrf(int m, int n, double* a, int lda, double* tau);
// The first k columns of Q from geqp3's reflectors (dorgqr), in place. Returns info.
int orgqr(int m, int n, int k, double* a, int lda, const double* tau);
// C = alpha * A A^T + beta * C on C's lower triangle (dsyrk 'L', 'N'); A is n x k.
void syrk_lower(int n, int k, double alpha, const double* a, int lda, double beta, double* c,
                int ldc);
// Cholesky A = L L^T of a symmetric positive definite matrix from its lower triangle (dpotrf
// 'L'), in place. Returns info (> 0: not positive definite).
int potrf_lower(int n, double* a, int lda);
// B = A^-1 B from potrf_lower's factor (dpotrs 'L'). Returns info.
int potrs_lower(int n, int nrhs, const double* a, int lda, double* b, int ldb);
// The eigenvalues (ascending) of a symmetric matrix from its lower triangle (dsyev 'N', 'L');
// A is destroyed. Returns info.
int syev_values_lower(int n, double* a, int lda, double* w);
// The inverse of an upper triangular matrix (dtrtri 'U', 'N'), in place. Returns info.
int trtri_upper(int n, double* a, int lda);

}  // namespace backscore::blas
