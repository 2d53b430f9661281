// The built-in formulas and their per-model evaluation (see formulas.hpp, docs/FORMULAS.md).
#include "host/era/formulas.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>

#include "core/hd/elementwise.hpp"
#include "core/stopwatch.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formula_parts.hpp"
#include "host/era/formulas_signals.hpp"
#include "host/era/stats.hpp"

namespace backscore {
namespace {

using formula_parts::kNaN;

constexpr std::array<BuiltinInfo, 12> kBuiltins{{
    {Builtin::corr_v1, "corr_v1",
     "Pearson(target, tie-broken rank of the predictions); CORR v1 (2019-2023)", false, false,
     false, false},
    {Builtin::corr, "corr",
     "numerai-tools numerai_corr: Pearson(era-centered target^1.5, gauss(tie-kept rank)^1.5)",
     false, false, false, true},
    {Builtin::mmc, "mmc",
     "numerai-tools correlation_contribution: centered target . (gauss rank orthogonal to the "
     "gauss-ranked meta-model) / n",
     true, false, false, true},
    {Builtin::bmc, "bmc", "correlation_contribution against the chosen benchmark model", false,
     true, false, true},
    {Builtin::mmc2, "mmc2",
     "2020 MMC2: cov(uniform rank neutralized to the uniform meta-model, target) / 0.29^2", true,
     false, false, false},
    {Builtin::mmc2_burnflip, "mmc2_burnflip",
     "2020 burn-era proposal: if the meta-model's corr_v1 < 0, max((1-xcorr)(corr_v1-mm_corr), "
     "mmc2 with proportion -1, corr_v1), else mmc2",
     true, false, false, false},
    {Builtin::fnc, "fnc",
     "numerai-tools feature_neutral_corr: numerai_corr of the gauss rank neutralized to "
     "[features, 1]",
     false, false, true, true},
    {Builtin::neutral_corr, "neutral_corr",
     "numerai-tools neutral_correlation: Pearson(target, gauss rank neutralized to "
     "[neutralizers, 1]); no 1.5 power",
     false, false, false, true, true, false, false, true, false},
    {Builtin::neutral_mmc, "neutral_mmc",
     "numerai-tools neutral_contribution: mmc with the gauss ranks of the predictions and the "
     "meta-model both neutralized to [neutralizers, 1] first",
     true, false, false, true, true, false, false, true, false},
    {Builtin::alpha, "alpha",
     "numerai-tools alpha: ((s - N N^T (w s)) w) . era-centered target / n, s = gauss rank^1.5, "
     "N the neutralizers, w the sample weights",
     false, false, false, false, true, true, false, true, false},
    {Builtin::mpc, "mpc",
     "numerai-tools meta_portfolio_contribution: the gradient of the stake-weighted portfolio of "
     "the era's complete models' alpha weights with respect to this model's stake",
     false, false, false, false, true, true, true, true, false},
    {Builtin::max_feature_corr, "max_feature_corr",
     "numerai-tools max_feature_correlation: max over the features of |Pearson(feature, "
     "predictions)| (a diagnostic; not in --formulas all)",
     false, false, true, true, false, false, false, false, false},
}};

using formula_parts::power_ok;

// Everything score_model computes for one model, each stage at most once and only if asked.
class ModelEval {
 public:
  ModelEval(const EraContext& ctx, std::span<const double> pred, std::span<const FormulaSpec> specs,
            ModelScratch& s, const FncResidual* fnc, const GivenRanks* ranks)
      : ctx_(ctx), pred_(pred), s_(s), n_(ctx.size()), given_fnc_(fnc) {
    // corr's P' = gauss^1.5 comes with the gaussianization (one lookup per rank).
    for (const FormulaSpec& f : specs) {
      want_powered_ |=
          !f.is_defined() && (f.builtin == Builtin::corr || f.builtin == Builtin::alpha);
    }
    if (ranks != nullptr) take(*ranks);
  }

