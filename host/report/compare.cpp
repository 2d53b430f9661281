// Statistics, agreement, leaderboard and payouts of `backscore compare` (see compare.hpp).
#include "host/report/compare.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include "core/error.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "host/report/diagnostics.hpp"
#include "io/csv.hpp"

namespace backscore {

std::string formula_list(const ScoresFileReader& file) {
  std::string s;
  for (const std::string& name : file.formulas()) s += (s.empty() ? "" : ", ") + name;
  return s;
}

ScoreMatrix load_scores(const ScoresFileReader& file, const std::string& formula,
                        const std::string& option) {
  if (!file.has_formula(formula)) {
    throw OptionError::about(option, file.path().string() + " has no formula '" + formula +
                                         "' (it has: " + formula_list(file) + ")");
  }
  return ScoreMatrix{formula, file.models().size(), file.eras().size(), file.read_matrix(formula)};
}

ModelStats model_stats(std::span<const double> scores) {
  const std::vector<double> finite = finite_values(scores);
  ModelStats s;
  s.n_eras = finite.size();
  if (finite.empty()) return s;
  s.mean = mean(finite);
  s.std = std_population(finite);
  s.sharpe = s.std > 0 ? s.mean / s.std : std::nan("");
  double cum = 0, peak = 0, dd = 0;
  for (double v : finite) {
    cum += v;
    peak = std::max(peak, cum);
    dd = std::max(dd, peak - cum);
  }
  s.max_drawdown = dd;
  s.autocorr = autocorrelation_lag1(finite);
  s.smart_sharpe = smart_sharpe(finite);
  return s;
}

double spearman(std::span<const double> x, std::span<const double> y, RankWork& w) {
  if (x.size() != y.size()) throw std::invalid_argument("spearman: sizes differ");
  w.a.clear();
  w.b.clear();
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isfinite(x[i]) && std::isfinite(y[i])) {
      w.a.push_back(x[i]);
      w.b.push_back(y[i]);
    }
  }
  const std::size_t n = w.a.size();
  if (n < 2) return std::nan("");
  w.order.resize(n);
  w.ra.resize(n);
  w.rb.resize(n);
  w.sorter.sort(w.a, w.order);
  tie_kept_percentiles(w.a, w.order, w.ra);
  w.sorter.sort(w.b, w.order);
  tie_kept_percentiles(w.b, w.order, w.rb);
  return pearson(w.ra, w.rb);
}

double spearman(std::span<const double> x, std::span<const double> y) {
  RankWork w;
  return spearman(x, y, w);
}

Distribution distribution(std::span<const double> values) {
  std::vector<double> v = finite_values(values);
  Distribution d;
  d.n = v.size();
  if (v.empty()) return d;
  std::sort(v.begin(), v.end());
  auto quantile = [&](double q) {  // numpy's "linear": position q * (n - 1)
    const double pos = q * static_cast<double>(v.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
  };
  d.mean = mean(v);
  d.min = v.front();
  d.q1 = quantile(0.25);
  d.median = quantile(0.5);
  d.q3 = quantile(0.75);
  d.max = v.back();
  return d;
}

namespace {

std::vector<std::size_t> ranks_by_mean(const std::vector<ModelStats>& stats) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    if (stats[i].n_eras > 0) idx.push_back(i);
  }
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return stats[a].mean > stats[b].mean; });
  std::vector<std::size_t> rank(stats.size(), 0);
  for (std::size_t k = 0; k < idx.size(); ++k) rank[idx[k]] = k + 1;
  return rank;
}

}  // namespace

CompareResult compare(const ScoreMatrix& base, const ScoreMatrix& cand, const PayoutInput* payout) {
  if (base.n_models != cand.n_models || base.n_eras != cand.n_eras) {
    throw std::invalid_argument("compare: matrices differ in shape");
  }
  const std::size_t M = base.n_models, E = base.n_eras;
  CompareResult r;
  r.baseline = base.formula;
  r.candidate = cand.formula;
  for (std::size_t i = 0; i < M; ++i) {
    r.base_stats.push_back(model_stats(base.row(i)));
    r.cand_stats.push_back(model_stats(cand.row(i)));
  }
  std::vector<double> x(M), y(M);
  RankWork work;
  for (std::size_t j = 0; j < E; ++j) {
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < M; ++i) {
      x[i] = base.at(i, j);
      y[i] = cand.at(i, j);
      pairs += std::isfinite(x[i]) && std::isfinite(y[i]);
    }
    r.era_pairs.push_back(pairs);
    r.era_spearman.push_back(spearman(x, y, work));
  }
  r.era_spearman_dist = distribution(r.era_spearman);
  for (std::size_t k = 0; k < M * E; ++k) {
    r.overall_pairs += std::isfinite(base.values[k]) && std::isfinite(cand.values[k]);
  }
  r.overall_spearman = spearman(base.values, cand.values, work);
  r.base_rank = ranks_by_mean(r.base_stats);
  r.cand_rank = ranks_by_mean(r.cand_stats);

  if (payout) {
    const std::vector<std::string>& names = payout->rule.names();
    if (payout->baseline_scores.size() != names.size() || payout->stakes.size() != M * E ||
        (payout->rule.uses_payout_factor() && payout->payout_factor.size() != E)) {
      throw std::invalid_argument("compare: payout inputs do not match the rule or the shape");
    }
    std::vector<const ScoreMatrix*> cand_scores = payout->baseline_scores;
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (names[k] == base.formula) {
        cand_scores[k] = &cand;
        r.rule_names_baseline = true;
      }
    }
    std::vector<ModelPayout> per(M);
    std::vector<double> values(names.size());
    // Pays stake x rule value; a NaN operand (or a NaN result) pays 0 and is counted. The unit
    // stake's growth compounds the value (0 for NaN), and stays 0 once it is all lost.
    auto pay = [&](const std::vector<const ScoreMatrix*>& scores, std::size_t i, std::size_t j,
                   double stake, double& total, std::size_t& nan_count, double& growth) {
      bool nan = false;
      for (std::size_t k = 0; k < scores.size(); ++k) {
        values[k] = scores[k]->at(i, j);
        nan = nan || std::isnan(values[k]);
      }
      const double pf = payout->payout_factor.empty() ? std::nan("") : payout->payout_factor[j];
      const double v = nan ? std::nan("") : payout->rule.eval(values, pf);
      if (std::isnan(v)) {
        ++nan_count;
      } else {
        total += stake * v;
        growth = std::max(0.0, growth * (1 + v));
      }
    };
    for (std::size_t i = 0; i < M; ++i) {
      ModelPayout& p = per[i];
      for (std::size_t j = 0; j < E; ++j) {
        const double stake = payout->stakes[i * E + j];
        if (std::isnan(stake)) continue;
        ++p.staked_eras;
        pay(payout->baseline_scores, i, j, stake, p.baseline, p.baseline_nan, p.baseline_growth);
        pay(cand_scores, i, j, stake, p.candidate, p.candidate_nan, p.candidate_growth);
      }
      r.payout_total.staked_eras += p.staked_eras;
      r.payout_total.baseline += p.baseline;
      r.payout_total.candidate += p.candidate;
      r.payout_total.baseline_nan += p.baseline_nan;
      r.payout_total.candidate_nan += p.candidate_nan;
    }
    r.payouts = std::move(per);
  }
  return r;
}

