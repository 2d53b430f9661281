// The era's fnc factorization on the device (see fnc_factorizer.hpp).
#include "host/run/cuda/fnc_factorizer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "host/run/cuda/memory_plan.hpp"
#include "kernels/cuda_check.hpp"
#include "kernels/cuda_resources.hpp"

namespace backscore::cuda {

struct DeviceFactorizer::Impl {
  int device = 0;
  std::size_t max_bytes = 0;
  mutable std::mutex mutex;  // one call at a time; guards everything below
  Stream stream;
  CublasHandle blas;
  CusolverHandle solver;
  DeviceBuffer<std::byte> arena;  // grown only
  DeviceBuffer<double> probe;     // a valid (never read) pointer for the bufferSize queries
  FactorizerStats stats;

  // The device buffers of one call, carved from the arena.
  struct Buffers {
    double *x = nullptr, *r = nullptr, *y = nullptr, *tau = nullptr, *work = nullptr;
    int* info = nullptr;
    int lwork = 0;
  };
  // Bytes for an n x m QR (geqrf + orgqr), its R (rows x m) and, when with_inverse, R^-1 (m x m).
  std::size_t bytes_for(std::size_t n, std::size_t m, bool with_inverse, int& lwork);
  Buffers carve(std::size_t n, std::size_t m, bool with_inverse, int lwork);
  void ensure(std::size_t bytes);
  void sync() const { stream.synchronize(); }
  // Uploads columns[:, which] (n x which.size()) to x.
  void upload(std::span<const double> columns, std::size_t n, std::span<const std::size_t> which,
              double* x);
  // geqrf of the n x m matrix at b.x, R (rows x m, rows = min(n, m)) copied to b.r.
  void qr(std::size_t n, std::size_t m, const Buffers& b);
  void check_info(const Buffers& b, const char* what);
};

std::size_t DeviceFactorizer::Impl::bytes_for(std::size_t n, std::size_t m, bool with_inverse,
                                              int& lwork) {
  const int in = static_cast<int>(n), im = static_cast<int>(m);
  int lw1 = 0, lw2 = 0;
  BACKSCORE_CUSOLVER_CHECK(
      cusolverDnDgeqrf_bufferSize(solver.get(), in, im, probe.data(), in, &lw1));
  if (n >= m) {
    BACKSCORE_CUSOLVER_CHECK(cusolverDnDorgqr_bufferSize(solver.get(), in, im, im, probe.data(), in,
                                                         probe.data(), &lw2));
  }
  lwork = std::max({lw1, lw2, 1});
  const std::size_t rows = std::min(n, m);
  Sizer s;
  s.add<double>(n * m);
  s.add<double>(rows * m);
  s.add<double>(with_inverse ? m * m : 0);
  s.add<double>(m);
  s.add<double>(static_cast<std::size_t>(lwork));
  s.add<int>(2);
  return s.total;
}

DeviceFactorizer::Impl::Buffers DeviceFactorizer::Impl::carve(std::size_t n, std::size_t m,
                                                              bool with_inverse, int lwork) {
  Carver c(arena.data(), arena.bytes());
  Buffers b;
  const std::size_t rows = std::min(n, m);
  b.x = c.take<double>(n * m);
  b.r = c.take<double>(rows * m);
  b.y = with_inverse ? c.take<double>(m * m) : nullptr;
  b.tau = c.take<double>(m);
  b.work = c.take<double>(static_cast<std::size_t>(lwork));
  b.info = c.take<int>(2);
  b.lwork = lwork;
  return b;
}

void DeviceFactorizer::Impl::ensure(std::size_t bytes) {
  if (arena.bytes() >= bytes) return;
  sync();
  arena = DeviceBuffer<std::byte>();
  arena = DeviceBuffer<std::byte>(bytes);
  stats.peak_bytes = std::max(stats.peak_bytes, arena.bytes());
}

void DeviceFactorizer::Impl::upload(std::span<const double> columns, std::size_t n,
                                    std::span<const std::size_t> which, double* x) {
  // Gathered on the host into one block (pageable: the copy returns when it has read it).
  std::vector<double> block(n * which.size());
  for (std::size_t j = 0; j < which.size(); ++j) {
    std::memcpy(block.data() + j * n, columns.data() + which[j] * n, n * sizeof(double));
  }
  BACKSCORE_CUDA_CHECK(cudaMemcpyAsync(x, block.data(), block.size() * sizeof(double),
                                       cudaMemcpyHostToDevice, stream.get()));
  sync();
}

void DeviceFactorizer::Impl::qr(std::size_t n, std::size_t m, const Buffers& b) {
  const int in = static_cast<int>(n), im = static_cast<int>(m);
  const std::size_t rows = std::min(n, m);
  BACKSCORE_CUDA_CHECK(cudaMemsetAsync(b.info, 0, 2 * sizeof(int), stream.get()));
  BACKSCORE_CUSOLVER_CHECK(
      cusolverDnDgeqrf(solver.get(), in, im, b.x, in, b.tau, b.work, b.lwork, b.info));
  // R: the upper trapezoid of the top rows x m block (the strict lower part is the reflectors'
  // and is cleared by the host readers).
  BACKSCORE_CUDA_CHECK(cudaMemcpy2DAsync(b.r, rows * sizeof(double), b.x, n * sizeof(double),
                                         rows * sizeof(double), m, cudaMemcpyDeviceToDevice,
                                         stream.get()));
}

void DeviceFactorizer::Impl::check_info(const Buffers& b, const char* what) {
  int ih[2] = {0, 0};
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(ih, b.info, sizeof ih, cudaMemcpyDeviceToHost, stream.get()));
  sync();
  if (ih[0] != 0 || ih[1] != 0) {
    throw CudaError(std::string("cuSOLVER fnc factorization (") + what + "): devInfo geqrf " +
                    std::to_string(ih[0]) + ", orgqr " + std::to_string(ih[1]));
  }
}