  double score(const FormulaSpec& f) {
    if (f.is_defined()) return kNaN;
    const std::size_t k = static_cast<std::size_t>(std::max(f.top_bottom, 0));
    if (k > 0 && !builtin_info(f.builtin).has_top_bottom) return kNaN;
    // outside numerai-tools' assumptions (2 tb <= n)
    if (k > 0 && !formula_parts::top_bottom_fits(k, n_)) return kNaN;
    switch (f.builtin) {
      case Builtin::corr_v1:
        return corr_v1();
      case Builtin::corr:
        return corr(k);
      case Builtin::mmc:
        if (!ctx_.has_meta_model() || ctx_.meta_gaussian().empty()) return kNaN;
        return contribution(perp(ctx_.meta_gaussian(), ctx_.meta_norm2(), s_.perp_meta, perp_meta_),
                            k);
      case Builtin::bmc:
        if (!ctx_.has_benchmark()) return kNaN;
        return contribution(
            perp(ctx_.benchmark_gaussian(), ctx_.benchmark_norm2(), s_.perp_bench, perp_bench_), k);
      case Builtin::mmc2:
        if (!ctx_.has_meta_model()) return kNaN;
        return mmc2_plain();
      case Builtin::mmc2_burnflip:
        if (!ctx_.has_meta_model()) return kNaN;
        return mmc2_burnflip();
      case Builtin::fnc:
        if (!ctx_.has_features()) return kNaN;
        return fnc(k);
      case Builtin::neutral_corr:
        if (!ctx_.has_neutralizers()) return kNaN;
        return neutral_corr(k);
      case Builtin::neutral_mmc:
        if (!ctx_.has_neutralizers() || ctx_.meta_neutral().empty()) return kNaN;
        return neutral_mmc(k);
      case Builtin::alpha:
        if (!ctx_.has_neutral_weights()) return kNaN;
        return alpha();
      case Builtin::mpc:  // per era over every model: the run's portfolio (mpc_portfolio.hpp)
        return kNaN;
      case Builtin::max_feature_corr:
        if (!ctx_.has_feature_values()) return kNaN;
        if (pred_.size() != n_) {
          throw std::logic_error("score_model: max_feature_corr needs the predictions, not given");
        }
        if (k > 0) keep_ends(sorted_order(), k);
        return signals::max_feature_corr(
            ctx_, pred_, k > 0 ? std::span<const char>(s_.kept) : std::span<const char>{},
            s_.gather_a, s_.gather_b);
    }
    return kNaN;
  }

 private:
  // The ranks the caller computed (GivenRanks): the stages below read them in place.
  void take(const GivenRanks& r) {
    if (r.order.size() == n_) {
      order_ = r.order;
      sorted_ = true;
    }
    if (r.first.size() == n_) {
      first_ = r.first;
      have_first_ = true;
    }
    if (r.gauss.size() == n_ && (r.powered.size() == n_ || !want_powered_)) {
      gauss_ = r.gauss;
      powered_ = r.powered;
      have_gauss_ = true;
    }
  }
  void sorted() {
    if (sorted_) return;
    if (pred_.size() != n_) {
      throw std::logic_error("score_model: a formula needs the predictions, not given");
    }
    if (given_fnc_ != nullptr && given_fnc_->order.size() == n_) {  // fnc_input sorted pred
      order_ = given_fnc_->order;
      sorted_ = true;
      return;
    }
    ScopedSeconds timer(s_.rank_seconds);
    s_.sorter.sort(pred_, s_.order);
    order_ = s_.order;
    sorted_ = true;
  }
  std::span<const std::uint32_t> sorted_order() {
    sorted();
    return order_;
  }
  std::span<const double> first() {
    if (!have_first_) {
      sorted();
      ScopedSeconds timer(s_.rank_seconds);
      tie_broken_percentiles(order_, s_.first);
      first_ = s_.first;
      have_first_ = true;
    }
    return first_;
  }
  std::span<const double> gauss() {
    if (!have_gauss_) {
      sorted();
      ScopedSeconds timer(s_.rank_seconds);
      tie_kept_gaussian(pred_, order_, &ctx_.gaussian_table(), s_.gauss,
                        want_powered_ ? std::span<double>(s_.powered) : std::span<double>{});
      gauss_ = s_.gauss;
      if (want_powered_) powered_ = s_.powered;
      have_gauss_ = true;
    }
    return gauss_;
  }

  // Pearson of the rows whose kept flag is set, in row order.
  double pearson_kept(std::span<const double> a, std::span<const double> b) {
    std::size_t m = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (s_.kept[i]) {
        s_.gather_a[m] = a[i];
        s_.gather_b[m] = b[i];
        ++m;
      }
    }
    return pearson({s_.gather_a.data(), m}, {s_.gather_b.data(), m});
  }
  // Marks the k lowest and k highest positions of `order` (a stable ascending order).
  void keep_ends(std::span<const std::uint32_t> order, std::size_t k) {
    std::fill(s_.kept.begin(), s_.kept.end(), 0);
    for (std::size_t j = 0; j < k; ++j) {
      s_.kept[order[j]] = 1;
      s_.kept[order[n_ - 1 - j]] = 1;
    }
  }

