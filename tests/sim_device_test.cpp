// simulate's device path (host/run/sim_device.hpp) without a GPU: a device that computes on the
// CPU what the CUDA one computes on the GPU (each complete column's built-ins, the meta-model
// sums, xcorr), each column on its own, as the GPU does. The simulation through it must equal the
// plain CPU simulation to 1e-12 on histories where some columns are complete (the device's) and
// some miss ids (the CPU's), with every kind of formula: on the device (corr, fnc, mmc, mmc2,
// mmc2_burnflip), beside it on the CPU (neutral_mmc, alpha, mpc), and defined in the language.
// tests/gpu/sim_backend_test.cpp compares the CUDA device with the CPU the same way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/era/era_context.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "host/run/simulation.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

using testing::run_backscore;
using testing::TempDir;

class ReferenceDevice final : public SimDevice {
 public:
  struct Calls {
    std::size_t eras = 0, columns = 0, tracks = 0;
  };
  ReferenceDevice(SimDeviceSpecs specs, Calls& calls) : specs_(std::move(specs)), calls_(calls) {}

  void begin_era(const Era&, const EraContext& base) override {
    base_ = &base;
    ++calls_.eras;
  }
  void score_shared(std::span<const float> block, std::size_t k, std::span<const double> weights,
                    std::span<double> scores, std::span<double> sums) override {
    const std::size_t n = base_->size(), S = specs_.shared.size();
    for (std::size_t j = 0; j < k; ++j) {
      load(block, j, n);
      score_model(*base_, values_, specs_.shared, scores.subspan(j * S, S), scratch_);
      for (std::size_t r = 0; r < specs_.rules; ++r) {
        for (std::size_t i = 0; i < n; ++i) sums[r * n + i] += weights[r * k + j] * gauss_[i];
      }
    }
    calls_.columns += k;
  }
  void begin_track(std::size_t, const Era& era, const EraContext& ctx) override {
    track_ = &ctx;
    meta_ = era.meta_model;  // the track's: the era's own is restored after the rules
    ++calls_.tracks;
  }
  void score_track(std::size_t t, std::span<const float> block, std::size_t k,
                   std::span<double> scores, std::span<double> xcorr) override {
    const std::size_t n = track_->size(), F = specs_.tracks[t].size();
    for (std::size_t j = 0; j < k; ++j) {
      load(block, j, n);
      score_model(*track_, values_, specs_.tracks[t], scores.subspan(j * F, F), scratch_);
      if (t < specs_.rules) xcorr[j] = pearson(gauss_, meta_);
    }
  }

 private:
  // Column j's values and gaussianized tie-kept ranks.
  void load(std::span<const float> block, std::size_t j, std::size_t n) {
    // On the simulation's device thread: a throw (not a gtest assertion) fails the simulation.
    if (block.size() < (j + 1) * n) throw std::logic_error("the block is short of a column");
    values_.assign(block.begin() + static_cast<std::ptrdiff_t>(j * n),
                   block.begin() + static_cast<std::ptrdiff_t>((j + 1) * n));
    for (double v : values_) {
      if (std::isnan(v)) throw std::logic_error("the device gets complete columns only");
    }
    order_.resize(n);
    gauss_.resize(n);
    sorter_.sort(values_, order_);
    const GaussianTable table = GaussianTable::of(n);
    tie_kept_gaussian(values_, order_, &table, gauss_);
  }

  SimDeviceSpecs specs_;
  Calls& calls_;
  const EraContext* base_ = nullptr;
  const EraContext* track_ = nullptr;
  std::vector<double> meta_, values_, gauss_;
  std::vector<std::uint32_t> order_;
  StableSorter sorter_;
  ModelScratch scratch_;
};

std::vector<SimEra> simulate(const std::filesystem::path& store_path, SimulationOptions o,
                             SimStats& stats) {
  StoreReader store(store_path);
  SimState state = SimState::start(o.rules.size(), store.schema().models.size(), o.resolve_lag, 0,
                                   o.observed_payout.has_value());
  std::vector<SimEra> eras;
  stats =
      simulate_eras(store, o, state, [&](const SimEra& e, const SimState&) { eras.push_back(e); });
  return eras;
}

// Every number of both simulations to 1e-12 (relative for stakes), NaN where the other is NaN.
void expect_same_simulation(const std::vector<SimEra>& a, const std::vector<SimEra>& b) {
  ASSERT_EQ(a.size(), b.size());
  auto near = [](double x, double y, double scale, const std::string& what) {
    if (std::isnan(x) || std::isnan(y)) {
      EXPECT_EQ(std::isnan(x), std::isnan(y)) << what << ": " << x << " vs " << y;
      return;
    }
    EXPECT_NEAR(x, y, 1e-12 * std::max(1.0, scale)) << what;
  };
  for (std::size_t e = 0; e < a.size(); ++e) {
    const std::string era = "era " + std::to_string(a[e].era);
    ASSERT_EQ(a[e].models, b[e].models) << era;
    ASSERT_EQ(a[e].quantities.size(), b[e].quantities.size());
    for (std::size_t q = 0; q < a[e].quantities.size(); ++q) {
      near(a[e].quantities[q], b[e].quantities[q], std::abs(a[e].quantities[q]),
           era + " quantity " + std::string(kSimEraQuantities[q % kSimQuantityCount]));
    }
    for (std::size_t j = 0; j < a[e].stakes.size(); ++j) {
      near(a[e].stakes[j], b[e].stakes[j], a[e].stakes[j], era + " stake " + std::to_string(j));
      near(a[e].payouts[j], b[e].payouts[j], 1.0, era + " payout " + std::to_string(j));
    }
    for (std::size_t i = 0; i < a[e].meta_models.size(); ++i) {
      near(a[e].meta_models[i], b[e].meta_models[i], 1.0, era + " meta-model " + std::to_string(i));
    }
  }
}

