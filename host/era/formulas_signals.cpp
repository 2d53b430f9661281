// numerai-tools 0.7.2's Signals-era formulas (see formulas_signals.hpp).
#include "host/era/formulas_signals.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "host/era/blas.hpp"
#include "host/era/formula_parts.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"

namespace backscore::signals {
namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

bool neutralize(const EraContext& ctx, std::span<const double> x, std::span<double> out,
                std::vector<double>& work) {
  if (zero_std(x)) return false;
  const LeastSquaresProjector& proj = ctx.neutralizer_projector();
  work.resize(proj.rank());
  proj.residual(x.data(), 1.0, out.data(), work.data());
  return true;
}

void neutral_weights(const EraContext& ctx, std::span<const double> powered, std::span<double> out,
                     std::vector<double>& work) {
  const std::size_t n = ctx.size(), k_count = ctx.neutralizer_count();
  const std::span<const double> N = ctx.neutralizers(), w = ctx.sample_weights();
  // c = N^T (w s), then out = (s - N c) w.
  work.assign(k_count, 0.0);
  for (std::size_t k = 0; k < k_count; ++k) {
    double c = 0;
    for (std::size_t i = 0; i < n; ++i) c += N[k * n + i] * (w[i] * powered[i]);
    work[k] = c;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] = powered[i];
  for (std::size_t k = 0; k < k_count; ++k) {
    const double c = work[k];
    for (std::size_t i = 0; i < n; ++i) out[i] -= N[k * n + i] * c;
  }
  for (std::size_t i = 0; i < n; ++i) out[i] *= w[i];
}

double alpha(const EraContext& ctx, std::span<const double> weights) {
  return dot(weights, ctx.era_centered_target()) / static_cast<double>(ctx.size());
}

double max_feature_corr(const EraContext& ctx, std::span<const double> pred,
                        std::span<const char> kept, std::vector<double>& gather_a,
                        std::vector<double>& gather_b) {
  const std::size_t n = ctx.size(), features = ctx.feature_count();
  double best = kNaN;
  // pandas' idxmax skips NaN: a feature constant on these rows has no correlation.
  auto take = [&best](double c) {
    if (std::isnan(c)) return;
    c = std::fabs(c);
    if (std::isnan(best) || c > best) best = c;
  };
  const EraContext* source = ctx.feature_source();
  if (source == nullptr && kept.empty()) {
    // Every row of a context holding its features: Pearson(f, p) = (f_c . p_c) / (|f_c| |p_c|)
    // for all the features by one matrix-vector product (the features are centered here).
    if (n < 2 || features == 0) return kNaN;
    const std::span<const double> f = ctx.feature_values(), norms = ctx.feature_norms();
    gather_b.resize(n);
    const double mu = mean(pred);
    for (std::size_t i = 0; i < n; ++i) gather_b[i] = pred[i] - mu;
    const double p_norm = std::sqrt(dot({gather_b.data(), n}, {gather_b.data(), n}));
    if (!(p_norm > 0)) return kNaN;
    gather_a.resize(features);
    blas::gemv('T', blas::dim(n), blas::dim(features), 1.0, f.data(), blas::dim(n), gather_b.data(),
               0.0, gather_a.data());
    for (std::size_t k = 0; k < features; ++k) {
      if (!(norms[k] > 0)) continue;
      take(std::clamp(gather_a[k] / (norms[k] * p_norm), -1.0, 1.0));
    }
    return best;
  }
  // The top/bottom rows (kept), or a subset reading the whole era's features at its rows:
  // Pearson of the gathered rows, feature by feature (it centers them on these rows).
  const std::span<const double> all = source ? source->feature_values() : ctx.feature_values();
  const std::size_t stride = source ? source->size() : n;
  const std::span<const std::uint32_t> rows = ctx.feature_rows();  // empty: rows are themselves
  std::size_t m = 0;
  gather_b.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (kept.empty() || kept[i]) gather_b[m++] = pred[i];
  }
  gather_a.resize(n);
  for (std::size_t k = 0; k < features; ++k) {
    const double* col = all.data() + k * stride;
    std::size_t at = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (kept.empty() || kept[i]) gather_a[at++] = col[source ? rows[i] : i];
    }
    take(pearson({gather_a.data(), m}, {gather_b.data(), m}));
  }
  return best;
}

bool portfolio_weights(const EraContext& ctx, std::span<const double> pred, std::span<double> out,
                       ModelScratch& scratch) {
  const std::size_t n = ctx.size();
  scratch.resize(n);
  scratch.sorter.sort(pred, scratch.order);
  tie_kept_gaussian(pred, scratch.order, &ctx.gaussian_table(), scratch.gauss, scratch.powered);
  if (!formula_parts::power_ok(scratch.powered, scratch.gauss)) return false;
  neutral_weights(ctx, scratch.powered, out, scratch.work);
  return true;
}

void mpc(std::span<double> w, std::size_t n, std::span<const double> stakes,
         std::span<const double> target, std::span<double> out) {
  const std::size_t models = stakes.size();
  for (double& v : out) v = kNaN;
  if (models == 0 || n == 0) return;
  double total = 0;  // weight_normalize: stakes / sum |stakes|
  for (const double s : stakes) total += std::fabs(s);
  if (!(total > 0)) return;
  // t_c = centered target; W_c = W - column means; v = W_c s, re-centered.
  const double t_mean = mean(target);
  std::vector<double> t(n), v(n, 0.0);
  for (std::size_t i = 0; i < n; ++i) t[i] = target[i] - t_mean;
  for (std::size_t j = 0; j < models; ++j) {
    const std::span<double> col = w.subspan(j * n, n);
    const double mu = mean(col);
    for (double& x : col) x -= mu;
    const double s = stakes[j] / total;
    for (std::size_t i = 0; i < n; ++i) v[i] += col[i] * s;
  }
  const double v_mean = mean(v);
  for (double& x : v) x -= v_mean;
  const double vv = dot(v, v), l2 = std::sqrt(vv);
  if (!(l2 > 0)) return;
  const double vt = dot(v, t);
  // mpc_j = (W_c - v (W_c^T v)/(v.v))^T t / ||v|| / 50 = (w_j.t - (w_j.v)(v.t)/(v.v)) / ||v|| / 50
  for (std::size_t j = 0; j < models; ++j) {
    const std::span<const double> col = w.subspan(j * n, n);
    out[j] = (dot(col, t) - dot(col, v) * vt / vv) / l2 / 50;
  }
}

}  // namespace backscore::signals
