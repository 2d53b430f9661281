// The incentive-property audit (see audit.hpp for exactly what is counted).
#include "host/report/audit.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <unordered_map>

#include "core/error.hpp"
#include "core/parallel_errors.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"

namespace backscore {

std::size_t AuditQuantities::burn_eras() const {
  std::size_t n = 0;
  for (std::size_t j = 0; j < meta_corr.size(); ++j) n += burn(j);
  return n;
}

double t_quantile_975(double df) {
  static const double kTable[30] = {
      12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
      2.364624252,  2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
      2.160368656,  2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
      2.093024054,  2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
      2.059538553,  2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456};
  if (!(df >= 1)) return std::nan("");
  if (df <= 30 && df == std::floor(df)) return kTable[static_cast<int>(df) - 1];
  const double z = 1.959963984540054;
  const double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
  const double g1 = (z3 + z) / 4;
  const double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
  const double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
  const double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
  return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

void EraFixedEffectsOls::add_era(std::span<const AuditObservation> obs) {
  if (obs.size() < 2) return;
  const double n = static_cast<double>(obs.size());
  double m1 = 0, m2 = 0, my = 0;
  for (const AuditObservation& o : obs) {
    m1 += o.corr;
    m2 += o.xcorr;
    my += o.score;
  }
  m1 /= n, m2 /= n, my /= n;
  Moments m{0, 0, 0, 0, 0, 0};
  for (const AuditObservation& o : obs) {
    const double a = o.corr - m1, b = o.xcorr - m2, y = o.score - my;
    m.s11 += a * a;
    m.s12 += a * b;
    m.s22 += b * b;
    m.s1y += a * y;
    m.s2y += b * y;
    m.syy += y * y;
  }
  eras_.push_back(m);
  n_ += obs.size();
}

EraFixedEffectsOls::Fit EraFixedEffectsOls::fit() const {
  Fit f;
  f.n = n_;
  f.eras = eras_.size();
  double s11 = 0, s12 = 0, s22 = 0, s1y = 0, s2y = 0;
  for (const Moments& m : eras_) {
    s11 += m.s11, s12 += m.s12, s22 += m.s22, s1y += m.s1y, s2y += m.s2y;
  }
  const double det = s11 * s22 - s12 * s12;
  // Collinear (or constant within eras) regressors: the slopes are not identified.
  if (f.eras < 2 || f.n < 4 || !(s11 > 0) || !(s22 > 0) || !(det > 1e-12 * s11 * s22)) return f;
  f.b1 = (s22 * s1y - s12 * s2y) / det;
  f.b2 = (s11 * s2y - s12 * s1y) / det;
  // Meat: sum over eras of s_g s_g^T, s_g = X_g^T y_g - X_g^T X_g b (centered within the era).
  double q11 = 0, q12 = 0, q22 = 0;
  for (const Moments& m : eras_) {
    const double g1 = m.s1y - (m.s11 * f.b1 + m.s12 * f.b2);
    const double g2 = m.s2y - (m.s12 * f.b1 + m.s22 * f.b2);
    q11 += g1 * g1, q12 += g1 * g2, q22 += g2 * g2;
  }
  // A^-1 = [s22, -s12; -s12, s11] / det; V = c A^-1 Q A^-1.
  const double i11 = s22 / det, i12 = -s12 / det, i22 = s11 / det;
  const double G = static_cast<double>(f.eras), N = static_cast<double>(f.n);
  const double c = G / (G - 1) * (N - 1) / (N - 2);
  const double v11 = c * (i11 * (i11 * q11 + i12 * q12) + i12 * (i11 * q12 + i12 * q22));
  const double v22 = c * (i12 * (i12 * q11 + i22 * q12) + i22 * (i12 * q12 + i22 * q22));
  f.se1 = std::sqrt(std::max(0.0, v11));
  f.se2 = std::sqrt(std::max(0.0, v22));
  const double t = t_quantile_975(G - 1);
  f.lo2 = f.b2 - t * f.se2;
  f.hi2 = f.b2 + t * f.se2;
  f.ok = true;
  return f;
}

namespace {

bool worse_first(const Violation& a, const Violation& b) {
  if (a.shortfall != b.shortfall) return a.shortfall > b.shortfall;
  if (a.era != b.era) return a.era < b.era;
  if (a.should.model != b.should.model) return a.should.model < b.should.model;
  return a.other.model < b.other.model;
}

void keep_worst(PairCheck& c, const Violation& v, std::size_t n) {
  if (n == 0) return;
  c.worst.push_back(v);
  if (c.worst.size() >= 4 * n + 16) {  // trim now and then: O(1) amortized per violation
    std::nth_element(c.worst.begin(), c.worst.begin() + static_cast<long>(n) - 1, c.worst.end(),
                     worse_first);
    c.worst.resize(n);
  }
}

void finish_worst(PairCheck& c, std::size_t n) {
  std::sort(c.worst.begin(), c.worst.end(), worse_first);
  if (c.worst.size() > n) c.worst.resize(n);
}

// Every pair within `tol` of each other on `key`; `judge(a, b, should, other)` says whether the
// pair is comparable and which side should score at least as much.
template <class Key, class Judge>
void scan_pairs(std::size_t era, std::vector<AuditObservation>& obs, double tol, Key key,
                Judge judge, std::size_t worst, PairCheck& c) {
  // Sort by key, ties by model: a canonical order whatever the caller's.
  std::sort(obs.begin(), obs.end(), [&](const AuditObservation& a, const AuditObservation& b) {
    return key(a) != key(b) ? key(a) < key(b) : a.model < b.model;
  });
  for (std::size_t i = 0; i < obs.size(); ++i) {
    for (std::size_t k = i + 1; k < obs.size() && key(obs[k]) - key(obs[i]) < tol; ++k) {
      const AuditObservation* should = nullptr;
      const AuditObservation* other = nullptr;
      if (!judge(obs[i], obs[k], should, other)) continue;
      ++c.comparable;
      if (should->score < other->score) {
        ++c.violations;
        keep_worst(c, Violation{era, *should, *other, other->score - should->score}, worst);
      }
    }
  }
}

}  // namespace

void check_era(std::size_t era, std::span<const AuditObservation> in, const AuditOptions& o,
               AuditResult& r) {
  std::vector<AuditObservation> obs(in.begin(), in.end());
  // (a) similar corr: the less meta-model-correlated one should not score lower.
  scan_pairs(
      era, obs, o.corr_tol, [](const AuditObservation& x) { return x.corr; },
      [](const AuditObservation& a, const AuditObservation& b, const AuditObservation*& should,
         const AuditObservation*& other) {
        if (a.xcorr == b.xcorr) return false;
        should = a.xcorr < b.xcorr ? &a : &b;
        other = a.xcorr < b.xcorr ? &b : &a;
        return true;
      },
      o.worst, r.originality);
  // (b) similar xcorr: the better performer relative to the meta-model should not score lower.
  scan_pairs(
      era, obs, o.xcorr_tol, [](const AuditObservation& x) { return x.xcorr; },
      [](const AuditObservation& a, const AuditObservation& b, const AuditObservation*& should,
         const AuditObservation*& other) {
        if (a.corr == b.corr) return false;
        should = a.corr > b.corr ? &a : &b;
        other = a.corr > b.corr ? &b : &a;
        return true;
      },
      o.worst, r.relative);
}

double xcorr_of(std::span<const double> meta_model, std::span<const float> predictions,
                RankWork& w) {
  w.tmp.resize(predictions.size());
  for (std::size_t i = 0; i < predictions.size(); ++i) w.tmp[i] = predictions[i];
  return spearman(meta_model, w.tmp, w);
}

namespace {

struct CorrScratch {  // one per thread
  std::vector<double> pred;
  std::vector<std::uint32_t> rows;
  ModelScratch model;
};

// A model-era's corr as `run` scores it: on the ids the model submitted, with its own stages when
// it missed some, none under numerai-tools' 20% rule. `full` is the era's context on every id.
double model_corr(const Era& era, const EraContext& full, std::span<const float> column,
                  std::span<const FormulaSpec> spec, std::size_t target_index, CorrScratch& t) {
  const std::size_t n = era.n_stocks();
  t.pred.clear();
  t.rows.clear();
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isnan(column[i])) {
      t.pred.push_back(static_cast<double>(column[i]));
      t.rows.push_back(static_cast<std::uint32_t>(i));
    }
  }
  double v = std::nan("");
  if (t.rows.size() == n) {
    score_model(full, t.pred, spec, std::span<double>(&v, 1), t.model);
  } else if (n > 0 && enough_ids(t.rows.size(), n)) {
    const EraContext own(era, t.rows, full.needs(), target_index, 0);
    score_model(own, t.pred, spec, std::span<double>(&v, 1), t.model);
  }
  return v;
}

}  // namespace