std::filesystem::path make_store(const TempDir& dir, const std::vector<std::string>& extra) {
  const auto path = dir / "s.h5";
  std::vector<std::string> args = {"synth", "--models", "50",          "--eras",
                                   "6",     "--stocks", "200",         "--missing-ids",
                                   "0.2",   "--out",    path.string(), "--quiet"};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto r = run_backscore(args);
  EXPECT_EQ(r.status, 0) << r.err;
  return path;
}

// The same options with and without the reference device; both simulations to 1e-12, the
// device given the complete columns and the CPU the others.
void expect_device_equals_cpu(const std::filesystem::path& store, SimulationOptions o) {
  o.keep_meta_models = true;
  o.resolve_lag = 2;
  SimStats cpu_stats, device_stats;
  const std::vector<SimEra> cpu = simulate(store, o, cpu_stats);
  ReferenceDevice::Calls calls;
  o.device = [&calls](const SimDeviceSpecs& specs) {
    return std::make_unique<ReferenceDevice>(specs, calls);
  };
  const std::vector<SimEra> device = simulate(store, o, device_stats);
  expect_same_simulation(cpu, device);
  EXPECT_EQ(cpu_stats.device_model_eras, 0u);
  EXPECT_EQ(device_stats.device_model_eras, calls.columns);
  EXPECT_GT(calls.columns, 0u);
  EXPECT_LT(calls.columns, device_stats.model_eras) << "some columns miss ids: the CPU's";
  EXPECT_EQ(calls.eras, cpu.size());
  EXPECT_GE(calls.tracks, o.rules.size() * cpu.size());
}

TEST(SimulationDevice, ClassicFormulasAndMetaModelsEqualTheCpus) {
  TempDir dir;
  const auto store = make_store(dir, {"--features", "5"});
  SimulationOptions o;
  o.rules.push_back({"numerai2024", PayoutRule::parse("clip(0.5*corr + 2*mmc, -0.05, 0.05)")});
  o.rules.push_back(
      {"burnflip", PayoutRule::parse("clip(0.5*corr + 2*mmc2_burnflip, -0.05, 0.05)")});
  o.rules.push_back({"mix", PayoutRule::parse("clip(fnc + mmc2 + mmc_tb50 + corr_v1, -0.1, 0.1)")});
  o.rules.push_back({"corr_only", PayoutRule::parse("clip(corr, -0.05, 0.05)")});  // xcorr only
  o.flows = SimFlows::observed;
  expect_device_equals_cpu(store, o);
}

// The Signals formulas the device does not compute (neutral_mmc, alpha, mpc) are the CPU's for
// its columns too, a defined formula reads each rule's meta-model, and the observed payout track
// (the store's meta-model and stakes) goes through the device as well.
TEST(SimulationDevice, FormulasBesideTheDeviceAndDefinitionsEqualTheCpus) {
  TempDir dir;
  const auto store = make_store(dir, {"--neutralizers", "3", "--sample-weights"});
  StoreReader reader(store);
  SimulationOptions o;
  StoreSchema with_meta = reader.schema();
  with_meta.has_meta_model = true;  // the one simulate rebuilds
  const std::vector<lang::Definition> defs = {
      lang::parse_definition("my_mmc = mmc + 0 * corr"),
      lang::parse_definition(
          "tilt = neutral_mmc - 0.5 * pearson(gaussian(rank(pred)), meta_model)")};
  o.plan = std::make_shared<const lang::Plan>(
      lang::compile(defs, {"my_mmc", "tilt"}, lang::Binding{&with_meta, 0, 0}));
  o.rules.push_back({"signals", PayoutRule::parse("clip(alpha + neutral_mmc + mpc, -0.1, 0.1)")});
  o.rules.push_back({"defined", PayoutRule::parse("clip(my_mmc + tilt, -0.1, 0.1)")});
  o.flows = SimFlows::observed;
  o.observed_payout = SimRule{"observed", PayoutRule::parse("clip(0.5*corr + 2*mmc, -0.05, 0.05)")};
  expect_device_equals_cpu(store, o);
}

// A device that fails fails the simulation: one error, nothing half-simulated reported as done.
TEST(SimulationDevice, ADeviceErrorStopsTheSimulation) {
  TempDir dir;
  const auto store = make_store(dir, {"--features", "3"});
  struct Failing final : SimDevice {
    void begin_era(const Era&, const EraContext&) override {
      throw std::runtime_error("device lost");
    }
    void score_shared(std::span<const float>, std::size_t, std::span<const double>,
                      std::span<double>, std::span<double>) override {}
    void begin_track(std::size_t, const Era&, const EraContext&) override {}
    void score_track(std::size_t, std::span<const float>, std::size_t, std::span<double>,
                     std::span<double>) override {}
  };
  SimulationOptions o;
  o.rules.push_back({"r", PayoutRule::parse("mmc")});
  o.device = [](const SimDeviceSpecs&) { return std::make_unique<Failing>(); };
  SimStats stats;
  std::size_t eras = 0;
  StoreReader reader(store);
  SimState state = SimState::start(1, reader.schema().models.size(), 4, 0);
  EXPECT_THROW(simulate_eras(reader, o, state, [&](const SimEra&, const SimState&) { ++eras; }),
               std::runtime_error);
  EXPECT_EQ(eras, 0u);
  EXPECT_EQ(state.next_era, 0u);
}

}  // namespace
}  // namespace backscore