  double corr_v1() {
    if (!have_corr_v1_) {
      corr_v1_ = pearson(ctx_.target(), first());
      have_corr_v1_ = true;
    }
    return corr_v1_;
  }

  // gauss^1.5 (powered_) and numerai-tools' power() check on it (it raises when it fails).
  bool powered_ok() {
    if (!powered_done_) {
      const std::span<const double> g = gauss();  // fills powered_ too
      powered_ok_ = power_ok(powered_, g);
      powered_done_ = true;
    }
    return powered_ok_;
  }

  // numerai_corr on P' = gauss^1.5 of these predictions. The stable argsort of P' that
  // numerai-tools' top/bottom uses equals the predictions' stable order: P' is a strictly
  // increasing function of the tie-kept rank, so equal P' <=> equal predictions.
  double corr(std::size_t k) {
    if (!powered_ok() || !ctx_.corr_target_ok()) return kNaN;  // numerai-tools raises
    if (k == 0) return pearson(ctx_.corr_target(), powered_);
    keep_ends(sorted_order(), k);
    return pearson_kept(ctx_.corr_target(), powered_);
  }

  // numerai-tools orthogonalize(p, m) = p - m (p.m)/(m.m).
  std::span<const double> perp(std::span<const double> m, double m_norm2, std::vector<double>& out,
                               bool& done) {
    if (!done) {
      std::span<const double> p = gauss();
      const double coef = dot(p, m) / m_norm2;
      for (std::size_t i = 0; i < n_; ++i) out[i] = p[i] - m[i] * coef;
      done = true;
    }
    return out;
  }

  // contribution_scores: t . p_perp / n, or over the k lowest and k highest p_perp (stable
  // argsort: ties at the low end go to the earliest rows, at the high end to the latest) / 2k.
  double contribution(std::span<const double> p, std::size_t k) {
    std::span<const double> t = ctx_.mmc_target();
    if (!std::all_of(p.begin(), p.end(), [](double v) { return std::isfinite(v); })) return kNaN;
    if (k == 0) return dot(t, p) / static_cast<double>(n_);
    mark_top_bottom(p, k, s_.kept, s_.keys, s_.select);
    std::size_t m = 0;
    for (std::size_t i = 0; i < n_; ++i) {
      if (s_.kept[i]) {
        s_.gather_a[m] = t[i];
        s_.gather_b[m] = p[i];
        ++m;
      }
    }
    return dot({s_.gather_a.data(), m}, {s_.gather_b.data(), m}) / static_cast<double>(2 * k);
  }

  // example-scripts MMC2: cov(u - proportion * P u, target) / 0.29^2, u the uniform ranks.
  double mmc2(double proportion) {
    s_.work.resize(ctx_.mmc2_projector().rank());
    ctx_.mmc2_projector().residual(first().data(), proportion, s_.resid.data(), s_.work.data());
    return formula_parts::mmc2_from_covariance(covariance(s_.resid, ctx_.target()));
  }
  double mmc2_plain() {
    if (!have_mmc2_) {
      mmc2_ = mmc2(1.0);
      have_mmc2_ = true;
    }
    return mmc2_;
  }
  double mmc2_burnflip() {
    const double mm_corr = ctx_.meta_corr_v1();
    if (!formula_parts::is_burn_era(mm_corr)) return mmc2_plain();
    const double c = corr_v1();
    const double xcorr = pearson(ctx_.meta_model(), first());
    return formula_parts::burnflip_value(c, xcorr, mm_corr, mmc2(-1.0));
  }