AuditQuantities audit_quantities(const ScoresFileReader& scores, StoreReader& store,
                                 const AuditOptions& o, ChurnTracker* churn) {
  const StoreSchema& schema = store.schema();
  if (!schema.has_meta_model) {
    throw InputError(store.path().string() +
                     ": the store has no meta_model (the audit needs it "
                     "for each model's correlation with it and for the burn eras)");
  }
  const std::optional<Builtin> corr_builtin = find_builtin(o.corr_formula);
  if (!corr_builtin || (*corr_builtin != Builtin::corr_v1 && *corr_builtin != Builtin::corr)) {
    throw OptionError::about("corr_formula", "'" + o.corr_formula + "' is not corr_v1 or corr");
  }
  std::string target = scores.attribute("target");
  if (target.empty()) target = "target";
  const auto t_it = std::find(schema.targets.begin(), schema.targets.end(), target);
  if (t_it == schema.targets.end()) {
    throw InputError(store.path().string() + ": no target '" + target + "' (the scores file " +
                     scores.path().string() + " was scored against it)");
  }
  const auto target_index = static_cast<std::size_t>(t_it - schema.targets.begin());

  std::unordered_map<std::string, std::size_t> store_era;
  for (std::size_t e = 0; e < store.eras().size(); ++e) store_era.emplace(store.eras()[e], e);
  std::unordered_map<std::string, std::size_t> score_row;
  for (std::size_t i = 0; i < scores.models().size(); ++i) score_row.emplace(scores.models()[i], i);
  std::vector<std::size_t> row_of(schema.models.size(), SIZE_MAX);
  for (std::size_t g = 0; g < schema.models.size(); ++g) {
    if (auto it = score_row.find(schema.models[g]); it != score_row.end()) row_of[g] = it->second;
  }
  for (const std::string& name : scores.eras()) {
    if (!store_era.count(name)) {
      throw InputError(scores.path().string() + ": era '" + name + "' is not in the store " +
                       store.path().string());
    }
  }

  AuditQuantities q;
  q.corr_formula = o.corr_formula;
  q.n_models = scores.models().size();
  q.n_eras = scores.eras().size();
  q.xcorr.assign(q.n_models * q.n_eras, std::nan(""));
  q.corr_from_store = !scores.has_formula(o.corr_formula);
  q.corr = q.corr_from_store ? ScoreMatrix{o.corr_formula, q.n_models, q.n_eras,
                                           std::vector<double>(q.n_models * q.n_eras, std::nan(""))}
                             : load_scores(scores, o.corr_formula, "corr_formula");
  const FormulaSpec corr_spec{*corr_builtin};
  const std::span<const FormulaSpec> spec(&corr_spec, 1);
  const ContextNeeds needs = ContextNeeds::of(spec);
  ModelScratch scratch;
  const auto threads = static_cast<std::size_t>(omp_get_max_threads());
  std::vector<RankWork> work(threads);
  std::vector<CorrScratch> corr_work(q.corr_from_store ? threads : 0);
  std::vector<float> preds;
  std::vector<std::size_t> rows;
  const std::size_t E = q.n_eras;
  for (std::size_t j = 0; j < E; ++j) {
    const std::size_t e = store_era.at(scores.eras()[j]);
    const Era era = store.read_era(e);
    const std::size_t n = era.n_stocks();
    if (churn) churn->begin_era(era.ids);
    // The meta-model scored like a model that submitted every id, by the engine itself.
    double mm_corr = std::nan("");
    std::optional<EraContext> ctx;
    if (n > 0) {
      ctx.emplace(era, std::span<const std::uint32_t>{}, needs, target_index, 0);
      score_model(*ctx, era.meta_model, spec, std::span<double>(&mm_corr, 1), scratch);
    }
    q.meta_corr.push_back(mm_corr);
    for (std::size_t first = 0; first < era.n_submitted(); first += o.batch) {
      const std::size_t count = std::min(o.batch, era.n_submitted() - first);
      preds.resize(count * n);
      store.read_predictions(e, first, count, preds);
      FirstError error;
#pragma omp parallel for schedule(dynamic, 4)
      for (std::size_t c = 0; c < count; ++c) {
        const auto g = static_cast<std::size_t>(era.models[first + c]);
        const std::size_t i = row_of[g];
        if (i == SIZE_MAX) continue;
        try {
          const auto t = static_cast<std::size_t>(omp_get_thread_num());
          const std::span<const float> column = std::span<const float>(preds).subspan(c * n, n);
          q.xcorr[i * E + j] = xcorr_of(era.meta_model, column, work[t]);
          if (q.corr_from_store && ctx) {
            q.corr.values[i * E + j] =
                model_corr(era, *ctx, column, spec, target_index, corr_work[t]);
          }
        } catch (...) {
          error.capture(c);
        }
      }
      error.rethrow();
      if (churn) {
        rows.clear();
        for (std::size_t c = 0; c < count; ++c) {
          rows.push_back(row_of[static_cast<std::size_t>(era.models[first + c])]);
        }
        churn->add_columns(rows, preds);
      }
    }
    for (std::size_t c = 0; c < era.n_submitted(); ++c) {
      q.model_eras += row_of[static_cast<std::size_t>(era.models[c])] != SIZE_MAX;
    }
  }
  return q;
}

