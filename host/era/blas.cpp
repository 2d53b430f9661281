// LAPACK/BLAS through the Fortran interface (see blas.hpp). Character arguments get the hidden
// length arguments gfortran's ABI appends.
#include "host/era/blas.hpp"

#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

extern "C" {
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc, std::size_t, std::size_t);
void dgemv_(const char* trans, const int* m, const int* n, const double* alpha, const double* a,
            const int* lda, const double* x, const int* incx, const double* beta, double* y,
            const int* incy, std::size_t);
void dtrsm_(const char* side, const char* uplo, const char* transa, const char* diag, const int* m,
            const int* n, const double* alpha, const double* a, const int* lda, double* b,
            const int* ldb, std::size_t, std::size_t, std::size_t, std::size_t);
void dgeqp3_(const int* m, const int* n, double* a, const int* lda, int* jpvt, double* tau,
             double* work, const int* lwork, int* info);
void dgeqrf_(const int* m, const int* n, double* a, const int* lda, double* tau, double* work,
             const int* lwork, int* info);
void dorgqr_(const int* m, const int* n, const int* k, double* a, const int* lda, const double* tau,
             double* work, const int* lwork, int* info);
void dsyrk_(const char* uplo, const char* trans, const int* n, const int* k, const double* alpha,
            const double* a, const int* lda, const double* beta, double* c, const int* ldc,
            std::size_t, std::size_t);
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info, std::size_t);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda,
             double* b, const int* ldb, int* info, std::size_t);
void dsyev_(const char* jobz, const char* uplo, const int* n, double* a, const int* lda, double* w,
            double* work, const int* lwork, int* info, std::size_t, std::size_t);
void dtrtri_(const char* uplo, const char* diag, const int* n, double* a, const int* lda, int* info,
             std::size_t, std::size_t);
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
}

namespace backscore::blas {

int dim(std::size_t v) {
  if (v > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    throw std::length_error("LeastSquaresProjector: dimension too large for LAPACK");
  }
  return static_cast<int>(v);
}

void set_threads(int threads) { openblas_set_num_threads(threads < 1 ? 1 : threads); }
int threads() { return openblas_get_num_threads(); }

void gemm(char trans_a, char trans_b, int m, int n, int k, double alpha, const double* a, int lda,
          const double* b, int ldb, double beta, double* c, int ldc) {
  if (m == 0 || n == 0) return;
  dgemm_(&trans_a, &trans_b, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc, 1, 1);
}

void gemv(char trans, int m, int n, double alpha, const double* a, int lda, const double* x,
          double beta, double* y) {
  const int one = 1;
  dgemv_(&trans, &m, &n, &alpha, a, &lda, x, &one, &beta, y, &one, 1);
}

void trsm_upper_left(int m, int n, const double* a, int lda, double* b, int ldb) {
  if (m == 0 || n == 0) return;
  const double one = 1.0;
  dtrsm_("L", "U", "N", "N", &m, &n, &one, a, &lda, b, &ldb, 1, 1, 1, 1);
}

int geqp3(int m, int n, double* a, int lda, int* jpvt, double* tau) {
  int info = 0, lwork = -1;
  double query = 0;
  dgeqp3_(&m, &n, a, &lda, jpvt, tau, &query, &lwork, &info);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork > 1 ? lwork : 1));
  dgeqp3_(&m, &n, a, &lda, jpvt, tau, work.data(), &lwork, &info);
  return info;
}

int geqrf(int m, int n, double* a, int lda, double* tau) {
  int info = 0, lwork = -1;
  double query = 0;
  dgeqrf_(&m, &n, a, &lda, tau, &query, &lwork, &info);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork > 1 ? lwork : 1));
  dgeqrf_(&m, &n, a, &lda, tau, work.data(), &lwork, &info);
  return info;
}

int orgqr(int m, int n, int k, double* a, int lda, const double* tau) {
  int info = 0, lwork = -1;
  double query = 0;
  dorgqr_(&m, &n, &k, a, &lda, tau, &query, &lwork, &info);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork > 1 ? lwork : 1));
  dorgqr_(&m, &n, &k, a, &lda, tau, work.data(), &lwork, &info);
  return info;
}

void syrk_lower(int n, int k, double alpha, const double* a, int lda, double beta, double* c,
                int ldc) {
  if (n == 0) return;
  dsyrk_("L", "N", &n, &k, &alpha, a, &lda, &beta, c, &ldc, 1, 1);
}

int potrf_lower(int n, double* a, int lda) {
  int info = 0;
  if (n == 0) return 0;
  dpotrf_("L", &n, a, &lda, &info, 1);
  return info;
}

int potrs_lower(int n, int nrhs, const double* a, int lda, double* b, int ldb) {
  int info = 0;
  if (n == 0 || nrhs == 0) return 0;
  dpotrs_("L", &n, &nrhs, a, &lda, b, &ldb, &info, 1);
  return info;
}

int syev_values_lower(int n, double* a, int lda, double* w) {
  int info = 0, lwork = -1;
  if (n == 0) return 0;
  double query = 0;
  dsyev_("N", "L", &n, a, &lda, w, &query, &lwork, &info, 1, 1);
  if (info != 0) return info;
  lwork = static_cast<int>(query);
  std::vector<double> work(static_cast<std::size_t>(lwork > 1 ? lwork : 1));
  dsyev_("N", "L", &n, a, &lda, w, work.data(), &lwork, &info, 1, 1);
  return info;
}

int trtri_upper(int n, double* a, int lda) {
  int info = 0;
  if (n == 0) return 0;
  dtrtri_("U", "N", &n, a, &lda, &info, 1, 1);
  return info;
}

}  // namespace backscore::blas