  // feature_neutral_corr: variance_normalize(neutralize(gauss, [features, 1])), then
  // numerai_corr of that (re-ranked, re-gaussianized, ^1.5) with the era-centered target.
  double fnc(std::size_t k) {
    if (!neutral_) {
      neutral_ = true;
      if (given_fnc_ != nullptr) {  // projected with the batch (see FncResidual)
        if (!given_fnc_->defined) return kNaN;
        std::copy(given_fnc_->residual.begin(), given_fnc_->residual.end(), s_.neutral.begin());
      } else {
        std::span<const double> g = gauss();
        // neutralize() turns a zero-std column into NaN; numerai_corr then raises.
        if (zero_std(g)) return kNaN;
        const LeastSquaresProjector& proj = ctx_.fnc_projector();
        s_.work.resize(proj.rank());
        proj.residual(g.data(), 1.0, s_.neutral.data(), s_.work.data());
      }
      const double sd = std_population(s_.neutral);
      if (!(sd > 0) || !std::isfinite(sd)) return kNaN;  // 0/0: NaN column, numerai_corr raises
      for (double& v : s_.neutral) v = v / sd;
      {
        ScopedSeconds timer(s_.rank_seconds);
        s_.sorter.sort(s_.neutral, s_.order2);
        // gaussianized ranks (into resid, free again) and their ^1.5
        tie_kept_gaussian(s_.neutral, s_.order2, &ctx_.gaussian_table(), s_.resid,
                          s_.neutral_gauss);
      }
      neutral_ok_ = power_ok(s_.neutral_gauss, s_.resid);
    }
    if (!neutral_ok_ || !ctx_.corr_target_ok()) return kNaN;
    if (k == 0) return pearson(ctx_.corr_target(), s_.neutral_gauss);
    keep_ends(s_.order2, k);
    return pearson_kept(ctx_.corr_target(), s_.neutral_gauss);
  }

  // neutral_correlation and neutral_contribution share the neutralized gauss ranks.
  bool signal_neutral() {
    if (!signal_neutral_done_) {
      signal_neutral_done_ = true;
      signal_neutral_ok_ = signals::neutralize(ctx_, gauss(), s_.signal_neutral, s_.work);
    }
    return signal_neutral_ok_;
  }
  // neutral_correlation: Pearson(target, neutralized gauss ranks), over the k lowest and k
  // highest of those (stable argsort) when k > 0. Pearson ignores the target's centering.
  double neutral_corr(std::size_t k) {
    if (!signal_neutral()) return kNaN;
    if (k == 0) return pearson(ctx_.target(), s_.signal_neutral);
    {
      ScopedSeconds timer(s_.rank_seconds);
      s_.sorter.sort(s_.signal_neutral, s_.order3);
    }
    keep_ends(s_.order3, k);
    return pearson_kept(ctx_.target(), s_.signal_neutral);
  }
  // neutral_contribution: the neutralized gauss ranks orthogonalized to the neutralized
  // meta-model, then contribution_scores as mmc.
  double neutral_mmc(std::size_t k) {
    if (!signal_neutral()) return kNaN;
    if (!signal_perp_) {
      const std::span<const double> m = ctx_.meta_neutral();
      const double coef = dot(s_.signal_neutral, m) / ctx_.meta_neutral_norm2();
      for (std::size_t i = 0; i < n_; ++i) s_.signal_perp[i] = s_.signal_neutral[i] - m[i] * coef;
      signal_perp_ = true;
    }
    return contribution(s_.signal_perp, k);
  }
  // alpha: numerai-tools' power() check on gauss^1.5 (it raises when that fails: NaN), the
  // neutralized weights, their dot with the era-centered target / n.
  double alpha() {
    if (!powered_ok()) return kNaN;
    signals::neutral_weights(ctx_, powered_, s_.weights, s_.work);
    return signals::alpha(ctx_, s_.weights);
  }

  const EraContext& ctx_;
  std::span<const double> pred_;
  ModelScratch& s_;
  std::size_t n_;
  const FncResidual* given_fnc_;
  bool want_powered_ = false;
  // The column's ranks: the scratch's once computed, or the caller's (GivenRanks).
  std::span<const std::uint32_t> order_;
  std::span<const double> first_, gauss_, powered_;
  bool sorted_ = false, have_first_ = false, have_gauss_ = false, powered_done_ = false;
  bool powered_ok_ = false;
  bool perp_meta_ = false, perp_bench_ = false, neutral_ = false, neutral_ok_ = false;
  bool have_corr_v1_ = false, have_mmc2_ = false;
  bool signal_neutral_done_ = false, signal_neutral_ok_ = false, signal_perp_ = false;
  double corr_v1_ = kNaN, mmc2_ = kNaN;
};

}  // namespace

std::string FormulaSpec::name() const {
  if (is_defined()) return defined_name;
  std::string s = builtin_info(builtin).name;
  if (top_bottom > 0) s += "_tb" + std::to_string(top_bottom);
  return s;
}

