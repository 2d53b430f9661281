// CudaEraScorer against the CPU engine (score_model on an EraContext of all rows): every formula,
// random eras of several sizes (7, 500, 5000 on the block sort; 9000 and a forced segmented sort),
// tied predictions and features, collinear features, burn and non-burn eras, degenerate models,
// batch splits forced by a small memory cap and by max_batch_models, 1 to 8 streams, pinned input.
// Agreement to 1e-9 absolute, NaN exactly where the CPU gives NaN. Every test that needs a CUDA
// device skips without one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "io/store.hpp"
#include "kernels/cuda_error.hpp"
#include "kernels/cuda_resources.hpp"
#include "kernels/device.hpp"
#include "host/run/cuda/era_scorer.hpp"

namespace backscore {
namespace {

#define SKIP_WITHOUT_DEVICE()                                                   \
  do {                                                                          \
    const cuda::DeviceInfo info_ = cuda::query_devices();                       \
    if (info_.count == 0) GTEST_SKIP() << "no CUDA device: " << info_.why_none; \
  } while (0)

constexpr double kTol = 1e-9;

std::vector<FormulaSpec> all_specs(int tb_small, int tb_large) {
  std::vector<FormulaSpec> v;
  for (Builtin b : {Builtin::corr_v1, Builtin::corr, Builtin::mmc, Builtin::bmc, Builtin::mmc2,
                    Builtin::mmc2_burnflip, Builtin::fnc}) {
    v.push_back(FormulaSpec{b, 0});
  }
  for (Builtin b : {Builtin::corr, Builtin::mmc, Builtin::bmc, Builtin::fnc}) {
    v.push_back(FormulaSpec{b, tb_small});
    v.push_back(FormulaSpec{b, tb_large});
  }
  v.push_back(FormulaSpec{Builtin::mmc2, tb_small});  // no top/bottom variant: NaN
  FormulaSpec defined;
  defined.defined_name = "mine";
  defined.defined_text = "corr + mmc";
  v.push_back(defined);  // defined formulas: NaN from both
  return v;
}

struct TestEra {
  Era era;
  std::vector<float> preds;  // n x m, column-major
  std::size_t m = 0;
};

// kind: 0 plain, 1 collinear features (duplicate, sum, constant), 2 no features.
// n_features: the independent random features of kinds 0 and 1.
TestEra make_era(std::size_t n, std::size_t m, std::uint32_t seed, bool burn, int kind,
                 bool unit_target = true, std::size_t n_features = 5) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z;
  std::uniform_int_distribution<int> q5(0, 4);
  TestEra t;
  Era& e = t.era;
  e.name = "era" + std::to_string(seed);
  for (std::size_t i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "id%07zu", i);
    e.ids.emplace_back(buf);
  }
  std::vector<double> signal(n);
  for (double& s : signal) s = z(rng);
  e.targets.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const double v = signal[i] + z(rng);
    e.targets[i] = unit_target ? std::clamp(std::round((v / 3 + 0.5) * 4) / 4, 0.0, 1.0) : v;
  }
  e.meta_model.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    e.meta_model[i] = static_cast<float>((burn ? -1.0 : 1.0) * 0.3 * signal[i] + z(rng));
  }
  e.benchmarks.resize(n);
  for (std::size_t i = 0; i < n; ++i) e.benchmarks[i] = 0.2 * signal[i] + z(rng);
  std::size_t k = kind == 2 ? 0 : n_features;
  for (std::size_t f = 0; f < k; ++f) {
    for (std::size_t i = 0; i < n; ++i) e.features.push_back(q5(rng) * 0.25);
  }
  if (kind == 1) {
    const std::size_t base = e.features.size();
    e.features.resize(base + 3 * n);
    for (std::size_t i = 0; i < n; ++i) {
      e.features[base + i] = e.features[i];                          // duplicate of f0
      e.features[base + n + i] = e.features[i] + e.features[n + i];  // f0 + f1
      e.features[base + 2 * n + i] = 0.5;                            // constant
    }
  }
  t.m = m;
  t.preds.resize(n * m);
  for (std::size_t j = 0; j < m; ++j) {
    e.models.push_back(static_cast<std::int32_t>(j));
    float* c = t.preds.data() + j * n;
    const std::size_t type = j % 8;
    for (std::size_t i = 0; i < n; ++i) {
      double v = 0;
      switch (type) {
        case 0:
          v = 0.1 * signal[i] + z(rng);
          break;  // continuous
        case 1:
          v = std::round((0.2 * signal[i] + z(rng)) * 2) / 8 + 0.5;
          break;  // heavy ties
        case 2:
          v = 0.5;
          break;  // constant
        case 3:
          v = e.meta_model[i];
          break;  // the meta-model
        case 4:
          v = 1.0 - e.meta_model[i];
          break;  // its mirror
        case 5:   // near features (kind 2 has none: features is empty, must not be read)
          v = kind == 2 ? z(rng) : e.features[i] * 0.5 + 0.01 * z(rng);
          break;
        case 6:
          v = std::round(z(rng)) == 0 ? -0.0 : 0.0 + z(rng);
          break;  // -0.0 and 0.0
        default:
          v = static_cast<double>(i % 3) * 0.25 + (n > 100 ? 0.001 * z(rng) : 0.0);
          break;
      }
      c[i] = static_cast<float>(v);
    }
  }
  return t;
}