std::vector<Mover> movers(const CompareResult& r, bool up, std::size_t top) {
  std::vector<Mover> all;
  for (std::size_t i = 0; i < r.base_rank.size(); ++i) {
    if (r.base_rank[i] == 0 || r.cand_rank[i] == 0) continue;
    const long move = static_cast<long>(r.base_rank[i]) - static_cast<long>(r.cand_rank[i]);
    if (up ? move > 0 : move < 0) all.push_back({i, move});
  }
  std::stable_sort(all.begin(), all.end(), [&](const Mover& a, const Mover& b) {
    return up ? a.move > b.move : a.move < b.move;
  });
  if (all.size() > top) all.resize(top);
  return all;
}

std::string csv_number(double v) {
  std::string s;
  append_csv_number(s, v);
  return s;
}

std::string fixed(double v, int decimals) {
  if (std::isnan(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

namespace {

bool is_number_cell(const std::string& cell) {
  if (cell.empty() || cell == "nan" || cell == "-") return true;
  const char* begin = cell.c_str();
  char* end = nullptr;
  std::strtod(begin, &end);
  return end != begin && *end == '\0';
}

}  // namespace

void Table::print(std::FILE* out, std::size_t max_rows) const {
  const std::size_t shown = std::min(max_rows, rows.size());
  std::vector<std::size_t> width(header.size(), 0);
  std::vector<char> numeric(header.size(), 1);
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (std::size_t r = 0; r < shown; ++r) {
    for (std::size_t c = 0; c < rows[r].size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], rows[r][c].size());
      if (!is_number_cell(rows[r][c])) numeric[c] = 0;
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t c = 0; c < width.size(); ++c) {
      const std::string& cell = c < cells.size() ? cells[c] : std::string();
      const std::string pad(width[c] - std::min(width[c], cell.size()), ' ');
      if (c > 0) s += "  ";
      s += numeric[c] && c > 0 ? pad + cell : cell + pad;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::fprintf(out, "%s\n", s.c_str());
  };
  line(header);
  for (std::size_t r = 0; r < shown; ++r) line(rows[r]);
  if (shown < rows.size()) std::fprintf(out, "... %zu more rows\n", rows.size() - shown);
}

void Table::write_csv(const std::filesystem::path& path) const {
  // RFC 4180 through the one CSV writer (io/csv.hpp), so the program's reader reads it back.
  std::string text;
  append_csv_record(text, header);
  for (const auto& row : rows) append_csv_record(text, row);
  write_file_atomically(path, text);
}

std::vector<double> read_stakes(StoreReader& store, const ScoresFileReader& f,
                                std::vector<double>* era_totals) {
  if (!store.schema().has_stakes) {
    throw InputError(store.path().string() + ": the store has no stakes (payouts need them)");
  }
  std::unordered_map<std::string, std::size_t> era_of, row_of;
  for (std::size_t e = 0; e < store.eras().size(); ++e) era_of.emplace(store.eras()[e], e);
  for (std::size_t i = 0; i < f.models().size(); ++i) row_of.emplace(f.models()[i], i);
  const std::size_t E = f.eras().size();
  std::vector<double> stakes(f.models().size() * E, std::nan(""));
  if (era_totals) era_totals->assign(E, 0.0);
  for (std::size_t j = 0; j < E; ++j) {
    auto it = era_of.find(f.eras()[j]);
    if (it == era_of.end()) {
      throw InputError(f.path().string() + ": era '" + f.eras()[j] + "' is not in the store " +
                       store.path().string());
    }
    const Era era = store.read_era(it->second);
    for (std::size_t c = 0; c < era.n_submitted(); ++c) {
      const std::string& name = store.schema().models[static_cast<std::size_t>(era.models[c])];
      if (auto r = row_of.find(name); r != row_of.end()) stakes[r->second * E + j] = era.stakes[c];
    }
    if (era_totals) (*era_totals)[j] = pairwise_sum(era.stakes);
  }
  return stakes;
}

}  // namespace backscore