std::string FormulaSpec::definition() const {
  if (is_defined()) return defined_text;
  std::string s = builtin_info(builtin).definition;
  if (top_bottom > 0) {
    s += "; on the " + std::to_string(top_bottom) + " lowest and " + std::to_string(top_bottom) +
         " highest predictions only";
  }
  return s;
}

std::span<const BuiltinInfo> builtin_formulas() { return kBuiltins; }

const BuiltinInfo& builtin_info(Builtin b) {
  for (const BuiltinInfo& info : kBuiltins) {
    if (info.builtin == b) return info;
  }
  throw std::logic_error("builtin_info: unknown Builtin");
}

std::optional<Builtin> find_builtin(std::string_view name) {
  for (const BuiltinInfo& info : kBuiltins) {
    if (name == info.name) return info.builtin;
  }
  return std::nullopt;
}

bool enough_ids(std::size_t n_present, std::size_t n_universe) {
  constexpr double kMaxFilteredRatio = 0.2;  // DEFAULT_MAX_FILTERED_INDEX_RATIO
  if (n_universe == 0) return false;
  return static_cast<double>(n_present) / static_cast<double>(n_universe) >=
         (1 - kMaxFilteredRatio);
}

ContextNeeds ContextNeeds::of(std::span<const FormulaSpec> specs) {
  ContextNeeds needs;
  for (const FormulaSpec& f : specs) {
    if (f.is_defined()) continue;
    const BuiltinInfo& info = builtin_info(f.builtin);
    needs.meta_model |= info.needs_meta_model;
    needs.benchmark |= info.needs_benchmark;
    const Builtin b = f.builtin;
    if (b == Builtin::max_feature_corr) {
      needs.feature_values = true;  // the raw features, no factorization
      continue;
    }
    needs.features |= info.needs_features;
    needs.neutralizers |= b == Builtin::neutral_corr || b == Builtin::neutral_mmc;
    needs.neutral_weights |= b == Builtin::alpha || b == Builtin::mpc;
    needs.gaussian |= b == Builtin::corr || b == Builtin::mmc || b == Builtin::bmc ||
                      b == Builtin::fnc || b == Builtin::neutral_corr ||
                      b == Builtin::neutral_mmc || b == Builtin::alpha || b == Builtin::mpc;
  }
  return needs;
}

void ModelScratch::resize(std::size_t n) {
  for (auto* v : {&order, &order2, &order3}) v->resize(n);
  kept.resize(n);
  for (auto* v : {&first, &gauss, &powered, &perp_meta, &perp_bench, &resid, &neutral,
                  &neutral_gauss, &gather_a, &gather_b, &signal_neutral, &signal_perp, &weights}) {
    v->resize(n);
  }
}

bool fnc_input(const EraContext& ctx, std::span<const double> pred, std::span<double> g,
               ModelScratch& scratch) {
  if (pred.size() != ctx.size() || g.size() != ctx.size()) {
    throw std::invalid_argument("fnc_input: pred and g must hold ctx.size() values");
  }
  if (ctx.size() == 0) return false;
  scratch.resize(ctx.size());
  {
    ScopedSeconds timer(scratch.rank_seconds);
    scratch.sorter.sort(pred, scratch.order);
    tie_kept_gaussian(pred, scratch.order, &ctx.gaussian_table(), g);
  }
  return !zero_std(g);
}

void score_model(const EraContext& ctx, std::span<const double> pred,
                 std::span<const FormulaSpec> specs, std::span<double> out, ModelScratch& scratch,
                 const FncResidual* fnc, const GivenRanks* ranks) {
  if ((pred.size() != ctx.size() && !(pred.empty() && ranks != nullptr)) ||
      out.size() < specs.size() ||
      (fnc != nullptr && fnc->defined && fnc->residual.size() != ctx.size())) {
    throw std::invalid_argument(
        "score_model: pred (and a given fnc residual) must hold ctx.size() values, out one per "
        "spec");
  }
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(specs.size()), kNaN);
  if (ctx.size() == 0) return;
  scratch.resize(ctx.size());
  ModelEval eval(ctx, pred, specs, scratch, fnc, ranks);
  for (std::size_t i = 0; i < specs.size(); ++i) out[i] = eval.score(specs[i]);
}

}  // namespace backscore