// CPU reference: out[j * F + f].
std::vector<double> cpu_scores(const TestEra& t, const EraContext& ctx,
                               const std::vector<FormulaSpec>& specs) {
  const std::size_t n = t.era.n_stocks(), F = specs.size();
  std::vector<double> out(t.m * F), pred(n);
  ModelScratch scratch;
  for (std::size_t j = 0; j < t.m; ++j) {
    for (std::size_t i = 0; i < n; ++i) pred[i] = t.preds[j * n + i];
    score_model(ctx, pred, specs, std::span<double>(out.data() + j * F, F), scratch);
  }
  return out;
}

void expect_match(const std::vector<double>& gpu, const std::vector<double>& cpu,
                  const std::vector<FormulaSpec>& specs, const std::string& what) {
  ASSERT_EQ(gpu.size(), cpu.size());
  const std::size_t F = specs.size();
  int bad = 0;
  for (std::size_t x = 0; x < gpu.size() && bad < 20; ++x) {
    const std::size_t j = x / F, f = x % F;
    const bool ok =
        (std::isnan(gpu[x]) && std::isnan(cpu[x])) ||
        (!std::isnan(gpu[x]) && !std::isnan(cpu[x]) && std::fabs(gpu[x] - cpu[x]) <= kTol);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << ": model " << j << " (type " << j % 8 << ") formula "
                    << specs[f].name() << ": gpu " << gpu[x] << " cpu " << cpu[x];
    }
  }
}

// Scores every column of t on a fresh scorer and compares with the CPU.
void score_and_compare(const TestEra& t, const std::vector<FormulaSpec>& specs,
                       const std::string& what, cuda::EraScorerOptions opt = {},
                       std::size_t cap = 0) {
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  cuda::CudaEraScorer scorer(0, specs, cap, opt);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(t.m * specs.size());
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, what);
  EXPECT_LE(scorer.peak_device_bytes(), scorer.memory_cap()) << what;
}

void run_case(std::size_t n, std::size_t m, std::uint32_t seed, bool burn, int kind,
              cuda::EraScorerOptions opt = {}, std::size_t cap = 0, bool unit_target = true) {
  const int small = 3, large = static_cast<int>(n / 4 > 3 ? n / 4 : 4);
  const std::vector<FormulaSpec> specs = all_specs(small, large);
  const TestEra t = make_era(n, m, seed, burn, kind, unit_target);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  cuda::CudaEraScorer scorer(0, specs, cap, opt);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(m * specs.size());
  scorer.score_full_columns(t.preds, m, gpu);
  expect_match(gpu, cpu, specs,
               "n=" + std::to_string(n) + " seed=" + std::to_string(seed) + (burn ? " burn" : "") +
                   " kind=" + std::to_string(kind));
  EXPECT_LE(scorer.peak_device_bytes(), scorer.memory_cap());
}

TEST(CudaEraScorer, TinyEraOf7) {
  SKIP_WITHOUT_DEVICE();
  run_case(7, 16, 1, false, 0);
  run_case(7, 16, 2, true, 1);
}

