// Kernel-only throughput of CudaEraScorer and the host-to-device copy bandwidth, in predictions
// per second, on synthetic eras (not a store: no HDF5 in the timing). Built as backscore_gpu_bench
// with -DBACKSCORE_GPU_BENCH=ON; driven by bench/gpu_bench.sh.
//   backscore_gpu_bench [stocks=5000] [models=2000] [eras=10] [features=20] [formulas=all|corr,...]
// Prints one line per (streams, columns per call) of a sweep (calls as wide as run's --batch
// values and the whole era), then the headline figure: the default of `backscore run --backend
// cuda` (2 streams, 1024 columns per call).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "io/store.hpp"
#include "kernels/cuda_resources.hpp"
#include "kernels/device.hpp"
#include "host/run/cuda/era_scorer.hpp"

using namespace backscore;

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 5000;
  const std::size_t m = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000;
  const std::size_t eras = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 10;
  const std::size_t k = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 20;
  const std::string which = argc > 5 ? argv[5] : "all";
  const cuda::DeviceInfo info = cuda::query_devices();
  if (info.count == 0) {
    std::fprintf(stderr, "no CUDA device: %s\n", info.why_none.c_str());
    return 77;
  }
  std::vector<FormulaSpec> specs;
  for (const BuiltinInfo& b : builtin_formulas()) {
    if (which == "all" || which.find(b.name) != std::string::npos) specs.push_back({b.builtin, 0});
  }
  std::mt19937_64 rng(1);
  std::normal_distribution<double> z;
  Era era;
  era.name = "bench";
  for (std::size_t i = 0; i < n; ++i) era.ids.push_back("id" + std::to_string(1000000 + i));
  era.targets.resize(n);
  era.meta_model.resize(n);
  era.benchmarks.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    era.targets[i] = static_cast<double>(rng() % 5) * 0.25;
    era.meta_model[i] = z(rng);
    era.benchmarks[i] = z(rng);
  }
  for (std::size_t f = 0; f < k * n; ++f)
    era.features.push_back(static_cast<double>(rng() % 5) * 0.25);
  for (std::size_t j = 0; j < m; ++j) era.models.push_back(static_cast<std::int32_t>(j));
  cuda::PinnedBuffer<float> block(n * m);
  for (std::size_t x = 0; x < n * m; ++x) block[x] = static_cast<float>(z(rng));
  std::vector<double> out(m * specs.size());

  const EraContext ctx(era, {}, ContextNeeds::of(specs), 0, 0);
  using clock = std::chrono::steady_clock;
  const double preds = static_cast<double>(n * m * eras);
  // Kernel-only predictions/s for one configuration: eras x (begin_era + calls of `width` columns).
  auto measure = [&](int streams, std::size_t width, double& begin_ms, std::size_t& batch,
                     std::size_t& lanes, double& peak_mib) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    cuda::CudaEraScorer scorer(0, specs, 0, opt);
    auto score_era = [&] {
      for (std::size_t j = 0; j < m; j += width) {
        const std::size_t w = std::min(width, m - j);
        scorer.score_full_columns({block.data() + j * n, w * n}, w,
                                  {out.data() + j * specs.size(), w * specs.size()});
      }
    };
    scorer.begin_era(era, ctx);
    score_era();  // warm-up
    double t_begin = 0, t_score = 0;
    for (std::size_t e = 0; e < eras; ++e) {
      const auto t0 = clock::now();
      scorer.begin_era(era, ctx);  // the CPU EraContext is not timed (the run loop builds it)
      const auto t1 = clock::now();
      score_era();
      const auto t2 = clock::now();
      t_begin += std::chrono::duration<double>(t1 - t0).count();
      t_score += std::chrono::duration<double>(t2 - t1).count();
    }
    begin_ms = 1000 * t_begin / static_cast<double>(eras);
    batch = scorer.largest_batch_models();
    lanes = scorer.most_streams_used();
    peak_mib = static_cast<double>(scorer.peak_device_bytes()) / (1 << 20);
    return preds / t_score;
  };
  std::printf("device: %s\n", cuda::describe_device(0).c_str());
  std::printf("era: %zu stocks x %zu models x %zu eras, %zu features, %zu formulas\n", n, m, eras,
              k, specs.size());
  double begin_ms = 0, peak_mib = 0;
  std::size_t batch = 0, lanes = 0;
  for (int streams : {1, 2, 4}) {
    for (std::size_t width : {std::size_t{256}, std::size_t{1024}, m}) {
      const double rate = measure(streams, width, begin_ms, batch, lanes, peak_mib);
      std::printf(
          "sweep: streams %d (lanes %zu), %zu columns per call, device batch %zu: %.3g "
          "predictions/s, begin_era %.3f ms, peak %.1f MiB\n",
          streams, lanes, std::min(width, m), batch, rate, begin_ms, peak_mib);
    }
  }
  const double headline = measure(2, 1024, begin_ms, batch, lanes, peak_mib);

  // Pinned host-to-device bandwidth of the same size of block.
  cuda::DeviceBuffer<float> dev(n * m);
  cuda::Stream s = cuda::Stream::create();
  cuda::Event a = cuda::Event::create(true), b = cuda::Event::create(true);
  BACKSCORE_CUDA_CHECK(
      cudaMemcpyAsync(dev.data(), block.data(), block.bytes(), cudaMemcpyHostToDevice, s.get()));
  a.record(s.get());
  const int reps = 20;
  for (int r = 0; r < reps; ++r) {
    BACKSCORE_CUDA_CHECK(
        cudaMemcpyAsync(dev.data(), block.data(), block.bytes(), cudaMemcpyHostToDevice, s.get()));
  }
  b.record(s.get());
  b.synchronize();
  float ms = 0;
  BACKSCORE_CUDA_CHECK(cudaEventElapsedTime(&ms, a.get(), b.get()));
  const double copy_preds_per_s = static_cast<double>(n * m) * reps / (ms / 1000.0);

  std::printf("kernel-only (2 streams, 1024 columns per call, pinned input): %.3g predictions/s\n",
              headline);
  std::printf("begin_era (uploads + QR): %.3f ms per era\n", begin_ms);
  std::printf("host-to-device pinned copy: %.3g predictions/s (%.1f GB/s)\n", copy_preds_per_s,
              copy_preds_per_s * 4 / 1e9);
  return 0;
}
