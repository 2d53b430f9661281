// The stake and meta-model simulation (see simulation.hpp; the model: docs/FORMULAS.md,
// "Simulation").
#include "host/run/simulation.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/error.hpp"
#include "core/parallel_errors.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formulas_signals.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "host/lang/eval.hpp"
#include "host/lang/select.hpp"
#include "io/progress.hpp"

namespace backscore {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Gini coefficient of non-negative weights (0 when they sum to 0): sum_i (2i - m - 1) w_(i) /
// (m sum w), w sorted ascending, i = 1..m.
double gini(std::vector<double> w, double total) {
  if (!(total > 0) || w.size() < 2) return 0;
  std::sort(w.begin(), w.end());
  const double m = static_cast<double>(w.size());
  double s = 0;
  for (std::size_t i = 0; i < w.size(); ++i) s += (2.0 * static_cast<double>(i + 1) - m - 1) * w[i];
  return s / (m * total);
}

}  // namespace

// The buffers one thread reuses from column to column.
struct SimScratch {
  ModelScratch model;
  std::unique_ptr<lang::ModelEvaluator> evaluator;  // the plan's, when a rule uses it
  std::vector<double> values, gauss, powered, first, meta_rows, out, rule_inputs;
  std::vector<double> plan_in, plan_out;
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
  // Pass A's chunk: each column's stable order and gauss^1.5 (n slots each), and fnc's inputs
  // and residuals of its complete columns (fnc_slot: a column's index among them, or SIZE_MAX).
  std::vector<std::uint32_t> order;
  std::vector<double> powered, fnc_input, fnc_residual;
  std::vector<std::size_t> fnc_slot;
  // GaussianTable::of(k) for the present counts k < n of the era's columns, shared by the
  // column's ranking and its own-subset contexts (the shared formulas' and every rule's).
  std::unordered_map<std::size_t, std::shared_ptr<const GaussianTable>> tables;
};

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
}

// One era of a simulation, step by step (Simulator::step): the era's values shared by the steps.
class EraPass {
 public:
  EraPass(const Simulator& simulator, const StoreSchema& schema, const SimulationOptions& options,
          const SimFormulas& formulas, SimWorkspace& workspace, Era& the_era,
          std::span<const float> columns, SimState& the_state, SimStats& the_stats,
          std::unique_ptr<EraContext> prebuilt)
      : sim(simulator),
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
  void settle_stakes() {
    for (std::size_t r = 0; r < R; ++r) {
      double* pending = state.pending.data() + (r * L + slot) * M;
      double* stake = state.stake.data() + r * M;
      for (std::size_t g = 0; g < M; ++g) {
        if (pending[g] != 0) stake[g] = std::max(0.0, stake[g] + pending[g]);
        pending[g] = 0;
      }
    }
    const bool observed_payout = T > R;
    if (observed_payout) {  // the observed payouts resolving now explain part of the next change
      double* pending = state.pending_observed.data() + slot * M;
      for (std::size_t g = 0; g < M; ++g) {
        state.explained[g] += pending[g];
        pending[g] = 0;
      }
    }
    for (std::size_t j = 0; j < m; ++j) {
      const auto g = static_cast<std::size_t>(era.models[j]);
      const double observed = era.stakes[j];
      const double previous = state.last_observed[g];
      for (std::size_t r = 0; r < R; ++r) {
        double& s = state.stake[r * M + g];
        if (std::isnan(previous)) {
          s = observed;
        } else if (options_.flows == SimFlows::observed) {
          const double flow = observed - previous - (observed_payout ? state.explained[g] : 0.0);
          s = std::max(0.0, previous > 0 ? s + flow * (s / previous) : s + flow);
        }
      }
      state.last_observed[g] = observed;
      if (observed_payout) state.explained[g] = 0;
    }
    w.assign(T * m, 0.0);
    total.assign(T, 0.0);
    for (std::size_t r = 0; r < T; ++r) {
      for (std::size_t j = 0; j < m; ++j) {
        w[r * m + j] = r < R ? state.stake[r * M + static_cast<std::size_t>(era.models[j])]
                             : era.stakes[j];  // the observed payouts' stakes: the store's
        total[r] += w[r * m + j];
      }
    }
    out.stakes.assign(w.begin(), w.begin() + static_cast<std::ptrdiff_t>(R * m));
    out.payouts.assign(R * m, 0.0);
    out.quantities.assign(R * kSimQuantityCount, kNaN);
  }

