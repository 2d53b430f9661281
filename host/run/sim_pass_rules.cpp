// A simulated era's last steps (sim_era_pass.hpp): every rule's meta-model from pass A's ranks,
// pass B (each column against each rule's meta-model, its payout) and the era's quantities.
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

// 4. Each rule's meta-model: the stake-weighted mean of the gaussianized ranks (every model
// the same weight when nobody is staked), summed in column order for every row (with a device,
// its columns' sums first, then the CPU's columns in column order).
void EraPass::rebuild_meta_models() {
  const std::vector<double>& G = ws.G;
  std::vector<double>& meta = ws.meta;
  if (device_models > 0) {
    meta = ws.device_sums;  // the device's columns' sums; the CPU adds the others'
  } else {
    meta.assign(R * n, 0.0);
  }
  if (m > 0) {
    constexpr std::size_t kRowBlock = 512;
    const auto blocks = static_cast<std::ptrdiff_t>((n + kRowBlock - 1) / kRowBlock);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (std::ptrdiff_t b = 0; b < blocks; ++b) {
      const std::size_t i0 = static_cast<std::size_t>(b) * kRowBlock;
      const std::size_t i1 = std::min(n, i0 + kRowBlock);
      for (std::size_t j = 0; j < m; ++j) {
        if (ws.on_device[j]) continue;
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
void EraPass::score_rules() {
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

void EraPass::score_rule(std::size_t r) {
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
  const bool on_device = device_models > 0 && (rebuilt || !split.meta_device[r].empty());
  std::unique_ptr<EraContext> rule_ctx;
  if (!f.meta[r].empty() || on_device) {
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

  // Column j against the rule: its meta-model formulas (from pass A's ranks, or the device's),
  // its xcorr, the plan's definitions, its payout.
  auto score_column = [&](std::size_t j, SimScratch& t) {
    const std::size_t np = ws.present[j];
    if (np == 0) return;
    if (ws.on_device[j]) {
      score_beside_device(j, r, rule_ctx.get(), t);
    } else {
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
      if (!ws.scorable[j]) return;
      t.out.assign(f.meta[r].size(), kNaN);
      std::unique_ptr<EraContext> own;
      if (!f.meta[r].empty()) {
        const GivenRanks ranks{{}, first, gauss, {}};
        if (np < n) {
          own =
              std::make_unique<EraContext>(era, t.rows, meta_needs[r], options_.target,
                                           options_.benchmark, nullptr, Factorizer{}, table_of(np));
        }
        // The ranks are all the meta-model's formulas read of a column (its values only for
        // a subset's sort, which they give).
        score_model(own ? *own : *rule_ctx, {}, f.meta[r], t.out, t.model, nullptr, &ranks);
      }
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
  };
  // The device's columns on the device (its thread) while the CPU scores the others, then the
  // device's columns' payouts.
  std::future<void> device_pass;
  if (on_device) {
    device_pass = std::async(std::launch::async, [&] { score_track_on_device(r, *rule_ctx); });
  }
  const WaitOnExit wait{device_pass};
  for (const bool device_columns : {false, true}) {
    if (device_columns && device_pass.valid()) device_pass.get();
#pragma omp parallel for num_threads(threads) schedule(dynamic, 4)
    for (std::ptrdiff_t jj = 0; jj < mm; ++jj) {
      const auto j = static_cast<std::size_t>(jj);
      if ((ws.on_device[j] != 0) != device_columns) continue;
      try {
        score_column(j, ws.scratch[static_cast<std::size_t>(omp_get_thread_num())]);
      } catch (...) {
        error.capture(j);
      }
    }
    error.rethrow();
  }
  lap(stats.rule_scores);
}

// 7. The era's quantities, and its payouts in flight (they resolve `lag` eras from now).
void EraPass::finish() {
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

// Pass B of the device's columns against track r's meta-model, on the device: its built-ins
// there, and (a rebuilt rule) each column's xcorr.
void EraPass::score_track_on_device(std::size_t r, const EraContext& ctx) {
  const std::size_t k = device_models, Gr = split.meta_device[r].size();
  dev->begin_track(r, era, ctx);
  ws.device_track_scores.assign(k * Gr, kNaN);
  ws.device_xcorr.assign(r < R ? k : 0, kNaN);
  dev->score_track(r, device_block, k, ws.device_track_scores, ws.device_xcorr);
}

// A device column's meta-model formulas for track r into t.out: the device's, and those it does
// not compute from the column's values on the CPU; its xcorr from the device. Gathers its values
// when the CPU's formulas or the plan read them.
void EraPass::score_beside_device(std::size_t j, std::size_t r, const EraContext* ctx,
                                  SimScratch& t) {
  const std::size_t row = ws.device_row[j];
  const std::vector<std::size_t>& on_gpu = split.meta_device[r];
  const std::vector<FormulaSpec>& cpu_specs = split.meta_cpu_specs[r];
  if (r < R) ws.xcorr[r * m + j] = ws.device_xcorr[row];
  if (f.uses_plan[r] || !cpu_specs.empty()) gather(j, t);
  t.out.assign(f.meta[r].size(), kNaN);
  for (std::size_t i = 0; i < on_gpu.size(); ++i) {
    t.out[on_gpu[i]] = ws.device_track_scores[row * on_gpu.size() + i];
  }
  if (cpu_specs.empty() || !ws.scorable[j]) return;
  t.beside.assign(cpu_specs.size(), kNaN);
  score_model(*ctx, t.values, cpu_specs, t.beside, t.model);
  for (std::size_t i = 0; i < cpu_specs.size(); ++i) t.out[split.meta_cpu[r][i]] = t.beside[i];
}

}  // namespace backscore