TEST(CudaEraScorer, Era500AllFormulas) {
  SKIP_WITHOUT_DEVICE();
  run_case(500, 40, 3, false, 0);
  run_case(500, 40, 4, true, 0);
  run_case(500, 40, 5, false, 1);
  run_case(500, 40, 6, true, 2, {}, 0, false);  // real-valued target, no features
}

TEST(CudaEraScorer, Era5000BlockSort) {
  SKIP_WITHOUT_DEVICE();
  run_case(5000, 24, 7, false, 0);
  run_case(5000, 24, 8, true, 1);
}

TEST(CudaEraScorer, Era9000SegmentedSort) {
  SKIP_WITHOUT_DEVICE();
  run_case(9000, 16, 9, true, 0);
  run_case(9000, 16, 10, false, 1);
}

TEST(CudaEraScorer, ForcedSegmentedSortOnSmallEras) {
  SKIP_WITHOUT_DEVICE();
  cuda::EraScorerOptions opt;
  opt.sort_path = cuda::SortPath::segmented;
  run_case(7, 16, 11, false, 0, opt);
  run_case(500, 24, 12, true, 1, opt);
  run_case(5000, 16, 13, false, 0, opt);
}

TEST(CudaEraScorer, BatchSplitByMaxBatchModels) {
  SKIP_WITHOUT_DEVICE();
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 3;  // 40 models: 14 batches, the last one short
  run_case(500, 40, 14, true, 0, opt);
}

bool bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// The device memory one lane of `plan` needs for `models` columns (the slack of its batch buffers
// included), and a cap that leaves room for exactly that on `lanes` lanes.
std::size_t cap_for(const cuda::MemoryPlan& p, std::size_t lanes, std::size_t models) {
  return p.era_bytes + p.fixed_bytes +
         lanes * (p.sort_temp_bytes + models * p.per_model_bytes + (128 << 10));
}

// Scores every column of t on a scorer built with a memory cap (begin_era done), compares with the
// CPU and checks the peak stayed under the cap.
void score_under_cap(cuda::CudaEraScorer& scorer, const TestEra& t, const EraContext& ctx,
                     const std::vector<FormulaSpec>& specs, std::size_t cap,
                     const std::string& what) {
  std::vector<double> gpu(t.m * specs.size());
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu_scores(t, ctx, specs), specs, what);
  EXPECT_LE(scorer.peak_device_bytes(), cap) << what;
}

TEST(CudaEraScorer, BatchSplitBySmallMemoryCap) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 15, true, 1);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  for (int streams : {1, 2}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    opt.min_lane_models = 1;  // keep both lanes under the small cap
    std::size_t cap = 0;
    {
      cuda::CudaEraScorer probe(0, specs, 0, opt);
      probe.begin_era(t.era, ctx);
      const cuda::MemoryPlan& p = probe.memory_plan();
      EXPECT_EQ(p.lanes, static_cast<std::size_t>(streams));
      EXPECT_EQ(p.batch_models * p.lanes, 40u);
      cap = cap_for(p, p.lanes, 7);
    }
    cuda::CudaEraScorer scorer(0, specs, cap, opt);
    EXPECT_EQ(scorer.streams(), static_cast<std::size_t>(streams));
    scorer.begin_era(t.era, ctx);
    const cuda::MemoryPlan& p = scorer.memory_plan();
    EXPECT_EQ(p.lanes, static_cast<std::size_t>(streams));
    EXPECT_GE(p.batch_models, 1u);
    EXPECT_LE(p.batch_models, 7u);
    EXPECT_LE(p.total_bytes(), cap);
    EXPECT_LE(scorer.peak_device_bytes(), cap);
    score_under_cap(scorer, t, ctx, specs, cap,
                    "small cap, " + std::to_string(streams) + " streams");
  }
}