  // The era's stages shared by every rule, the present counts, a table of gaussianized ranks
  // for each count below n, and mpc's portfolio (the complete columns, in column order).
  void prepare() {
    if (n > 0 && base == nullptr) base = sim.base_context(era);
    ws.scratch.resize(static_cast<std::size_t>(threads));
    ws.present.assign(m, 0);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::ptrdiff_t jj = 0; jj < mm; ++jj) {
      const float* col = predictions.data() + static_cast<std::size_t>(jj) * n;
      ws.present[static_cast<std::size_t>(jj)] = static_cast<std::size_t>(
          std::count_if(col, col + n, [](float v) { return !std::isnan(v); }));
    }
    ws.tables.clear();
    std::vector<std::size_t> sizes;
    for (std::size_t np : ws.present) {
      if (np > 0 && np < n && ws.tables.emplace(np, nullptr).second) sizes.push_back(np);
    }
    std::vector<std::shared_ptr<const GaussianTable>> built(sizes.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic)
    for (std::ptrdiff_t k = 0; k < static_cast<std::ptrdiff_t>(sizes.size()); ++k) {
      const auto kk = static_cast<std::size_t>(k);
      built[kk] = std::make_shared<const GaussianTable>(GaussianTable::of(sizes[kk]));
    }
    for (std::size_t k = 0; k < sizes.size(); ++k) ws.tables[sizes[k]] = std::move(built[k]);
    ws.portfolio_index.assign(m, -1);
    std::size_t portfolio_models = 0;
    if (f.needs_portfolio) {
      for (std::size_t j = 0; j < m; ++j) {
        if (ws.present[j] == n) {
          ws.portfolio_index[j] = static_cast<std::ptrdiff_t>(portfolio_models++);
        }
      }
    }
    ws.portfolio.resize(portfolio_models * n);
    ws.portfolio_ok.assign(portfolio_models, 1);
    for (const FormulaSpec& spec : f.shared) {
      want_powered |= spec.builtin == Builtin::corr || spec.builtin == Builtin::alpha;
      shared_reads_values |= spec.builtin == Builtin::max_feature_corr;
    }
  }

  // 3. Pass A: each column ranked once, its gaussianized ranks kept for the meta-models (0 on
  // its missing ids) and its shared formulas scored.
  void rank_and_score_shared() {
    ws.G.resize(m * n);  // every column written below (its missing ids 0)
    ws.F.resize(f.needs_first ? m * n : 0);
    ws.shared_scores.assign(m * S, kNaN);
    ws.scorable.assign(m, 0);
    ws.gauss_centered.assign(m, Centered{});
    std::size_t skipped = 0, subset = 0;
    FirstError error;
    auto count = [&](std::size_t j, std::size_t& skip, std::size_t& sub) {
      skip += !ws.scorable[j];
      sub += ws.scorable[j] && ws.present[j] < n;
    };
    if (base == nullptr || !base->has_features()) {
      // No fnc: each column ranked and scored at once (its ranks still in cache), the thread's
      // own slot of the rank buffers.
      ws.order.resize(static_cast<std::size_t>(threads) * n);
      ws.powered.resize(want_powered ? static_cast<std::size_t>(threads) * n : 0);
      ws.fnc_slot.assign(static_cast<std::size_t>(threads), SIZE_MAX);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4) reduction(+ : skipped, subset)
      for (std::ptrdiff_t jj = 0; jj < mm; ++jj) {
        const auto j = static_cast<std::size_t>(jj);
        try {
          const auto slot_of_thread = static_cast<std::size_t>(omp_get_thread_num());
          SimScratch& t = ws.scratch[slot_of_thread];
          rank_column(j, slot_of_thread, t);
          if (ws.scorable[j]) score_shared(j, slot_of_thread, t);
          count(j, skipped, subset);
        } catch (...) {
          error.capture(j);
        }
      }
      error.rethrow();
    } else {
      // fnc: columns in chunks, as a run's batches: ranked together, then fnc's residuals of
      // the chunk's complete columns by matrix products (as ColumnScorer does), then scored.
      constexpr std::size_t kChunk = 256;
      const std::size_t chunk = std::min(kChunk, m);
      ws.order.resize(chunk * n);
      ws.powered.resize(want_powered ? chunk * n : 0);
      for (std::size_t c0 = 0; c0 < m; c0 += kChunk) {
        const std::size_t c1 = std::min(m, c0 + kChunk);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4) reduction(+ : skipped, subset)
        for (std::ptrdiff_t jj = static_cast<std::ptrdiff_t>(c0);
             jj < static_cast<std::ptrdiff_t>(c1); ++jj) {
          const auto j = static_cast<std::size_t>(jj);
          try {
            rank_column(j, j - c0, ws.scratch[static_cast<std::size_t>(omp_get_thread_num())]);
            count(j, skipped, subset);
          } catch (...) {
            error.capture(j);
          }
        }
        error.rethrow();
        neutralize_complete_columns(c0, c1);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
        for (std::ptrdiff_t jj = static_cast<std::ptrdiff_t>(c0);
             jj < static_cast<std::ptrdiff_t>(c1); ++jj) {
          const auto j = static_cast<std::size_t>(jj);
          try {
            if (ws.scorable[j]) {
              score_shared(j, j - c0, ws.scratch[static_cast<std::size_t>(omp_get_thread_num())]);
            }
          } catch (...) {
            error.capture(j);
          }
        }
        error.rethrow();
      }
    }
    stats.skipped += skipped;
    stats.subset_models += subset;
    stats.model_eras += m;
    stats.predictions += m * n;
  }

  // Column j's ranks: its gaussianized tie-kept ranks into G (0 on its missing ids) and centered,
  // its tie-broken ones into F when a rule reads mmc2, its stable order and gauss^1.5 (present
  // rows, in row order) into the chunk's slot `at`.
  void rank_column(std::size_t j, std::size_t at, SimScratch& t) {
    if (options_.before_column) options_.before_column(static_cast<std::size_t>(out.era), j);
    const std::size_t np = gather(j, t);
    if (np < n) {
      std::fill_n(ws.G.begin() + static_cast<std::ptrdiff_t>(j * n), n, 0.0);
      if (f.needs_first) std::fill_n(ws.F.begin() + static_cast<std::ptrdiff_t>(j * n), n, 0.0);
    }
    if (np == 0) return;
    const std::span<std::uint32_t> order(ws.order.data() + at * n, np);
    const std::span<double> powered(want_powered ? ws.powered.data() + at * n : nullptr,
                                    want_powered ? np : 0);
    t.gauss.resize(np);
    t.model.sorter.sort(t.values, order);
    const std::shared_ptr<const GaussianTable> table = table_of(np);
    tie_kept_gaussian(t.values, order, np == n ? &base->gaussian_table() : table.get(), t.gauss,
                      powered);
    for (std::size_t k = 0; k < np; ++k) ws.G[j * n + t.rows[k]] = t.gauss[k];
    ws.gauss_centered[j] = Centered::of(t.gauss);
    if (f.needs_first) {
      t.first.resize(np);
      tie_broken_percentiles(order, t.first);
      for (std::size_t k = 0; k < np; ++k) ws.F[j * n + t.rows[k]] = t.first[k];
    }
    ws.scorable[j] = enough_ids(np, n) ? 1 : 0;
  }

  // fnc's residuals of the chunk's complete columns: their gaussianized ranks (fnc_input's
  // vector, bit for bit) projected by matrix products against the era's one factorization, in
  // LeastSquaresProjector's fixed blocks (so a column's residual depends on neither the chunk nor
  // the thread count).
  void neutralize_complete_columns(std::size_t c0, std::size_t c1) {
    ws.fnc_slot.assign(c1 - c0, SIZE_MAX);
    if (base == nullptr || !base->has_features()) return;
    std::size_t k = 0;
    for (std::size_t j = c0; j < c1; ++j) {
      if (ws.scorable[j] && ws.present[j] == n) ws.fnc_slot[j - c0] = k++;
    }
    if (k == 0) return;
    ws.fnc_input.resize(k * n);
    ws.fnc_residual.resize(k * n);
    for (std::size_t j = c0; j < c1; ++j) {
      if (ws.fnc_slot[j - c0] == SIZE_MAX) continue;
      std::copy_n(ws.G.begin() + static_cast<std::ptrdiff_t>(j * n), n,
                  ws.fnc_input.begin() + static_cast<std::ptrdiff_t>(ws.fnc_slot[j - c0] * n));
    }
    const LeastSquaresProjector& proj = base->fnc_projector();
    constexpr std::size_t B = LeastSquaresProjector::kBlock;
    const auto blocks = static_cast<std::ptrdiff_t>((k + B - 1) / B);
    FirstError error;
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (std::ptrdiff_t b = 0; b < blocks; ++b) {
      const std::size_t first = static_cast<std::size_t>(b) * B;
      try {
        proj.residuals(ws.fnc_input.data() + first * n, std::min(B, k - first), 1.0,
                       ws.fnc_residual.data() + first * n);
      } catch (...) {
        error.capture(first);
      }
    }
    error.rethrow();
  }

  // Column j's shared formulas (and its mpc portfolio weights) from its ranks in chunk slot `at`.
  void score_shared(std::size_t j, std::size_t at, SimScratch& t) {
    // A complete column's values are read only for mpc's weights and max_feature_corr; the
    // other shared formulas take its ranks.
    const std::size_t np = ws.present[j];
    const bool values = np < n || (f.needs_portfolio && np == n) || shared_reads_values;
    if (values) gather(j, t);
    if (f.needs_portfolio && np == n) {  // mpc's portfolio: the era's complete models
      const auto k = static_cast<std::size_t>(ws.portfolio_index[j]);
      ws.portfolio_ok[k] =
          signals::portfolio_weights(*base, t.values, {ws.portfolio.data() + k * n, n}, t.model);
    }
    if (S == 0) return;
    std::span<const double> gauss(ws.G.data() + j * n, n), first;
    if (f.needs_first) first = {ws.F.data() + j * n, n};
    if (np < n) {
      t.gauss.resize(np);
      t.first.resize(f.needs_first ? np : 0);
      for (std::size_t k = 0; k < np; ++k) t.gauss[k] = ws.G[j * n + t.rows[k]];
      for (std::size_t k = 0; k < t.first.size(); ++k) t.first[k] = ws.F[j * n + t.rows[k]];
      gauss = t.gauss;
      first = t.first;
    }
    const std::span<const std::uint32_t> order(ws.order.data() + at * n, np);
    const GivenRanks ranks{order, first, gauss,
                           want_powered ? std::span<const double>(ws.powered.data() + at * n, np)
                                        : std::span<const double>{}};
    std::unique_ptr<EraContext> own;
    if (np < n) {
      own =
          std::make_unique<EraContext>(era, t.rows, base_needs, options_.target, options_.benchmark,
                                       base.get(), Factorizer{}, table_of(np));
    }
    FncResidual fnc;
    const std::size_t slot_k = ws.fnc_slot[at];
    if (slot_k != SIZE_MAX) {
      fnc.residual = {ws.fnc_residual.data() + slot_k * n, n};
      fnc.defined = !zero_std(gauss);  // fnc_input's answer
      fnc.order = order;
    }
    score_model(own ? *own : *base,
                values ? std::span<const double>(t.values) : std::span<const double>{}, f.shared,
                {ws.shared_scores.data() + j * S, S}, t.model, slot_k != SIZE_MAX ? &fnc : nullptr,
                &ranks);
  }

  // 4. Each rule's meta-model: the stake-weighted mean of the gaussianized ranks (every model
  // the same weight when nobody is staked), summed in column order for every row.
  void rebuild_meta_models() {
    const std::vector<double>& G = ws.G;
    std::vector<double>& meta = ws.meta;
    meta.assign(R * n, 0.0);
    if (m > 0) {
      constexpr std::size_t kRowBlock = 512;
      const auto blocks = static_cast<std::ptrdiff_t>((n + kRowBlock - 1) / kRowBlock);
#pragma omp parallel for num_threads(threads) schedule(static)
      for (std::ptrdiff_t b = 0; b < blocks; ++b) {
        const std::size_t i0 = static_cast<std::size_t>(b) * kRowBlock;
        const std::size_t i1 = std::min(n, i0 + kRowBlock);
        for (std::size_t j = 0; j < m; ++j) {
          const double* g = G.data() + j * n;
          for (std::size_t r = 0; r < R; ++r) {
            const double weight = total[r] > 0 ? w[r * m + j] : 1.0;
            if (!(weight > 0)) continue;
            double* acc = meta.data() + r * n;
            for (std::size_t i = i0; i < i1; ++i) acc[i] += weight * g[i];
          }
        }
        for (std::size_t r = 0; r < R; ++r) {
          const double denominator = total[r] > 0 ? total[r] : static_cast<double>(m);
          for (std::size_t i = i0; i < i1; ++i) meta[r * n + i] /= denominator;
        }
      }
    }
  }

  // 5 and 6, rule by rule: the era with the rule's meta-model in place of the stored one (swapped
  // in, restored after the last rule whatever happens), its stages and the meta-model's own
  // scores; then pass B over the columns: each against the rule's meta-model from pass A's
  // ranks, its xcorr, its payout.
  void score_rules() {
    pf.assign(T, 1.0);
    if (schema_.has_meta_model && n > 0) {
      const FormulaSpec spec{Builtin::corr, 0};
      score_model(*base, era.meta_model, {&spec, 1}, {&out.store_mm_corr, 1}, mm_scratch);
    }
    ws.xcorr.assign(R * m, kNaN);
    ws.observed_payouts.assign(T > R ? m : 0, 0.0);
    stored_meta.clear();
    stored_meta.swap(era.meta_model);
    struct Restore {
      Era& era;
      std::vector<double>& stored;
      ~Restore() { era.meta_model.swap(stored); }
    } restore{era, stored_meta};
    for (std::size_t r = 0; r < T; ++r) score_rule(r);
  }

  void score_rule(std::size_t r) {
    const std::vector<double>& G = ws.G;
    const std::vector<double>& F = ws.F;
    const std::vector<double>& meta = ws.meta;
    std::vector<double>& xcorr = ws.xcorr;
    FirstError error;
    const SimRule& rule = sim.tracks()[r];
    if (total[r] > 0) pf[r] = std::min(1.0, rule.threshold / total[r]);
    // The observed payouts' track: the store's meta-model, no quantities, payouts kept apart.
    const bool rebuilt = r < R;
    std::array<double, kSimQuantityCount> unused{};
    double* q = rebuilt ? out.quantities.data() + r * kSimQuantityCount : unused.data();
    double* payouts = rebuilt ? out.payouts.data() + r * m : ws.observed_payouts.data();
    q[sim_quantity_index("models")] = static_cast<double>(m);
    q[sim_quantity_index("total_stake")] = total[r];
    q[sim_quantity_index("payout_factor")] = pf[r];
    if (m == 0 || n == 0) return;
    const std::span<const double> mr = rebuilt ? std::span<const double>(meta.data() + r * n, n)
                                               : std::span<const double>(stored_meta);
    era.meta_model.assign(mr.begin(), mr.end());
    std::unique_ptr<EraContext> rule_ctx;
    if (!f.meta[r].empty()) {
      rule_ctx = std::make_unique<EraContext>(era, std::span<const std::uint32_t>{}, meta_needs[r],
                                              options_.target, options_.benchmark);
    }
    std::unique_ptr<lang::EraStages> rule_stages;
    if (f.uses_plan[r]) {
      rule_stages =
          std::make_unique<lang::EraStages>(*options_.plan, era, std::span<const std::uint32_t>{});
    }
    const FormulaSpec mm_specs[2] = {{Builtin::corr_v1, 0}, {Builtin::corr, 0}};
    double mm_scores[2];
    score_model(*base, mr, mm_specs, mm_scores, mm_scratch);
    q[sim_quantity_index("mm_corr_v1")] = mm_scores[0];
    q[sim_quantity_index("mm_corr")] = mm_scores[1];
    q[sim_quantity_index("mm_pearson")] = pearson(era.target(options_.target), mr);
    const Centered meta_centered = Centered::of(mr);
    if (f.uses_portfolio[r]) {  // mpc over the complete models with the rule's stakes
      std::vector<double> stakes;
      for (std::size_t j = 0; j < m; ++j) {
        if (ws.portfolio_index[j] >= 0) stakes.push_back(w[r * m + j]);
      }
      ws.rule_portfolio = ws.portfolio;
      ws.mpc_scores.assign(stakes.size(), kNaN);
      if (std::all_of(ws.portfolio_ok.begin(), ws.portfolio_ok.end(), [](char ok) { return ok; })) {
        signals::mpc(ws.rule_portfolio, n, stakes, base->target(), ws.mpc_scores);
      }
    }
    lap(stats.rule_stages);

#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (std::ptrdiff_t jj = 0; jj < mm; ++jj) {
      const auto j = static_cast<std::size_t>(jj);
      try {
        SimScratch& t = ws.scratch[static_cast<std::size_t>(omp_get_thread_num())];
        const std::size_t np = ws.present[j];
        if (np == 0) continue;
        // The column's ranks from pass A: in place for a complete column, gathered otherwise.
        std::span<const double> gauss(G.data() + j * n, n), first;
        if (f.needs_first) first = {F.data() + j * n, n};
        if (np < n || f.uses_plan[r]) gather(j, t);  // the plan reads the predictions
        if (np < n) {
          t.gauss.resize(np);
          t.first.resize(f.needs_first ? np : 0);
          t.meta_rows.resize(np);
          for (std::size_t k = 0; k < np; ++k) t.gauss[k] = G[j * n + t.rows[k]];
          for (std::size_t k = 0; k < t.first.size(); ++k) t.first[k] = F[j * n + t.rows[k]];
          for (std::size_t k = 0; k < np; ++k) t.meta_rows[k] = mr[t.rows[k]];
          gauss = t.gauss;
          first = t.first;
          if (rebuilt) {
            xcorr[r * m + j] =
                pearson(gauss, ws.gauss_centered[j], t.meta_rows, Centered::of(t.meta_rows));
          }
        } else if (rebuilt) {
          xcorr[r * m + j] = pearson(gauss, ws.gauss_centered[j], mr, meta_centered);
        }
        if (!ws.scorable[j]) continue;
        t.out.assign(f.meta[r].size(), kNaN);
        std::unique_ptr<EraContext> own;
        if (!f.meta[r].empty()) {
          const GivenRanks ranks{{}, first, gauss, {}};
          if (np < n) {
            own = std::make_unique<EraContext>(era, t.rows, meta_needs[r], options_.target,
                                               options_.benchmark, nullptr, Factorizer{},
                                               table_of(np));
          }
          // The ranks are all the meta-model's formulas read of a column (its values only for
          // a subset's sort, which they give).
          score_model(own ? *own : *rule_ctx, {}, f.meta[r], t.out, t.model, nullptr, &ranks);
        }
        // Where a rule's names and the plan's built-in inputs find their scores.
        auto score_of = [&](const SimFormulas::Source& src) {
          switch (src.kind) {
            case SimFormulas::Source::shared:
              return ws.shared_scores[j * S + src.index];
            case SimFormulas::Source::meta:
              return t.out[src.index];
            case SimFormulas::Source::defined:
              return t.plan_out[src.index];
            case SimFormulas::Source::portfolio:
              return ws.portfolio_index[j] >= 0
                         ? ws.mpc_scores[static_cast<std::size_t>(ws.portfolio_index[j])]
                         : kNaN;
          }
          return kNaN;
        };
        if (f.uses_plan[r]) {
          const lang::Plan& plan = *options_.plan;
          t.plan_in.resize(plan.builtins.size());
          t.plan_out.assign(plan.formulas.size(), kNaN);
          for (std::size_t k = 0; k < plan.builtins.size(); ++k) {
            t.plan_in[k] = score_of(f.plan_inputs[r][k]);
          }
          if (!t.evaluator) t.evaluator = std::make_unique<lang::ModelEvaluator>(plan);
          std::optional<lang::EraStages> own_stages;
          if (np < n) own_stages.emplace(plan, era, t.rows, rule_stages.get());
          t.evaluator->evaluate(own_stages ? *own_stages : *rule_stages, t.values, t.plan_in,
                                t.plan_out);
        }
        const std::vector<SimFormulas::Source>& sources = f.sources[r];
        std::vector<double>& inputs = t.rule_inputs;
        inputs.resize(sources.size());
        for (std::size_t k = 0; k < sources.size(); ++k) inputs[k] = score_of(sources[k]);
        const double p = rule.rule.eval(inputs, pf[r]);
        payouts[j] = std::isfinite(p) ? p : 0.0;
      } catch (...) {
        error.capture(j);
      }
    }
    error.rethrow();
    lap(stats.rule_scores);
  }

  // 7. The era's quantities, and its payouts in flight (they resolve `lag` eras from now).
  void finish() {
    const std::vector<double>& xcorr = ws.xcorr;
    for (std::size_t r = 0; r < R; ++r) {
      double* q = out.quantities.data() + r * kSimQuantityCount;
      const std::span<const double> wr(w.data() + r * m, m);
      double sum_w2 = 0, paid = 0, xc_num = 0, xc_den = 0;
      for (std::size_t j = 0; j < m; ++j) {
        sum_w2 += wr[j] * wr[j];
        const double amount = wr[j] * out.payouts[r * m + j];
        paid += amount;
        const double x = xcorr[r * m + j];
        if (std::isfinite(x)) {
          xc_num += wr[j] * x;
          xc_den += wr[j];
        }
        state.pending[(r * L + slot) * M + static_cast<std::size_t>(era.models[j])] += amount;
      }
      q[sim_quantity_index("effective_models")] = total[r] > 0 ? total[r] * total[r] / sum_w2 : 0;
      q[sim_quantity_index("gini")] = gini({wr.begin(), wr.end()}, total[r]);
      q[sim_quantity_index("mean_xcorr")] = xc_den > 0 ? xc_num / xc_den : kNaN;
      q[sim_quantity_index("paid")] = paid;
      q[sim_quantity_index("mean_payout")] = total[r] > 0 ? paid / total[r] : kNaN;
    }
    if (T > R) {  // the observed payouts in flight, on the store's stakes
      for (std::size_t j = 0; j < m; ++j) {
        state.pending_observed[slot * M + static_cast<std::size_t>(era.models[j])] +=
            era.stakes[j] * ws.observed_payouts[j];
      }
    }
    if (options_.keep_meta_models) out.meta_models = ws.meta;
    state.next_era = out.era + 1;
    ++state.simulated;
    ++stats.eras;
  }

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
  std::vector<double> w, total, pf;  // stakes at risk (T x m), their sums, payout factors
  std::vector<double> stored_meta;   // the store's meta-model while the rules' are swapped in
  bool want_powered = false;         // a shared formula reads gauss^1.5
  bool shared_reads_values = false;  // a shared formula reads the predictions themselves
  ModelScratch mm_scratch;           // the meta-models' own scores
  std::chrono::steady_clock::time_point lap_start = std::chrono::steady_clock::now();
};

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
  stats.seconds = seconds_since(start);
  return stats;
}

}  // namespace backscore
