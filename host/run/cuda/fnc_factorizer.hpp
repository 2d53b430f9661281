// The era's fnc factorization on the device: the Factorizer (host/era/least_squares.hpp) the cuda
// backend gives the ColumnScorer, so that no QR of [features, 1] runs on the host. Host-only
// header (no CUDA types; pimpl).
//
// One call (n stocks x k = features + 1 columns):
//   1. host, O(n k): candidate_columns (exact duplicates and smaller constants out, the largest
//      norm first) and a finiteness check;
//   2. device: the candidates uploaded, cusolverDnDgeqrf without pivoting (cuSOLVER has no
//      pivoted QR); R^-1 by cublasDtrsm against the identity, brought back (m^2 doubles);
//   3. host, O(m^2): keeps_every_column, the certificate that dgeqp3 of X would keep every
//      candidate; then cusolverDnDorgqr forms Q on the device and Q, R come back;
//   4. otherwise host, O(m^3) and independent of n: pivoted_rank_of_r (dgeqp3 of R) makes the
//      constructor's decision, and the kept columns, in pivot order, are factorized again on the
//      device (geqrf + orgqr) for Q and R;
//   5. the projector is LeastSquaresProjector::from_factors of those factors: no host QR of X.
// Why the decisions are the CPU's: least_squares.hpp ("The constructor's rank decision from an
// unpivoted QR"). Non-finite exposures, and an era whose factorization would not fit in
// max_bytes, take the LAPACK constructor (counted).
//
// Thread-safe: a call may come from any thread (the CPU builds the next era's context ahead of
// the device batches). Calls are serialized by a mutex; each runs on the factorizer's own stream
// with its own cuBLAS and cuSOLVER handles, so it overlaps the scorer's lanes (their streams)
// on the device. Its device memory (one arena, grown when an era needs more, never freed between
// eras so that no cudaFree synchronizes the device under the lanes' work) is counted in
// peak_bytes and kept under max_bytes.
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "host/era/least_squares.hpp"

namespace backscore::cuda {

struct FactorizerStats {
  std::size_t certified = 0;     // eras whose kept set the certificate decided (step 3)
  std::size_t pivoted_on_r = 0;  // eras decided by dgeqp3 of R on the host (step 4)
  std::size_t on_host = 0;       // eras factorized by the LAPACK constructor (non-finite, memory)
  std::size_t peak_bytes = 0;    // the factorizer's device arena at its largest
};

class DeviceFactorizer {
 public:
  // device: the CUDA device; max_bytes: the most device memory the factorizer holds (0: 5% of the
  // device's memory).
  DeviceFactorizer(int device, std::size_t max_bytes);
  ~DeviceFactorizer();
  DeviceFactorizer(const DeviceFactorizer&) = delete;
  DeviceFactorizer& operator=(const DeviceFactorizer&) = delete;

  // The projector of `columns` (k columns of n values, column-major) with cutoff rcond, as
  // LeastSquaresProjector(columns, n, k, rcond) decides it. Throws CudaError on a CUDA failure.
  LeastSquaresProjector operator()(std::span<const double> columns, std::size_t n, std::size_t k,
                                   double rcond);
  FactorizerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A Factorizer calling *f (which it shares).
Factorizer as_factorizer(std::shared_ptr<DeviceFactorizer> f);

}  // namespace backscore::cuda