// A cap that holds one lane's workspace and a few models but not two workspaces: the era runs on
// one lane (of the two asked for) rather than failing.
TEST(CudaEraScorer, FewerLanesWhenTheCapHoldsOneWorkspace) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 16, false, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::EraScorerOptions one;
  one.streams = 1;
  std::size_t cap = 0;
  {
    cuda::CudaEraScorer probe(0, specs, 0, one);
    probe.begin_era(t.era, ctx);
    cap = cap_for(probe.memory_plan(), 1, 5);
  }
  cuda::CudaEraScorer scorer(0, specs, cap);  // 2 streams asked for
  EXPECT_EQ(scorer.streams(), 2u);
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 1u);
  EXPECT_LE(scorer.memory_plan().batch_models, 5u);
  score_under_cap(scorer, t, ctx, specs, cap, "one lane under the cap");
  EXPECT_EQ(scorer.most_streams_used(), 1u);
  EXPECT_LE(scorer.largest_batch_models(), 5u);
}

// Under the same small cap with the default floor (32 models per lane), the era takes one lane
// and every model in one batch rather than two lanes of 7.
TEST(CudaEraScorer, OneWideLaneRatherThanTwoNarrowOnes) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(2000, 40, 17, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  std::size_t cap = 0;
  {
    cuda::CudaEraScorer probe(0, specs, 0);
    probe.begin_era(t.era, ctx);
    ASSERT_EQ(probe.memory_plan().lanes, 2u);
    cap = cap_for(probe.memory_plan(), 2, 7);
  }
  cuda::CudaEraScorer scorer(0, specs, cap);
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 1u);
  EXPECT_EQ(scorer.memory_plan().batch_models, 40u);  // a workspace's worth of room: ~200 models
  score_under_cap(scorer, t, ctx, specs, cap, "one wide lane");
}

// Every stream count scores the same bytes when the device batches have the same sizes (each
// column's arithmetic depends on its batch's size only, never on the lane), and matches the CPU.
TEST(CudaEraScorer, StreamCountsAgreeBitForBit) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  for (std::size_t n : {500u, 9000u}) {  // block sort, segmented sort
    const TestEra t = make_era(n, 40, static_cast<std::uint32_t>(70 + n), true, 1);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    const std::vector<double> cpu = cpu_scores(t, ctx, specs);
    std::vector<double> first;
    for (int streams : {1, 2, 3, 8}) {
      cuda::EraScorerOptions opt;
      opt.streams = streams;
      opt.max_batch_models = 5;  // 8 batches of 5 on every stream count
      cuda::CudaEraScorer scorer(0, specs, 0, opt);
      scorer.begin_era(t.era, ctx);
      EXPECT_EQ(scorer.memory_plan().lanes, static_cast<std::size_t>(streams)) << streams;
      std::vector<double> gpu(t.m * specs.size());
      scorer.score_full_columns(t.preds, t.m, gpu);
      const std::string what =
          "n=" + std::to_string(n) + ", " + std::to_string(streams) + " streams";
      expect_match(gpu, cpu, specs, what);
      if (first.empty()) {
        first = gpu;
      } else {
        EXPECT_TRUE(bit_identical(first, gpu)) << what;
      }
    }
  }
}

// More lanes than models: only as many lanes as models are planned; a one-model era on 8 streams.
TEST(CudaEraScorer, MoreStreamsThanModels) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 50);
  cuda::EraScorerOptions opt;
  opt.streams = 8;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  for (std::size_t m : {1u, 3u, 17u}) {
    const TestEra t = make_era(400, m, static_cast<std::uint32_t>(80 + m), false, 0);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    scorer.begin_era(t.era, ctx);
    EXPECT_EQ(scorer.memory_plan().lanes, std::min<std::size_t>(m, 8)) << m;
    std::vector<double> gpu(m * specs.size());
    scorer.score_full_columns(t.preds, m, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, std::to_string(m) + " models");
  }
}

// The stream count is checked before any CUDA call (so this runs without a device too).
TEST(CudaEraScorer, StreamCountOutOfRangeThrows) {
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  for (int streams : {0, -1, cuda::kMaxStreams + 1}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    EXPECT_THROW(cuda::CudaEraScorer(0, specs, 0, opt), std::invalid_argument) << streams;
  }
}

TEST(CudaEraScorer, PinnedInputAndSeveralEras) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(5, 40);
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 8;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  for (std::uint32_t seed : {16u, 17u, 18u}) {  // eras of different sizes on one scorer
    const std::size_t n = seed == 17 ? 3000 : 800;
    const TestEra t = make_era(n, 20, seed, seed == 16, 0);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::PinnedBuffer<float> pinned(t.preds.size());
    std::copy(t.preds.begin(), t.preds.end(), pinned.data());
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(20 * specs.size());
    scorer.score_full_columns(std::span<const float>(pinned.data(), pinned.size()), 20, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, "pinned seed " + std::to_string(seed));
  }
}

