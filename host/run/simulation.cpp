// The stake and meta-model simulation (see simulation.hpp; the model: docs/FORMULAS.md,
// "Simulation"): the Simulator, its era step (an EraPass, sim_era_pass.hpp) and the era loop.
#include "host/run/simulation.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <memory>

#include "core/error.hpp"
#include "host/run/sim_era_pass.hpp"
#include "io/progress.hpp"

namespace backscore {

Simulator::~Simulator() = default;

Simulator::Simulator(const StoreSchema& schema, const SimulationOptions& options)
    : schema_(schema),
      options_(options),
      tracks_(options.rules),
      formulas_(SimFormulas::of(
          [&] {
            if (options.observed_payout) tracks_.push_back(*options.observed_payout);
            return std::span<const SimRule>(tracks_);
          }(),
          schema, options.plan.get())),
      work_(std::make_unique<SimWorkspace>()) {
  std::vector<FormulaSpec> base_specs = formulas_.shared;
  base_specs.push_back(FormulaSpec{Builtin::corr_v1, 0});  // the meta-model's own scores
  base_specs.push_back(FormulaSpec{Builtin::corr, 0});
  if (formulas_.needs_portfolio) base_specs.push_back(FormulaSpec{Builtin::mpc, 0});
  base_needs_ = ContextNeeds::of(base_specs);
  for (const std::vector<FormulaSpec>& meta : formulas_.meta) {  // what each rule's formulas read
    ContextNeeds& needs = meta_needs_.emplace_back(ContextNeeds::of(meta));
    needs.skip_corr_target = true;  // no meta-model formula reads it
    needs.skip_mmc2 = std::none_of(meta.begin(), meta.end(), [](const FormulaSpec& x) {
      return x.builtin == Builtin::mmc2 || x.builtin == Builtin::mmc2_burnflip;
    });
  }
  if (!schema.has_stakes) {
    throw InputError("the store has no stakes: simulate starts each model from its stake");
  }
  if (options.rules.empty()) throw InputError("simulate needs at least one --rule");
  if (options.observed_payout) {
    if (options.flows != SimFlows::observed) {
      throw InputError(
          "--observed-payout takes the observed payouts out of the observed stake "
          "changes: it needs --flows observed");
    }
    if (!formulas_.meta.back().empty() && !schema.has_meta_model) {
      throw InputError("--observed-payout reads the meta-model (" +
                       formulas_.meta.back().front().name() +
                       ") and the store has none to have paid it by");
    }
  }
  if (options.resolve_lag == 0) {
    throw InputError(
        "--resolve-lag must be at least 1 (an era's payout cannot weigh its own "
        "meta-model)");
  }
  if (options.device) {  // the complete columns' on_gpu built-ins, meta-model sums and xcorr
    split_ = SimDeviceSplit::of(formulas_, options.rules.size());
    for (std::size_t r = 0; r < options.rules.size(); ++r) meta_needs_[r].meta_model = true;
    device_ = options.device(split_.specs);
  }
}

SimEra Simulator::step(Era& era, std::span<const float> predictions, SimState& state,
                       SimStats& stats, std::unique_ptr<EraContext> base) {
  return EraPass(*this, schema_, options_, formulas_, *work_, era, predictions, state, stats,
                 std::move(base))
      .run();
}

std::unique_ptr<EraContext> Simulator::base_context(const Era& era) const {
  return std::make_unique<EraContext>(era, std::span<const std::uint32_t>{}, base_needs_,
                                      options_.target, options_.benchmark);
}

SimStats simulate_eras(StoreReader& store, const SimulationOptions& options, SimState& state,
                       const std::function<void(const SimEra&, const SimState&)>& on_era) {
  const auto start = std::chrono::steady_clock::now();
  Simulator sim(store.schema(), options);
  const std::size_t end = std::min(options.end_era, store.eras().size());
  SimStats stats;
  EraProgress progress(options.progress, end > state.next_era ? end - state.next_era : 0);
  const int threads = options.threads > 0 ? options.threads : omp_get_max_threads();
  auto seconds_since = [](std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  // The next era's header and its shared stages (the factorization of its features for fnc:
  // seconds at Numerai's size) are built on another thread while this era is simulated, as a
  // run's StagePrefetch does; they depend on the era only, not on the stakes. Not with one
  // thread.
  std::shared_ptr<Era> next;
  std::future<std::unique_ptr<EraContext>> base_ahead;  // this era's, started with the last one
  std::vector<float> predictions;
  std::size_t done = 0;
  while (state.next_era < end) {
    const auto e = static_cast<std::size_t>(state.next_era);
    auto t0 = std::chrono::steady_clock::now();
    std::shared_ptr<Era> era =
        next != nullptr ? std::move(next) : std::make_shared<Era>(store.read_era(e));
    predictions.resize(era->n_submitted() * era->n_stocks());
    store.read_predictions(e, 0, era->n_submitted(), predictions, std::min(threads, 8));
    std::future<std::unique_ptr<EraContext>> launched;
    if (threads > 1 && e + 1 < end) {
      next = std::make_shared<Era>(store.read_era(e + 1));
      launched = std::async(std::launch::async, [&sim, ahead = next] {
        return ahead->n_stocks() > 0 ? sim.base_context(*ahead) : nullptr;
      });
    }
    stats.read += seconds_since(t0);
    std::unique_ptr<EraContext> base;
    if (base_ahead.valid()) {
      t0 = std::chrono::steady_clock::now();
      base = base_ahead.get();
      stats.wait_stages += seconds_since(t0);
    }
    base_ahead = std::move(launched);
    const SimEra result = sim.step(*era, predictions, state, stats, std::move(base));
    t0 = std::chrono::steady_clock::now();
    on_era(result, state);
    stats.after_era += seconds_since(t0);
    ++done;
    progress.update(done, stats.predictions, seconds_since(start));
  }
  progress.end();
  if (sim.device() != nullptr) {
    stats.device_peak_bytes = sim.device()->peak_device_bytes();
    stats.device_batch_models = sim.device()->largest_batch_models();
  }
  stats.seconds = seconds_since(start);
  return stats;
}

}  // namespace backscore
