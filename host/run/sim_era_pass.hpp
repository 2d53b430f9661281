// Internal to the simulation (host/run/sim_*.cpp, simulation.cpp): one era's pass, step by step
// (EraPass), and the buffers it reuses from era to era (SimWorkspace). The steps: settle the
// stakes, prepare, pass A (each column ranked once, the shared formulas: sim_pass_shared.cpp),
// the rules' meta-models, pass B rule by rule and the era's quantities (sim_pass_rules.cpp).
#pragma once

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <future>
#include <memory>
#include <span>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/era/stats.hpp"
#include "host/lang/eval.hpp"
#include "host/run/simulation.hpp"

namespace backscore {

// The buffers one thread reuses from column to column.
struct SimScratch {
  ModelScratch model;
  std::unique_ptr<lang::ModelEvaluator> evaluator;  // the plan's, when a rule uses it
  std::vector<double> values, gauss, powered, first, meta_rows, out, rule_inputs;
  std::vector<double> plan_in, plan_out;
  std::vector<double> beside;  // a device column's formulas scored on the CPU
  std::vector<std::uint32_t> rows, order;
};

// The era-sized buffers, reused from era to era (no page faults on fresh memory every era).
struct SimWorkspace {
  std::vector<SimScratch> scratch;  // one per thread
  std::vector<double> G, F, shared_scores, meta, xcorr;
  std::vector<std::size_t> present;      // ids each column submitted
  std::vector<Centered> gauss_centered;  // each column's ranks centered (xcorr, every rule)
  // mpc: the complete columns' neutralized weights (n each, portfolio_index's order), whether
  // their power() check passed, and a rule's copy (signals::mpc centers it) and scores.
  std::vector<std::ptrdiff_t> portfolio_index;
  std::vector<double> portfolio, rule_portfolio, mpc_scores;
  std::vector<char> portfolio_ok;
  std::vector<char> scorable;
  std::vector<double> observed_payouts;  // the observed payout rule's, per column
  // With a device: which columns it scores (the complete ones) and each one's row among them,
  // their block (unless every column is complete), and what the device gave back.
  std::vector<char> on_device;
  std::vector<std::size_t> device_row;
  std::vector<float> device_block;
  std::vector<double> device_weights, device_scores, device_sums, device_track_scores, device_xcorr;
  // Pass A's chunk: each column's stable order and gauss^1.5 (n slots each), and fnc's inputs
  // and residuals of its complete columns (fnc_slot: a column's index among them, or SIZE_MAX).
  std::vector<std::uint32_t> order;
  std::vector<double> powered, fnc_input, fnc_residual;
  std::vector<std::size_t> fnc_slot;
  // GaussianTable::of(k) for the present counts k < n of the era's columns, shared by the
  // column's ranking and its own-subset contexts (the shared formulas' and every rule's).
  std::unordered_map<std::size_t, std::shared_ptr<const GaussianTable>> tables;
};

// Waits on the way out (an exception) for a task of the era's pass running on another thread, so
// it never outlives the buffers it writes.
struct WaitOnExit {
  std::future<void>& task;
  ~WaitOnExit() {
    if (task.valid()) task.wait();
  }
};

// One era of a simulation, step by step (Simulator::step): the era's values shared by the steps.
class EraPass {
 public:
  EraPass(const Simulator& simulator, const StoreSchema& schema, const SimulationOptions& options,
          const SimFormulas& formulas, SimWorkspace& workspace, Era& the_era,
          std::span<const float> columns, SimState& the_state, SimStats& the_stats,
          std::unique_ptr<EraContext> prebuilt)
      : sim(simulator),
        dev(simulator.device()),
        split(simulator.device_split()),
        base_needs(simulator.base_needs()),
        meta_needs(simulator.meta_needs()),
        base(std::move(prebuilt)),
        schema_(schema),
        options_(options),
        f(formulas),
        ws(workspace),
        era(the_era),
        predictions(columns),
        state(the_state),
        stats(the_stats),
        n(the_era.n_stocks()),
        m(the_era.n_submitted()),
        R(options.rules.size()),
        T(simulator.tracks().size()),
        M(the_state.models),
        L(the_state.lag),
        S(formulas.shared.size()),
        mm(static_cast<std::ptrdiff_t>(m)),
        threads(options.threads > 0 ? options.threads : omp_get_max_threads()) {
    if (state.rules != R || M != schema.models.size()) {
      throw std::invalid_argument("Simulator::step: the state is of another simulation");
    }
    if (predictions.size() != m * n) throw std::invalid_argument("Simulator::step: predictions");
    if (T > R && (state.explained.size() != M || state.pending_observed.size() != L * M)) {
      throw std::invalid_argument("Simulator::step: the state has no observed payouts");
    }
    slot = state.simulated % L;
  }

  SimEra run() {
    out.era = state.next_era;
    out.models = era.models;
    settle_stakes();
    prepare();
    rank_and_score_shared();
    lap(stats.shared);
    rebuild_meta_models();
    lap(stats.meta_models);
    score_rules();
    finish();
    return std::move(out);
  }

