// `backscore simulate`: what the stakes and the meta-model would have become had the tournament
// paid by another rule. Each rule keeps its own simulated stakes; every era its meta-model is
// rebuilt from them (the stake-weighted mean of the submitted models' gaussianized tie-kept
// ranks, as synth builds the store's), every model is scored against that meta-model, paid by
// the rule, and the payouts join the stakes `resolve_lag` eras later. The model, every
// assumption and a toy history worked by hand: docs/FORMULAS.md, "Simulation".
//
// One era: its predictions are read once and each column ranked once; the formulas that do not
// read the meta-model (corr, fnc, ...) are scored once for every rule, those that do (mmc, mmc2,
// ...) against each rule's meta-model from the same ranks. Memory: one era (its predictions as
// float32 and their gaussianized ranks as double, plus the tie-broken ranks when a rule reads
// mmc2), and per rule a stake and (1 + lag) payouts in flight per model of the store.
// Deterministic: each column's scores depend on the column and the era only, and every sum over
// the models runs in column order, so the bytes out do not depend on the thread count.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "host/era/blas.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/lang/payout_rule.hpp"
#include "host/lang/plan.hpp"
#include "host/run/sim_device.hpp"
#include "io/sim_file.hpp"
#include "io/store.hpp"

namespace backscore {

enum class SimFlows {
  none,      // no deposits or withdrawals: stakes move by payouts only
  observed,  // the store's stake changes between a model's eras, scaled to its simulated stake
};

struct SimRule {
  std::string name;  // its name in the outputs
  PayoutRule rule;
  double threshold = kDefaultPayoutThreshold;  // pf's (NMR)
};

struct SimulationOptions {
  std::vector<SimRule> rules;
  std::size_t target = 0;     // index into schema.targets
  std::size_t benchmark = 0;  // index into schema.benchmarks (bmc)
  std::size_t first_era = 0;  // eras [first_era, end_era) of the store
  std::size_t end_era = std::numeric_limits<std::size_t>::max();
  std::size_t resolve_lag = 4;  // >= 1: era t's payout joins the stake the model has in era t+lag
  SimFlows flows = SimFlows::none;
  // With flows observed: the rule the store's stakes were paid by. Its payouts (against the
  // store's own meta-model, with the store's stakes, resolving after the same lag) are taken out
  // of the observed stake changes, so only deposits and withdrawals remain as flows. Absent: the
  // store records no payouts and every observed change is a flow.
  std::optional<SimRule> observed_payout;
  // Formulas defined in the language (--formula) that rules name, compiled against the store
  // (with a meta-model): evaluated per rule against its meta-model. Null: none.
  std::shared_ptr<const lang::Plan> plan;
  int threads = 0;  // 0: OpenMP's default
  // The device the era's complete columns are scored on (sim_device.hpp; cuda_sim_device for
  // --backend cuda); null: everything on the CPU.
  SimDeviceFactory device;
  bool progress = false;
  bool keep_meta_models = false;  // SimEra::meta_models (the tests compare them)
  // Test seam: called by the scoring threads before each column is ranked (the era's store
  // index, the column); a test throws there to check the failure policy.
  std::function<void(std::size_t era, std::size_t column)> before_column;
};

// The formulas a simulation scores, split by whether they read the meta-model, and where each
// rule finds the scores it names. Throws InputError for a name that is neither a built-in nor a
// definition of the plan, or one the store cannot support.
struct SimFormulas {
  std::vector<FormulaSpec> shared;  // scored once per model: no meta-model
  // Per rule: the built-ins it (or its definitions) reads that read the meta-model, scored
  // against its meta-model.
  std::vector<std::vector<FormulaSpec>> meta;
  struct Source {
    // portfolio: mpc, over the era's complete models weighted by the rule's simulated stakes.
    enum Kind { shared, meta, defined, portfolio } kind = shared;
    std::size_t index = 0;  // into `shared`, meta[r], or the plan's formulas
  };
  std::vector<std::vector<Source>> sources;  // per rule, per name of the rule
  // Per rule: whether it reads a definition (then every definition of the plan is evaluated
  // against its meta-model), and where the plan's built-in inputs (plan.builtins) come from.
  std::vector<char> uses_plan;
  std::vector<std::vector<Source>> plan_inputs;
  std::vector<char> uses_portfolio;  // per rule: it (or its definitions) reads mpc
  bool needs_portfolio = false;      // some rule does
  bool needs_first = false;          // a meta formula reads the tie-broken ranks
  static SimFormulas of(std::span<const SimRule> rules, const StoreSchema& schema,
                        const lang::Plan* plan = nullptr);
};

// With a device: the formulas it scores of the era's complete columns (BuiltinInfo::on_gpu) and
// those the CPU still scores of them, as indices into SimFormulas::shared and ::meta[t].
struct SimDeviceSplit {
  std::vector<std::size_t> shared_device, shared_cpu;
  std::vector<FormulaSpec> shared_cpu_specs;
  std::vector<std::vector<std::size_t>> meta_device, meta_cpu;  // per track
  std::vector<std::vector<FormulaSpec>> meta_cpu_specs;
  SimDeviceSpecs specs;  // what the device is built for
  static SimDeviceSplit of(const SimFormulas& formulas, std::size_t rules);
};

// What one era carries to the next: per rule every model's stake and its payouts in flight, and
// each model's last observed stake. Saved whole for --resume (serialize, deserialize).
struct SimState {
  std::uint64_t next_era = 0;   // store index of the next era to simulate
  std::uint64_t simulated = 0;  // eras simulated so far (the position in the lag's ring)
  std::size_t rules = 0, models = 0, lag = 1;
  std::vector<double> stake;          // rules x models; NaN: not seen yet
  std::vector<double> pending;        // rules x lag x models: NMR resolving at a future era
  std::vector<double> last_observed;  // models: observed stake in its last era; NaN: never seen
  // With an observed payout rule (SimulationOptions::observed_payout), per model: the observed
  // payouts resolved since its last era (what its observed stake change is explained by), and
  // those in flight (lag x models). Empty otherwise.
  std::vector<double> explained, pending_observed;
  static SimState start(std::size_t rules, std::size_t models, std::size_t lag,
                        std::uint64_t first_era, bool observed_payout = false);
  std::vector<unsigned char> serialize() const;
  // std::invalid_argument when the bytes are not a state of this shape.
  static SimState deserialize(std::span<const unsigned char> bytes);
};

// One simulated era: what the outputs hold (io/sim_file.hpp's write_era).
struct SimEra {
  std::uint64_t era = 0;
  std::vector<std::int32_t> models;  // the era's submitted models (m)
  std::vector<double> stakes;        // rules x m: each model's stake at risk
  std::vector<double> payouts;       // rules x m: the fraction paid (0 where the rule is NaN)
  std::vector<double> quantities;    // rules x kSimQuantityCount
  double store_mm_corr = std::numeric_limits<double>::quiet_NaN();
  // rules x n_stocks: each rule's meta-model (only with SimulationOptions::keep_meta_models).
  std::vector<double> meta_models;
};
std::vector<unsigned char> encode_sim_era(const SimEra& era, std::size_t rules);
SimEra decode_sim_era(std::span<const unsigned char> bytes, std::size_t rules);

struct SimStats {
  std::size_t eras = 0, model_eras = 0, skipped = 0, subset_models = 0, predictions = 0;
  double seconds = 0;
  // Where the time went (wall seconds; simulate --timings).
  double read = 0;         // the store's era headers and predictions
  double shared = 0;       // pass A: ranks, the era's shared stages, the shared formulas
  double meta_models = 0;  // every rule's meta-model from the ranks
  double rule_stages = 0;  // each rule's era stages and its meta-model's scores
  double rule_scores = 0;  // pass B: every column against every rule, xcorr, payouts
  double after_era = 0;    // the caller's on_era (journal and checkpoint)
  double wait_stages = 0;  // waiting for an era's shared stages built ahead
  // With a device: the model-eras scored on it (the complete columns), its peak memory and its
  // widest batch.
  std::size_t device_model_eras = 0, device_peak_bytes = 0, device_batch_models = 0;
};

struct SimWorkspace;

class Simulator {
 public:
  // Throws InputError when the store lacks stakes or what a rule's formulas need.
  Simulator(const StoreSchema& schema, const SimulationOptions& options);
  ~Simulator();
  const SimFormulas& formulas() const { return formulas_; }
  // Simulates one era: `predictions` its columns (era.n_submitted() x n_stocks, NaN = missing),
  // state the state after the previous era (advanced to after this one). era.meta_model is
  // swapped for each rule's while its formulas are scored, and restored before returning.
  // base: the era's shared stages built ahead by base_context (null: built here). Not
  // thread-safe (it reuses its era-sized buffers from era to era).
  SimEra step(Era& era, std::span<const float> predictions, SimState& state, SimStats& stats,
              std::unique_ptr<EraContext> base = nullptr);
  // The era's stages every rule shares (on all its ids); thread-safe, reads only the era.
  std::unique_ptr<EraContext> base_context(const Era& era) const;
  const ContextNeeds& base_needs() const { return base_needs_; }
  // The rules, then the observed payout rule when there is one (tracks scored each era).
  const std::vector<SimRule>& tracks() const { return tracks_; }
  const std::vector<ContextNeeds>& meta_needs() const { return meta_needs_; }
  // The device and what it scores (null without SimulationOptions::device).
  SimDevice* device() const { return device_.get(); }
  const SimDeviceSplit& device_split() const { return split_; }

 private:
  // OpenBLAS at one thread while the simulator exists, as in ColumnScorer: the OpenMP threads
  // give the parallelism (fnc's factorization and products), and OpenBLAS's own pool would spin
  // against them.
  blas::ScopedThreads one_blas_thread_{1};
  const StoreSchema& schema_;
  const SimulationOptions& options_;
  std::vector<SimRule> tracks_;  // the rules, then the observed payout rule (when there is one)
  SimFormulas formulas_;
  ContextNeeds base_needs_;               // the era's shared stages
  std::vector<ContextNeeds> meta_needs_;  // each rule's: what its meta-model formulas read
  SimDeviceSplit split_;
  std::unique_ptr<SimDevice> device_;
  std::unique_ptr<SimWorkspace> work_;
};

// Simulates the eras [state.next_era, options.end_era) of the store in order, calling on_era
// after each with the era and the state after it (the CLI journals both).
SimStats simulate_eras(StoreReader& store, const SimulationOptions& options, SimState& state,
                       const std::function<void(const SimEra&, const SimState&)>& on_era);

}  // namespace backscore
