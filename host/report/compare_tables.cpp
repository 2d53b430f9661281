// The tables of `backscore compare` (see compare_tables.hpp).
#include "host/report/compare_tables.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace backscore {
namespace {

std::string rank_text(std::size_t rank) { return rank ? std::to_string(rank) : std::string(); }

const std::vector<std::string> kPayoutHeader{"model",  "staked_eras",  "baseline",     "candidate",
                                             "change", "baseline_nan", "candidate_nan"};

std::vector<std::string> payout_row(const std::string& name, const ModelPayout& p, bool csv) {
  auto num = [&](double v) { return csv ? csv_number(v) : fixed(v, 4); };
  return {name,
          std::to_string(p.staked_eras),
          num(p.baseline),
          num(p.candidate),
          num(p.candidate - p.baseline),
          std::to_string(p.baseline_nan),
          std::to_string(p.candidate_nan)};
}

}  // namespace

std::vector<std::size_t> listed_models(const CompareResult& r) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < r.base_stats.size(); ++i) {
    if (r.base_stats[i].n_eras > 0 || r.cand_stats[i].n_eras > 0) order.push_back(i);
  }
  auto rank_key = [](std::size_t rank) { return rank == 0 ? SIZE_MAX : rank; };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    return rank_key(r.base_rank[x]) < rank_key(r.base_rank[y]);
  });
  return order;
}

namespace {

// The diagnostics of model i under the baseline (0) or the candidate (1): autocorr, smart
// Sharpe, Calmar, APY (NaN: none, or no payouts).
struct Diagnostics {
  double autocorr, smart_sharpe, calmar, apy;
};
Diagnostics diagnostics_of(const CompareResult& r, std::size_t i, int which, double per_year) {
  const ModelStats& s = which == 0 ? r.base_stats[i] : r.cand_stats[i];
  double apy = std::nan("");
  if (r.payouts) {
    const ModelPayout& p = (*r.payouts)[i];
    apy = annualized_return(which == 0 ? p.baseline_growth : p.candidate_growth, p.staked_eras,
                            per_year);
  }
  return {s.autocorr, s.smart_sharpe, calmar_ratio(s.mean, s.max_drawdown, per_year), apy};
}

// A per-model extra's cell: "-" (terminal) or "" (CSV) when not available.
std::string extra_cell(const std::vector<double>& v, std::size_t i, bool csv, int decimals) {
  if (v.empty()) return csv ? "" : "-";
  return csv ? csv_number(v[i]) : fixed(v[i], decimals);
}

}  // namespace