TEST(CudaEraScorer, SubsetOfFormulas) {
  SKIP_WITHOUT_DEVICE();
  // Each formula alone, so every stage is also exercised without the others.
  const TestEra t = make_era(300, 16, 19, true, 1);
  for (const FormulaSpec& f : all_specs(2, 30)) {
    const std::vector<FormulaSpec> specs{f};
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::CudaEraScorer scorer(0, specs, 0);
    scorer.begin_era(t.era, ctx);
    std::vector<double> gpu(16);
    scorer.score_full_columns(t.preds, 16, gpu);
    expect_match(gpu, cpu_scores(t, ctx, specs), specs, "alone: " + f.name());
  }
}

TEST(CudaEraScorer, NaNColumnIsRefused) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  TestEra t = make_era(100, 4, 20, false, 0);
  t.preds[2 * 100 + 17] = std::nanf("");
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer scorer(0, specs, 0);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(4 * specs.size());
  EXPECT_THROW(scorer.score_full_columns(t.preds, 4, gpu), std::invalid_argument);
}

TEST(CudaEraScorer, BadDeviceIndexThrows) {
  SKIP_WITHOUT_DEVICE();
  EXPECT_THROW(cuda::CudaEraScorer(1000, all_specs(3, 10), 0), std::invalid_argument);
}

// Every built-in without top/bottom, then corr/mmc/bmc/fnc for each K in ks.
std::vector<FormulaSpec> specs_with_ks(std::initializer_list<int> ks) {
  std::vector<FormulaSpec> v;
  for (Builtin b : {Builtin::corr_v1, Builtin::corr, Builtin::mmc, Builtin::bmc, Builtin::mmc2,
                    Builtin::mmc2_burnflip, Builtin::fnc}) {
    v.push_back(FormulaSpec{b, 0});
  }
  for (int k : ks) {
    for (Builtin b : {Builtin::corr, Builtin::mmc, Builtin::bmc, Builtin::fnc}) {
      v.push_back(FormulaSpec{b, k});
    }
  }
  return v;
}

// n = 1 (every formula NaN, nothing on the device), 2 and 3 (K = 1 uses every row at n = 2),
// burn and non-burn, and a batch of one model. No features at n <= 3: with features the fnc
// residual of so few rows is rounding noise, which neither backend can score meaningfully.
TEST(CudaEraScorer, EdgeSizesOneTwoThreeRowsAndOneModel) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = specs_with_ks({1, 2});
  for (std::size_t n : {1u, 2u, 3u}) {
    for (bool burn : {false, true}) {
      const TestEra t = make_era(n, 8, static_cast<std::uint32_t>(30 + n), burn, 2);
      score_and_compare(t, specs, "n=" + std::to_string(n) + (burn ? " burn" : ""));
    }
  }
  score_and_compare(make_era(500, 1, 33, true, 0), all_specs(3, 125), "m=1 burn");
  score_and_compare(make_era(500, 1, 34, false, 1), all_specs(3, 125), "m=1");
}

// 2K = n takes every row, 2K > n is NaN (numerai-tools' assumption broken), K = 1 the extremes.
TEST(CudaEraScorer, TopBottomAtAndPastHalfTheRows) {
  SKIP_WITHOUT_DEVICE();
  score_and_compare(make_era(40, 16, 35, false, 0), specs_with_ks({1, 19, 20, 21}), "n=40");
  score_and_compare(make_era(40, 16, 36, true, 1), specs_with_ks({1, 19, 20, 21}), "n=40 burn");
  score_and_compare(make_era(41, 16, 37, false, 0), specs_with_ks({20, 21}), "n=41");
}

