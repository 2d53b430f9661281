// Shared helpers of the CudaEraScorer tests (era_scorer_*_test.cpp): random test eras with every
// kind of model column, the CPU reference (score_model on an EraContext of all rows), and the
// comparison (1e-9 absolute, NaN exactly where the CPU gives NaN). Every test that needs a CUDA
// device skips without one (SKIP_WITHOUT_DEVICE).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/run/cuda/era_scorer.hpp"
#include "io/store.hpp"
#include "kernels/cuda_error.hpp"
#include "kernels/cuda_resources.hpp"
#include "kernels/device.hpp"

namespace backscore::era_scorer_test {

#define SKIP_WITHOUT_DEVICE()                                                   \
  do {                                                                          \
    const cuda::DeviceInfo info_ = cuda::query_devices();                       \
    if (info_.count == 0) GTEST_SKIP() << "no CUDA device: " << info_.why_none; \
  } while (0)

inline constexpr double kTol = 1e-9;

inline std::vector<FormulaSpec> all_specs(int tb_small, int tb_large) {
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
inline TestEra make_era(std::size_t n, std::size_t m, std::uint32_t seed, bool burn, int kind,
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
inline std::vector<double> cpu_scores(const TestEra& t, const EraContext& ctx,
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

inline void expect_match(const std::vector<double>& gpu, const std::vector<double>& cpu,
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
inline void score_and_compare(const TestEra& t, const std::vector<FormulaSpec>& specs,
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

inline void run_case(std::size_t n, std::size_t m, std::uint32_t seed, bool burn, int kind,
                     cuda::EraScorerOptions opt = {}, std::size_t cap = 0,
                     bool unit_target = true) {
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

inline bool bit_identical(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() &&
         (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

// The device memory one lane of `plan` needs for `models` columns (the slack of its batch buffers
// included), and a cap that leaves room for exactly that on `lanes` lanes.
inline std::size_t cap_for(const cuda::MemoryPlan& p, std::size_t lanes, std::size_t models) {
  return p.era_bytes + p.fixed_bytes +
         lanes * (p.sort_temp_bytes + p.lane_sums_bytes + models * p.per_model_bytes + (128 << 10));
}

// Scores every column of t on a scorer built with a memory cap (begin_era done), compares with the
// CPU and checks the peak stayed under the cap.
inline void score_under_cap(cuda::CudaEraScorer& scorer, const TestEra& t, const EraContext& ctx,
                            const std::vector<FormulaSpec>& specs, std::size_t cap,
                            const std::string& what) {
  std::vector<double> gpu(t.m * specs.size());
  scorer.score_full_columns(t.preds, t.m, gpu);
  expect_match(gpu, cpu_scores(t, ctx, specs), specs, what);
  EXPECT_LE(scorer.peak_device_bytes(), cap) << what;
}

// Every built-in without top/bottom, then corr/mmc/bmc/fnc for each K in ks.
inline std::vector<FormulaSpec> specs_with_ks(std::initializer_list<int> ks) {
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

}  // namespace backscore::era_scorer_test