Table model_stats_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed, bool csv, const ModelExtras& x) {
  Table t{{"model"}, {}};
  for (const std::string* f : {&r.baseline, &r.candidate}) {
    if (csv) {
      for (const char* col : {"eras", "mean", "std", "sharpe", "max_drawdown", "autocorr",
                              "smart_sharpe", "calmar", "apy"}) {
        t.header.push_back(*f + "_" + col);
      }
    } else {
      for (const char* col : {"eras", "mean", "std", "sharpe", "max_dd"}) {
        t.header.push_back(std::string(f == &r.baseline ? "b_" : "c_") + col);
      }
    }
  }
  if (csv) t.header.insert(t.header.end(), {"max_feature_exposure", "churn"});
  for (std::size_t i : listed) {
    std::vector<std::string> row{models[i]};
    for (int which = 0; which < 2; ++which) {
      const ModelStats* s = which == 0 ? &r.base_stats[i] : &r.cand_stats[i];
      if (csv) {
        const Diagnostics d = diagnostics_of(r, i, which, x.eras_per_year);
        row.insert(row.end(),
                   {std::to_string(s->n_eras), csv_number(s->mean), csv_number(s->std),
                    csv_number(s->sharpe), csv_number(s->max_drawdown), csv_number(d.autocorr),
                    csv_number(d.smart_sharpe), csv_number(d.calmar), csv_number(d.apy)});
      } else {
        row.insert(row.end(), {std::to_string(s->n_eras), fixed(s->mean, 5), fixed(s->std, 5),
                               fixed(s->sharpe, 3), fixed(s->max_drawdown, 4)});
      }
    }
    if (csv) {
      row.push_back(extra_cell(x.max_feature_exposure, i, true, 4));
      row.push_back(extra_cell(x.churn, i, true, 4));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table diagnostics_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed, const ModelExtras& x) {
  Table t{{"model", "b_ac1", "b_smart", "b_calmar", "b_apy", "c_ac1", "c_smart", "c_calmar",
           "c_apy", "max_fe", "churn"},
          {}};
  for (std::size_t i : listed) {
    std::vector<std::string> row{models[i]};
    for (int which = 0; which < 2; ++which) {
      const Diagnostics d = diagnostics_of(r, i, which, x.eras_per_year);
      row.insert(row.end(), {fixed(d.autocorr, 3), fixed(d.smart_sharpe, 3), fixed(d.calmar, 3),
                             r.payouts ? fixed(d.apy, 4) : "-"});
    }
    row.push_back(extra_cell(x.max_feature_exposure, i, false, 4));
    row.push_back(extra_cell(x.churn, i, false, 4));
    t.rows.push_back(std::move(row));
  }
  return t;
}

Table era_agreement_summary(const CompareResult& r) {
  const Distribution& d = r.era_spearman_dist;
  return Table{{"", "mean", "min", "q1", "median", "q3", "max"},
               {{"per era", fixed(d.mean, 4), fixed(d.min, 4), fixed(d.q1, 4), fixed(d.median, 4),
                 fixed(d.q3, 4), fixed(d.max, 4)}}};
}

Table era_agreement_table(const CompareResult& r, const std::vector<std::string>& eras) {
  Table t{{"era", "models", "spearman"}, {}};
  for (std::size_t j = 0; j < eras.size(); ++j) {
    t.rows.push_back({eras[j], std::to_string(r.era_pairs[j]), csv_number(r.era_spearman[j])});
  }
  return t;
}

Table movers_table(const CompareResult& r, const std::vector<std::string>& models, bool up,
                   std::size_t top) {
  Table t{{"model", "base_rank", "cand_rank", "move", "base_mean", "cand_mean"}, {}};
  for (const Mover& m : movers(r, up, top)) {
    t.rows.push_back({models[m.model], rank_text(r.base_rank[m.model]),
                      rank_text(r.cand_rank[m.model]),
                      (m.move > 0 ? "+" : "") + std::to_string(m.move),
                      fixed(r.base_stats[m.model].mean, 5), fixed(r.cand_stats[m.model].mean, 5)});
  }
  return t;
}

Table leaderboard_table(const CompareResult& r, const std::vector<std::string>& models,
                        std::span<const std::size_t> listed) {
  Table t{{"model", "baseline_rank", "candidate_rank", "move", "baseline_mean", "candidate_mean"},
          {}};
  for (std::size_t i : listed) {
    const bool both = r.base_rank[i] && r.cand_rank[i];
    const long move = static_cast<long>(r.base_rank[i]) - static_cast<long>(r.cand_rank[i]);
    t.rows.push_back({models[i], rank_text(r.base_rank[i]), rank_text(r.cand_rank[i]),
                      both ? std::to_string(move) : std::string(), csv_number(r.base_stats[i].mean),
                      csv_number(r.cand_stats[i].mean)});
  }
  return t;
}

Table payout_changes_table(const CompareResult& r, const std::vector<std::string>& models) {
  const std::vector<ModelPayout>& per = *r.payouts;
  std::vector<std::size_t> by_change;
  for (std::size_t i = 0; i < per.size(); ++i) {
    if (per[i].staked_eras > 0) by_change.push_back(i);
  }
  std::stable_sort(by_change.begin(), by_change.end(), [&](std::size_t x, std::size_t y) {
    return std::fabs(per[x].candidate - per[x].baseline) >
           std::fabs(per[y].candidate - per[y].baseline);
  });
  Table t{kPayoutHeader, {}};
  for (std::size_t i : by_change) t.rows.push_back(payout_row(models[i], per[i], false));
  return t;
}

Table payout_total_table(const CompareResult& r) {
  return Table{kPayoutHeader, {payout_row("TOTAL", r.payout_total, false)}};
}

Table payout_table(const CompareResult& r, const std::vector<std::string>& models,
                   std::span<const std::size_t> listed) {
  const std::vector<ModelPayout>& per = *r.payouts;
  Table t{kPayoutHeader, {}};
  for (std::size_t i : listed) {
    if (per[i].staked_eras > 0) t.rows.push_back(payout_row(models[i], per[i], true));
  }
  t.rows.push_back(payout_row("TOTAL", r.payout_total, true));
  return t;
}

}  // namespace backscore