// Degenerate era vectors: a constant target (corr_v1/corr/fnc NaN, mmc 0, never a burn era), a
// constant meta-model and benchmark (m.m = 0: mmc/bmc NaN; xcorr NaN in a burn era), a target
// outside [0, 1] (mmc's x4 not applied). Dyadic constants, so both backends' means are exact.
TEST(CudaEraScorer, ConstantTargetMetaModelAndBenchmark) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 50);
  {
    TestEra t = make_era(200, 16, 38, false, 0);
    std::fill(t.era.targets.begin(), t.era.targets.end(), 0.5);
    score_and_compare(t, specs, "constant target");
  }
  for (bool burn : {false, true}) {
    TestEra t = make_era(200, 16, burn ? 39 : 40, burn, 0);
    std::fill(t.era.meta_model.begin(), t.era.meta_model.end(), 0.5);
    std::fill(t.era.benchmarks.begin(), t.era.benchmarks.end(), 0.25);
    score_and_compare(t, specs,
                      std::string("constant meta-model and benchmark") + (burn ? " burn" : ""));
  }
  {
    TestEra t = make_era(300, 16, 41, true, 1, false);
    for (double& v : t.era.targets) v = v * 1000 + 3;
    score_and_compare(t, specs, "target outside [0, 1]");
  }
}

// The block sort's two configurations (<= 1,024 rows, <= 8,192 rows) at and just past their
// limits: padding keys of a partial last thread, and the switch to the segmented sort.
TEST(CudaEraScorer, BlockSortSizeBoundaries) {
  SKIP_WITHOUT_DEVICE();
  std::uint32_t seed = 42;
  for (std::size_t n : {1023u, 1024u, 1025u, 8191u, 8192u, 8193u}) {
    const bool burn = n % 2 == 1;
    score_and_compare(make_era(n, 8, seed++, burn, n % 3 == 0 ? 1 : 0),
                      all_specs(3, static_cast<int>(n / 4)), "n=" + std::to_string(n));
  }
}

// The same block on the same scorer (and after a second begin_era of the same era) gives the same
// bits: fixed reduction orders, no atomics, one cuBLAS stream. Another batch split agrees to
// rounding only (cuBLAS may block a GEMM differently for another number of columns).
TEST(CudaEraScorer, RepeatedScoringIsBitIdentical) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  for (std::size_t n : {3000u, 9000u}) {  // block sort, segmented sort
    const TestEra t = make_era(n, 24, static_cast<std::uint32_t>(50 + n), true, 1);
    const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
    cuda::EraScorerOptions opt;
    opt.max_batch_models = 7;
    cuda::CudaEraScorer scorer(0, specs, 0, opt);
    const std::size_t F = specs.size();
    std::vector<double> a(t.m * F), b(t.m * F), c(t.m * F), d(t.m * F);
    scorer.begin_era(t.era, ctx);
    scorer.score_full_columns(t.preds, t.m, a);
    scorer.score_full_columns(t.preds, t.m, b);
    scorer.begin_era(t.era, ctx);
    scorer.score_full_columns(t.preds, t.m, c);
    EXPECT_TRUE(bit_identical(a, b)) << "n=" << n;
    EXPECT_TRUE(bit_identical(a, c)) << "n=" << n;
    cuda::CudaEraScorer whole(0, specs, 0);
    whole.begin_era(t.era, ctx);
    whole.score_full_columns(t.preds, t.m, d);
    for (std::size_t x = 0; x < a.size(); ++x) {
      EXPECT_TRUE((std::isnan(a[x]) && std::isnan(d[x])) || std::fabs(a[x] - d[x]) <= 1e-12)
          << "n=" << n << " model " << x / F << " " << specs[x % F].name() << ": " << a[x] << " vs "
          << d[x];
    }
  }
}

// A NaN column in the fourth device batch of a pinned block: the scorer throws, has finished every
// copy out of the caller's block when it does (the block is freed right after), and scores the
// next block correctly.
TEST(CudaEraScorer, NaNInALaterBatchOfPinnedInputLeavesTheScorerUsable) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  const TestEra t = make_era(100, 12, 60, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  cuda::EraScorerOptions opt;
  opt.max_batch_models = 3;
  cuda::CudaEraScorer scorer(0, specs, 0, opt);
  scorer.begin_era(t.era, ctx);
  std::vector<double> gpu(t.m * specs.size());
  {
    cuda::PinnedBuffer<float> pinned(t.preds.size());
    std::copy(t.preds.begin(), t.preds.end(), pinned.data());
    pinned[10 * 100 + 5] = std::nanf("");
    EXPECT_THROW(
        scorer.score_full_columns(std::span<const float>(pinned.data(), pinned.size()), t.m, gpu),
        std::invalid_argument);
  }
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "after a refused NaN column");
}

