// Scores from a column's result slots (see score_assembly.hpp).
#include "host/run/cuda/score_assembly.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "host/era/formula_parts.hpp"
#include "kernels/result_layout.hpp"

namespace backscore::cuda {
namespace {

namespace fp = formula_parts;
using fp::kNaN;

// A pair-statistics block of a column's results (layout::pair).
struct PairBlock {
  const double* p;
  double sxx() const { return p[layout::pair::kSxx]; }
  double sxy() const { return p[layout::pair::kSxy]; }
  double sum_xy() const { return p[layout::pair::kSumXy]; }
  // np.corrcoef of the block's `count` pairs, in the CPU's operation order.
  double pearson(std::size_t count) const {
    return pearson_from_sums(p[layout::pair::kSxx], p[layout::pair::kSyy], p[layout::pair::kSxy],
                             count);
  }
  // numerai_corr's power check on a (powered, gauss) block: a powered column of zero std
  // (centered sum of squares exactly 0) passes.
  bool power_ok(std::size_t count) const {
    return sxx() == 0 || pearson(count) >= fp::kPowerCheckMin;
  }
};

class Assembler {
 public:
  Assembler(const double* r, const BatchPlan& plan)
      : r_(r), era_(plan.era), slot_(plan.slots), n_(plan.n()) {}

  double score(const FormulaSpec& f) const {
    if (f.is_defined() || n_ < 2) return kNaN;
    const std::size_t k = static_cast<std::size_t>(std::max(f.top_bottom, 0));
    if (k > 0 && !builtin_info(f.builtin).has_top_bottom) return kNaN;
    if (k > 0 && !fp::top_bottom_fits(k, n_)) return kNaN;
    switch (f.builtin) {
      case Builtin::corr_v1:
        return pair(slot_.corr_v1).pearson(n_);
      case Builtin::corr:
        if (!pair(slot_.corr_power).power_ok(n_) || !era_.corr_target_ok) return kNaN;
        return k == 0 ? pair(slot_.corr).pearson(n_)
                      : pair(ResultSlotMap::find(slot_.corr_tb, k)).pearson(2 * k);
      case Builtin::mmc:
      case Builtin::bmc:
        return contribution(f.builtin == Builtin::mmc, k);
      case Builtin::mmc2:
        if (!era_.meta) return kNaN;
        return mmc2(slot_.mmc2_plus);
      case Builtin::mmc2_burnflip: {
        if (!era_.meta) return kNaN;
        if (!era_.burn) return mmc2(slot_.mmc2_plus);
        const double c = pair(slot_.corr_v1).pearson(n_);
        const double xcorr = pair(slot_.xcorr).pearson(n_);
        return fp::burnflip_value(c, xcorr, era_.meta_corr_v1, mmc2(slot_.mmc2_minus));
      }
      case Builtin::fnc:
        return fnc(k);
      case Builtin::neutral_corr:  // on the CPU (BuiltinInfo::on_gpu): never in the GPU's specs
      case Builtin::neutral_mmc:
      case Builtin::alpha:
      case Builtin::mpc:
      case Builtin::max_feature_corr:
        return kNaN;
    }
    return kNaN;
  }

 private:
  PairBlock pair(std::size_t slot) const { return {r_ + slot}; }

  double mmc2(std::size_t slot) const {
    return fp::mmc2_from_covariance(covariance_from_sum(pair(slot).sxy(), n_));
  }

  // correlation_contribution: t . p_perp / n with p_perp = g - v (g.v)/(v.v), from the dot
  // products (all rows); over the top/bottom rows from that block's sum of products / 2k.
  double contribution(bool meta, std::size_t k) const {
    if (meta ? !era_.meta_gauss : !era_.bench) return kNaN;
    const double* dots = r_ + slot_.dots;
    // non-finite (v.v = 0) -> NaN, as the CPU's finiteness check of p_perp.
    const double coef = dots[meta ? layout::dots::kMeta : layout::dots::kBench] /
                        (meta ? era_.meta_norm2 : era_.bench_norm2);
    if (!std::isfinite(coef)) return kNaN;
    if (k == 0) {
      return (dots[layout::dots::kTarget] -
              coef * (meta ? era_.target_dot_meta : era_.target_dot_bench)) /
             static_cast<double>(n_);
    }
    const std::size_t tb = ResultSlotMap::find(meta ? slot_.mmc_tb : slot_.bmc_tb, k);
    return pair(tb).sum_xy() / static_cast<double>(2 * k);
  }

  double fnc(std::size_t k) const {
    if (!era_.features) return kNaN;
    if (r_[layout::kConstSlot] != 0) return kNaN;  // zero_std(gauss): constant predictions
    const double sd = std::sqrt(pair(slot_.fnc_resid).sxx() / static_cast<double>(n_));
    if (!(sd > 0) || !std::isfinite(sd)) return kNaN;
    if (!pair(slot_.fnc_power).power_ok(n_) || !era_.corr_target_ok) return kNaN;
    return k == 0 ? pair(slot_.fnc).pearson(n_)
                  : pair(ResultSlotMap::find(slot_.fnc_tb, k)).pearson(2 * k);
  }

  const double* r_;
  const EraFacts& era_;
  const ResultSlotMap& slot_;
  std::size_t n_;
};

}  // namespace

double assemble_score(const FormulaSpec& f, const double* results, const BatchPlan& plan) {
  return Assembler(results, plan).score(f);
}

double assemble_meta_pearson(const double* results, const BatchPlan& plan) {
  if (!plan.stages.meta_pearson || plan.n() < 2) return kNaN;
  return PairBlock{results + plan.slots.meta_pearson}.pearson(plan.n());
}

}  // namespace backscore::cuda