AuditResult audit_formula(const ScoreMatrix& score, const ScoreMatrix& corr,
                          const AuditQuantities& q, const AuditOptions& o) {
  if (score.n_models != q.n_models || score.n_eras != q.n_eras || corr.n_models != q.n_models ||
      corr.n_eras != q.n_eras) {
    throw std::invalid_argument("audit_formula: matrices differ in shape");
  }
  AuditResult r;
  r.formula = score.formula;
  r.eras = q.n_eras;
  r.burn_eras = q.burn_eras();
  r.model_eras = q.model_eras;
  EraFixedEffectsOls burn, other;
  std::vector<AuditObservation> obs;
  for (std::size_t j = 0; j < q.n_eras; ++j) {
    obs.clear();
    for (std::size_t i = 0; i < q.n_models; ++i) {
      const double s = score.at(i, j), k = corr.at(i, j), x = q.xcorr[i * q.n_eras + j];
      if (std::isfinite(s) && std::isfinite(k) && std::isfinite(x)) obs.push_back({i, k, x, s});
    }
    r.observed += obs.size();
    (q.burn(j) ? burn : other).add_era(obs);
    check_era(j, obs, o, r);
  }
  finish_worst(r.originality, o.worst);
  finish_worst(r.relative, o.worst);
  r.burn = burn.fit();
  r.other = other.fit();
  return r;
}

}  // namespace backscore