// run_eras hands the scorer --batch columns at a time, fewer than the device batch planned for the
// era's models: blocks of varying width (the internal pinned staging grows on demand).
TEST(CudaEraScorer, CallerBlocksOfVaryingWidthOnOneEra) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 200);
  const TestEra t = make_era(800, 40, 61, true, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer scorer(0, specs, 0);  // 2 lanes: device batches of up to 20
  scorer.begin_era(t.era, ctx);
  EXPECT_EQ(scorer.memory_plan().lanes, 2u);
  EXPECT_EQ(scorer.memory_plan().batch_models, 20u);
  const std::size_t n = 800, F = specs.size();
  std::vector<double> gpu(t.m * F);
  std::size_t first = 0;
  for (std::size_t w : {5u, 30u, 2u, 3u}) {
    scorer.score_full_columns(std::span<const float>(t.preds.data() + first * n, w * n), w,
                              std::span<double>(gpu.data() + first * F, w * F));
    first += w;
  }
  ASSERT_EQ(first, t.m);
  expect_match(gpu, cpu_scores(t, ctx, specs), specs, "varying widths");
}

// Move construction and move assignment (the assigned-over scorer is released safely).
TEST(CudaEraScorer, MovedScorersKeepWorking) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 100);
  const TestEra t = make_era(500, 16, 62, false, 1);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  const std::vector<double> cpu = cpu_scores(t, ctx, specs);
  std::vector<double> gpu(t.m * specs.size());
  cuda::CudaEraScorer a(0, specs, 0);
  a.begin_era(t.era, ctx);
  a.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "before the moves");
  a = cuda::CudaEraScorer(0, specs, 0);
  a.begin_era(t.era, ctx);
  cuda::CudaEraScorer b(std::move(a));
  b.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu, specs, "after the moves");
}

// Many features (a larger cuSOLVER workspace) under a cap just above the plan of a few models: the
// factorization's scratch must stay inside the accounted memory.
TEST(CudaEraScorer, ManyFeaturesUnderATightCap) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 300);
  const TestEra t = make_era(3000, 24, 63, true, 0, true, 150);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  for (int streams : {1, 2}) {
    cuda::EraScorerOptions opt;
    opt.streams = streams;
    opt.min_lane_models = 1;  // keep both lanes under the small cap
    std::size_t cap = 0;
    {
      cuda::CudaEraScorer probe(0, specs, 0, opt);
      probe.begin_era(t.era, ctx);
      cap = cap_for(probe.memory_plan(), probe.memory_plan().lanes, 5);
    }
    cuda::CudaEraScorer scorer(0, specs, cap, opt);
    scorer.begin_era(t.era, ctx);
    EXPECT_LE(scorer.peak_device_bytes(), cap);
    EXPECT_LE(scorer.memory_plan().batch_models, 5u);
    score_under_cap(scorer, t, ctx, specs, cap,
                    "150 features, tight cap, " + std::to_string(streams) + " streams");
  }
}

TEST(CudaEraScorer, MisuseThrows) {
  SKIP_WITHOUT_DEVICE();
  const std::vector<FormulaSpec> specs = all_specs(3, 10);
  cuda::CudaEraScorer fresh(0, specs, 0);
  std::vector<float> block(100);
  std::vector<double> out(specs.size());
  EXPECT_THROW(fresh.score_full_columns(block, 1, out), std::logic_error);  // before begin_era
  cuda::EraScorerOptions opt;
  opt.sort_path = cuda::SortPath::block;  // 9,000 rows do not fit one block
  const TestEra t = make_era(9000, 2, 64, false, 0);
  const EraContext ctx(t.era, {}, ContextNeeds::of(specs), 0, 0);
  cuda::CudaEraScorer forced(0, specs, 0, opt);
  EXPECT_THROW(forced.begin_era(t.era, ctx), std::invalid_argument);
}

}  // namespace
}  // namespace backscore