 private:
  // 1. Payouts resolving now join the stakes; 2. newcomers start from their observed stake,
  // returning models move by the observed flows (--flows observed). Then the stakes at risk.
  void settle_stakes();

  // The era's stages shared by every rule, the present counts, a table of gaussianized ranks
  // for each count below n, and mpc's portfolio (the complete columns, in column order).
  void prepare();

  // 3. Pass A: each column ranked once, its gaussianized ranks kept for the meta-models (0 on
  // its missing ids) and its shared formulas scored.
  void rank_and_score_shared();

  // Column j's ranks: its gaussianized tie-kept ranks into G (0 on its missing ids) and centered,
  // its tie-broken ones into F when a rule reads mmc2, its stable order and gauss^1.5 (present
  // rows, in row order) into the chunk's slot `at`.
  void rank_column(std::size_t j, std::size_t at, SimScratch& t);

  // fnc's residuals of the chunk's complete columns: their gaussianized ranks (fnc_input's
  // vector, bit for bit) projected by matrix products against the era's one factorization, in
  // LeastSquaresProjector's fixed blocks (so a column's residual depends on neither the chunk nor
  // the thread count).
  void neutralize_complete_columns(std::size_t c0, std::size_t c1);

  // Column j's shared formulas (and its mpc portfolio weights) from its ranks in chunk slot `at`.
  void score_shared(std::size_t j, std::size_t at, SimScratch& t);

  // With a device, pass A of its columns: on the device (its thread) and beside it on the CPU.
  void score_shared_on_device();
  void score_shared_beside_device(std::size_t j, SimScratch& t);

  // Pass B of the device's columns against track r's meta-model (era.meta_model), on the device.
  void score_track_on_device(std::size_t r, const EraContext& ctx);
  // A device column's track-r formulas on the CPU beside the device's (ctx: the track's stages).
  void score_beside_device(std::size_t j, std::size_t r, const EraContext* ctx, SimScratch& t);

  // 4. Each rule's meta-model: the stake-weighted mean of the gaussianized ranks (every model
  // the same weight when nobody is staked), summed in column order for every row.
  void rebuild_meta_models();

  // 5 and 6, rule by rule: the era with the rule's meta-model in place of the stored one (swapped
  // in, restored after the last rule whatever happens), its stages and the meta-model's own
  // scores; then pass B over the columns: each against the rule's meta-model from pass A's
  // ranks, its xcorr, its payout.
  void score_rules();

  void score_rule(std::size_t r);

  // 7. The era's quantities, and its payouts in flight (they resolve `lag` eras from now).
  void finish();

  // Gathers column j's present rows and values into t; returns their count.
  std::size_t gather(std::size_t j, SimScratch& t) const {
    t.rows.clear();
    t.values.clear();
    const float* col = predictions.data() + j * n;
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isnan(col[i])) {
        t.rows.push_back(static_cast<std::uint32_t>(i));
        t.values.push_back(static_cast<double>(col[i]));
      }
    }
    return t.rows.size();
  }
  std::shared_ptr<const GaussianTable> table_of(std::size_t np) const {
    return np == n || np == 0 ? nullptr : ws.tables.at(np);
  }
  void lap(double& into) {
    const auto now = std::chrono::steady_clock::now();
    into += std::chrono::duration<double>(now - lap_start).count();
    lap_start = now;
  }

  const Simulator& sim;
  SimDevice* const dev;  // null: every column on the CPU
  const SimDeviceSplit& split;
  const ContextNeeds& base_needs;
  const std::vector<ContextNeeds>& meta_needs;
  std::unique_ptr<EraContext> base;  // the era's shared stages on all its ids
  const StoreSchema& schema_;
  const SimulationOptions& options_;
  const SimFormulas& f;
  SimWorkspace& ws;
  Era& era;
  const std::span<const float> predictions;
  SimState& state;
  SimStats& stats;
  // R rules; T tracks: the rules, then the observed payout rule (scored against the store's
  // meta-model with the store's stakes, its payouts not output: state.explained).
  const std::size_t n, m, R, T, M, L, S;
  const std::ptrdiff_t mm;
  const int threads;
  std::size_t slot = 0;
  SimEra out;
  std::vector<double> w, total, pf;     // stakes at risk (T x m), their sums, payout factors
  std::vector<double> stored_meta;      // the store's meta-model while the rules' are swapped in
  bool want_powered = false;            // a shared formula reads gauss^1.5
  bool shared_reads_values = false;     // a shared formula reads the predictions themselves
  ModelScratch mm_scratch;              // the meta-models' own scores
  std::size_t device_models = 0;        // the device's columns (complete ones), with a device
  std::span<const float> device_block;  // their predictions, column-major n x device_models
  std::chrono::steady_clock::time_point lap_start = std::chrono::steady_clock::now();
};

}  // namespace backscore