DeviceFactorizer::DeviceFactorizer(int device, std::size_t max_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.device = device;
  BACKSCORE_CUDA_CHECK(cudaSetDevice(device));
  if (max_bytes == 0) {  // no cap: 5% of the device's memory
    std::size_t free_b = 0, total_b = 0;
    BACKSCORE_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
    max_bytes = total_b / 20;
  }
  s.max_bytes = max_bytes;
  s.stream = Stream::create();
  s.blas = CublasHandle::create();
  s.solver = CusolverHandle::create();
  s.probe = DeviceBuffer<double>(1);
  BACKSCORE_CUBLAS_CHECK(cublasSetStream(s.blas.get(), s.stream.get()));
  BACKSCORE_CUSOLVER_CHECK(cusolverDnSetStream(s.solver.get(), s.stream.get()));
}

DeviceFactorizer::~DeviceFactorizer() {
  if (impl_ && impl_->stream) {
    BACKSCORE_CUDA_WARN(cudaSetDevice(impl_->device));
    BACKSCORE_CUDA_WARN(cudaStreamSynchronize(impl_->stream.get()));
  }
}

FactorizerStats DeviceFactorizer::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->stats;
}

LeastSquaresProjector DeviceFactorizer::operator()(std::span<const double> columns, std::size_t n,
                                                   std::size_t k, double rcond) {
  Impl& s = *impl_;
  std::lock_guard<std::mutex> lock(s.mutex);
  if (n == 0 || k == 0) return LeastSquaresProjector(columns, n, k, rcond);
  const bool finite =
      std::all_of(columns.begin(), columns.begin() + static_cast<std::ptrdiff_t>(n * k),
                  [](double v) { return std::isfinite(v); });
  const QrCandidates c = finite ? candidate_columns(columns, n, k) : QrCandidates{};
  const std::size_t m = c.order.size();
  if (finite && m == 0) {  // every column zero: nothing kept, as the constructor
    return LeastSquaresProjector::from_factors(columns, n, k, rcond, {}, {}, {}, 0, 0);
  }
  int lwork = 0;
  const bool with_inverse = n >= m;
  const std::size_t need = finite && n <= kMaxInt && m <= kMaxInt && n * m <= kMaxInt
                               ? s.bytes_for(n, m, with_inverse, lwork)
                               : 0;
  if (need == 0 || need > s.max_bytes) {
    ++s.stats.on_host;
    return LeastSquaresProjector(columns, n, k, rcond);
  }
  BACKSCORE_CUDA_CHECK(cudaSetDevice(s.device));
  s.ensure(need);
  const Impl::Buffers b = s.carve(n, m, with_inverse, lwork);
  cudaStream_t st = s.stream.get();
  const int in = static_cast<int>(n), im = static_cast<int>(m);

  // 2. The candidates' QR without pivoting; R^-1 for the certificate.
  s.upload(columns, n, c.order, b.x);
  s.qr(n, m, b);
  bool certified = false;
  if (with_inverse) {
    std::vector<double> inv(m * m, 0.0);
    const std::vector<double> ones(m, 1.0);
    BACKSCORE_CUDA_CHECK(cudaMemsetAsync(b.y, 0, m * m * sizeof(double), st));
    // The identity: one double every m + 1.
    BACKSCORE_CUDA_CHECK(cudaMemcpy2DAsync(b.y, (m + 1) * sizeof(double), ones.data(),
                                           sizeof(double), sizeof(double), m,
                                           cudaMemcpyHostToDevice, st));
    const double one = 1.0;
    BACKSCORE_CUBLAS_CHECK(cublasDtrsm(s.blas.get(), CUBLAS_SIDE_LEFT, CUBLAS_FILL_MODE_UPPER,
                                       CUBLAS_OP_N, CUBLAS_DIAG_NON_UNIT, im, im, &one, b.r, im,
                                       b.y, im));
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(inv.data(), b.y, m * m * sizeof(double), cudaMemcpyDeviceToHost, st));
    s.check_info(b, "candidates");
    // 3. The certificate (host, O(m^2)).
    certified = keeps_every_column(inv, m, rcond, c.max_norm);
  }
  if (certified) {
    BACKSCORE_CUSOLVER_CHECK(
        cusolverDnDorgqr(s.solver.get(), in, im, im, b.x, in, b.tau, b.work, b.lwork, b.info + 1));
    std::vector<double> q(n * m), r(m * m);
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(q.data(), b.x, n * m * sizeof(double), cudaMemcpyDeviceToHost, st));
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(r.data(), b.r, m * m * sizeof(double), cudaMemcpyDeviceToHost, st));
    s.check_info(b, "candidates");
    ++s.stats.certified;
    const double r00 = std::abs(r[0]);
    return LeastSquaresProjector::from_factors(columns, n, k, rcond, c.order, std::move(q),
                                               std::move(r), r00, 0.0);
  }

  // 4. dgeqp3 of R on the host (O(m^3), independent of n), then the kept columns' QR in pivot
  // order on the device.
  const std::size_t rows = std::min(n, m);
  std::vector<double> rh(rows * m);
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(rh.data(), b.r, rows * m * sizeof(double), cudaMemcpyDeviceToHost, st));
  s.check_info(b, "candidates");
  const PivotedRank p = pivoted_rank_of_r(rh, rows, c.order, rcond);
  ++s.stats.pivoted_on_r;
  const std::size_t r = p.pivot.size();
  if (r == 0) return LeastSquaresProjector::from_factors(columns, n, k, rcond, {}, {}, {}, 0, 0);
  int lwork2 = 0;
  const std::size_t need2 = s.bytes_for(n, r, false, lwork2);
  if (need2 > s.max_bytes) {
    ++s.stats.on_host;
    return LeastSquaresProjector(columns, n, k, rcond);
  }
  s.ensure(need2);
  const Impl::Buffers b2 = s.carve(n, r, false, lwork2);
  const int ir = static_cast<int>(r);
  s.upload(columns, n, p.pivot, b2.x);
  s.qr(n, r, b2);
  BACKSCORE_CUSOLVER_CHECK(cusolverDnDorgqr(s.solver.get(), in, ir, ir, b2.x, in, b2.tau, b2.work,
                                            b2.lwork, b2.info + 1));
  std::vector<double> q(n * r), rr(r * r);
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(q.data(), b2.x, n * r * sizeof(double), cudaMemcpyDeviceToHost, st));
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(rr.data(), b2.r, r * r * sizeof(double), cudaMemcpyDeviceToHost, st));
  s.check_info(b2, "kept columns");
  for (std::size_t j = 0; j < r; ++j) {
    const double d = std::abs(rr[j * r + j]);
    if (!std::isfinite(d) || d == 0) {
      throw CudaError("cuSOLVER fnc factorization: R(" + std::to_string(j) + ", " +
                      std::to_string(j) + ") is " + std::to_string(d) + " for a kept column");
    }
  }
  return LeastSquaresProjector::from_factors(columns, n, k, rcond, p.pivot, std::move(q),
                                             std::move(rr), p.r00, p.dropped);
}

Factorizer as_factorizer(std::shared_ptr<DeviceFactorizer> f) {
  return [f = std::move(f)](std::span<const double> columns, std::size_t n, std::size_t k,
                            double rcond) { return (*f)(columns, n, k, rcond); };
}

}  // namespace backscore::cuda
