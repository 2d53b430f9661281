// A simulated era's first steps (sim_era_pass.hpp): the stakes at risk, the era's shared stages and
// pass A, each column ranked once and scored by the formulas every rule shares.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <future>
#include <limits>
#include <memory>
#include <optional>

#include "core/parallel_errors.hpp"
#include "host/era/formulas_signals.hpp"
#include "host/era/rank.hpp"
#include "host/lang/select.hpp"
#include "host/run/sim_era_pass.hpp"

namespace backscore {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

// 1. Payouts resolving now join the stakes; 2. newcomers start from their observed stake,
// returning models move by the observed flows (--flows observed). Then the stakes at risk.
void EraPass::settle_stakes() {
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
void EraPass::prepare() {
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
  // With a device: the complete columns are its (in column order), gathered into one block
  // unless every column is complete.
  ws.on_device.assign(m, 0);
  ws.device_row.assign(m, SIZE_MAX);
  device_models = 0;
  if (dev != nullptr && n > 0) {
    for (std::size_t j = 0; j < m; ++j) {
      if (ws.present[j] == n) {
        ws.on_device[j] = 1;
        ws.device_row[j] = device_models++;
      }
    }
    device_block = predictions;
    if (device_models > 0 && device_models < m) {
      ws.device_block.resize(device_models * n);
      for (std::size_t j = 0; j < m; ++j) {
        if (ws.on_device[j]) {
          std::copy_n(predictions.data() + j * n, n, ws.device_block.data() + ws.device_row[j] * n);
        }
      }
      device_block = ws.device_block;
    }
    device_block = device_block.first(device_models * n);
  }
}

// Pass A of the device's columns: their shared built-ins on the device, and their rows of every
// rebuilt rule's meta-model sums (weights as rebuild_meta_models takes them).
void EraPass::score_shared_on_device() {
  const std::size_t k = device_models, Sd = split.shared_device.size();
  dev->begin_era(era, *base);
  ws.device_weights.assign(k * R, 0.0);
  for (std::size_t j = 0; j < m; ++j) {
    if (!ws.on_device[j]) continue;
    for (std::size_t r = 0; r < R; ++r) {
      const double weight = total[r] > 0 ? w[r * m + j] : 1.0;
      ws.device_weights[r * k + ws.device_row[j]] = weight > 0 ? weight : 0.0;
    }
  }
  ws.device_scores.assign(k * Sd, kNaN);
  ws.device_sums.assign(R * n, 0.0);
  dev->score_shared(device_block, k, ws.device_weights, ws.device_scores, ws.device_sums);
  for (std::size_t j = 0; j < m; ++j) {
    if (!ws.on_device[j]) continue;
    for (std::size_t i = 0; i < Sd; ++i) {
      ws.shared_scores[j * S + split.shared_device[i]] =
          ws.device_scores[ws.device_row[j] * Sd + i];
    }
  }
  stats.device_model_eras += k;
}

// A device column's pass A on the CPU: mpc's portfolio weights and the shared built-ins the
// device does not compute, from its values (ranked here when one of those needs its ranks).
void EraPass::score_shared_beside_device(std::size_t j, SimScratch& t) {
  if (options_.before_column) options_.before_column(static_cast<std::size_t>(out.era), j);
  ws.scorable[j] = enough_ids(n, n) ? 1 : 0;
  const std::vector<FormulaSpec>& specs = split.shared_cpu_specs;
  if (!f.needs_portfolio && specs.empty()) return;
  gather(j, t);
  if (f.needs_portfolio) {
    const auto k = static_cast<std::size_t>(ws.portfolio_index[j]);
    ws.portfolio_ok[k] =
        signals::portfolio_weights(*base, t.values, {ws.portfolio.data() + k * n, n}, t.model);
  }
  if (specs.empty() || !ws.scorable[j]) return;
  t.out.assign(specs.size(), kNaN);
  score_model(*base, t.values, specs, t.out, t.model);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    ws.shared_scores[j * S + split.shared_cpu[i]] = t.out[i];
  }
}

// 3. Pass A: each column ranked once, its gaussianized ranks kept for the meta-models (0 on
// its missing ids) and its shared formulas scored.
void EraPass::rank_and_score_shared() {
  // Every CPU column's rows written below (its missing ids 0); a device column's rows are not
  // (nothing reads them: the meta-model sums and pass B take the device's).
  ws.G.resize(m * n);
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
  // The device's share runs on its own thread while the CPU ranks and scores the others.
  std::future<void> on_device;
  if (device_models > 0) {
    on_device = std::async(std::launch::async, [this] { score_shared_on_device(); });
  }
  const WaitOnExit wait{on_device};
  if (dev != nullptr || base == nullptr || !base->has_features()) {
    // No fnc on the CPU: each column ranked and scored at once (its ranks still in cache), the
    // thread's own slot of the rank buffers. (With a device, fnc's complete columns are the
    // device's; the others project on their own subsets.)
    ws.order.resize(static_cast<std::size_t>(threads) * n);
    ws.powered.resize(want_powered ? static_cast<std::size_t>(threads) * n : 0);
    ws.fnc_slot.assign(static_cast<std::size_t>(threads), SIZE_MAX);
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4) reduction(+ : skipped, subset)
    for (std::ptrdiff_t jj = 0; jj < mm; ++jj) {
      const auto j = static_cast<std::size_t>(jj);
      try {
        const auto slot_of_thread = static_cast<std::size_t>(omp_get_thread_num());
        SimScratch& t = ws.scratch[slot_of_thread];
        if (ws.on_device[j]) {
          score_shared_beside_device(j, t);
        } else {
          rank_column(j, slot_of_thread, t);
          if (ws.scorable[j]) score_shared(j, slot_of_thread, t);
        }
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
  if (on_device.valid()) on_device.get();  // the device's error, if it had one
  stats.skipped += skipped;
  stats.subset_models += subset;
  stats.model_eras += m;
  stats.predictions += m * n;
}

// Column j's ranks: its gaussianized tie-kept ranks into G (0 on its missing ids) and centered,
// its tie-broken ones into F when a rule reads mmc2, its stable order and gauss^1.5 (present
// rows, in row order) into the chunk's slot `at`.
void EraPass::rank_column(std::size_t j, std::size_t at, SimScratch& t) {
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
void EraPass::neutralize_complete_columns(std::size_t c0, std::size_t c1) {
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
void EraPass::score_shared(std::size_t j, std::size_t at, SimScratch& t) {
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
    own = std::make_unique<EraContext>(era, t.rows, base_needs, options_.target, options_.benchmark,
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

}  // namespace backscore
