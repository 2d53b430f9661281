// `backscore synth` (see synth.hpp): generates a synthetic tournament history era by era.
//
// The model of the data
// ---------------------
// Stocks. A global pool of Numerai-like ids ("n" + 15 hex digits). Era e looks at a window of
// 1.25 x --stocks consecutive pool entries that slides by 1% of --stocks per era (listings and
// delistings), and takes n_e = --stocks x U(0.8, 1.2) of them: those with the lowest fixed
// per-stock priority, so most stocks persist from one era to the next. Ids are sorted by bytes.
//
// Latent signal. Per stock and era z ~ N(0, 1): the knowable part of the next returns. Like
// Numerai's 20-day targets on weekly eras, z is a moving sum of four weekly shocks, so adjacent
// eras overlap (correlation 0.75, 0.5, 0.25 at lags 1, 2, 3).
//
// Targets. target = Numerai's five buckets {0, .25, .5, .75, 1} by exact quantiles 5/20/50/20/5 %
// of y = k z + sqrt(1 - k^2) v with k = 0.2 and v overlapping weekly noise; a perfect model of z
// would reach corr ~0.19, a typical model 0.01-0.03. target_b buckets another noisy view of z
// that shares 70% of target's noise (an alternative target, correlated with the main one).
//
// Crowd and burn eras. The crowd signal c = rho_e z + sqrt(1 - rho_e^2) u is what most
// participants share (u is 70% fixed per stock: a common style). Each era is a burn era with
// probability --burn-fraction, independently: then rho_e ~ -U(0.3, 0.6), else U(0.15, 0.45).
// Because the meta-model is mostly crowd, its correlation with the target is negative in burn
// eras (up to sampling noise: ~0.014 standard error at 5,000 stocks).
//
// Models. Each model has an originality o (50% near-clones o ~ U(0.01, 0.1), 35% U(0.1, 0.6),
// 15% original U(0.6, 1)), crowd exposure b = 1 - o and a skill s ~ N(0.12, 0.08) clamped to
// [-0.1, 0.4]. Its predictions are Phi(a x / sd(x)) with x = b c + sqrt(1 - b^2) (s z +
// sqrt(1 - s^2) e), e its own noise, a in U(0.3, 1.2) the sharpness of its (0,1) mapping and
// Phi a logistic approximation of the normal CDF. Stored as float32, so even unrounded columns
// have a few exact ties.
// 5% submit values rounded to 2 decimals and 5% to five bins {0, .25, .5, .75, 1} (ties); about
// 1% submit a constant 0.5 in 15% of their eras. The first 5% of the table are veterans present
// in every era; of the rest 40% start in era 1 and the others at a uniform era, half of them stay
// to the end and half for a uniform number of eras, and each skips 3% of its eras.
// Missing ids: 20% of models miss 1-5% of the ids in a quarter of their eras; any model-era
// misses 25-50% (unscorable under numerai-tools' 20% rule) with probability 2%.
//
// Stakes. 20% of non-veteran models are unstaked (stake 0). Otherwise stake = exp(mu + 0.5 w_e),
// mu ~ N(3, 1.8) (a median near 20 NMR, a heavy tail), w an AR(1) with coefficient 0.95 and unit
// variance: stakes drift slowly.
//
// Meta-model (FORMULAS.md 2.12): the stake-weighted average over the submitted models of their
// gauss-ranked predictions (tie-kept rank (r - 0.5)/n over the model's present ids, then ndtri).
// A missing id adds 0 to the numerator while the model's stake stays in the denominator, as
// numerai-tools' stake_weight does. Benchmarks lgbm and teager: skilled signals (s = 0.2, 0.25)
// with crowd exposure 0.45, 0.35, in (0, 1) like the models; they suffer in burn eras too.
//
// Features (--features K): feature k is the quintile (0..4) of w_k z + sqrt(1 - w_k^2) h, with
// w_k ~ +-U(0.03, 0.2) varying by N(0, 0.05) from era to era (features whose sign flips) and h
// 80% fixed per stock (features change slowly). A feature's corr with the target is ~0.02.
// Numerai's structure, off by default (the default store is unchanged) and on in --preset numerai:
// - groups (--feature-group-size G): features f, f+1, ... in blocks of G share a group latent
//   (80% fixed per stock, like h), which takes a share c_k ~ U(0.3, 0.7) of the non-signal part:
//   w_k z + sqrt(1 - w_k^2) (sqrt(c_k) g + sqrt(1 - c_k) h). Features of one group correlate
//   ~0.4, of different groups ~0.
// - duplicates (--duplicate-features share): max(1, round(share x (K - 1))) features, drawn once
//   for the history (never f000), are exact copies of a uniform earlier feature in every era.
// - constants (--constant-features share): in each era max(1, round(share x K)) features drawn
//   anew hold 2 (the middle bucket) for every stock, as a feature whose data is missing that era
//   does once filled with its median (a pick that is a duplicate lands on its source, so
//   duplicates stay exact).
// So the era's feature matrix is rank deficient (duplicates; constants collinear with the
// intercept), as neutralization meets it in Numerai's data.
// --preset numerai (numerai_preset in synth.hpp): 5,000 stocks, 2,376 features (Numerai v5's
// "all" set), 1,000 models, 20 eras, groups of 20, 1% duplicates, 0.5% constant per era; models
// miss ids as above (~7% of model-eras). One such era takes ~0.65 s on 2 cores (bench/RESULTS.md).
//
// Signals data (--neutralizers K, --sample-weights; off by default): host/synth/signals.cpp.
//
// Determinism. Every random number is a function of (seed, stream, indices) (counter_rng.hpp),
// the meta-model sums in fixed groups of models, so the store depends on the options only,
// not on the thread count. Memory: one era (models x stocks float32) at a time.
#include "host/synth/synth.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <limits>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "core/parallel_errors.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"
#include "host/synth/counter_rng.hpp"
#include "host/synth/features.hpp"
#include "host/synth/options.hpp"
#include "host/synth/population.hpp"
#include "host/synth/signals.hpp"
#include "io/progress.hpp"
#include "io/store.hpp"

namespace backscore {
namespace {

using namespace synth_detail;

constexpr double kTargetSignal = 0.2;       // corr(z, latent target)
constexpr double kTargetBShare = 0.7;       // share of target's noise in target_b's
constexpr double kCrowdStyleShare = 0.7;    // variance share of the crowd's fixed per-stock style
constexpr double kFeatureStyleShare = 0.8;  // variance share of a feature's fixed per-stock part
constexpr double kStakeAr = 0.95;           // AR(1) coefficient of the log-stake walk
constexpr std::size_t kMetaGroups = 64;     // fixed summation groups of the meta-model

struct BenchmarkSpec {
  const char* name;
  double crowd, skill;
};
constexpr BenchmarkSpec kBenchmarks[] = {{"lgbm", 0.45, 0.2}, {"teager", 0.35, 0.25}};

// sqrt(1 - x^2), the weight that keeps a two-part mix at unit variance.
double complement(double x) { return std::sqrt(std::max(0.0, 1.0 - x * x)); }

// The standard normal CDF to 1.4e-4 (Bowling et al. 2009, a logistic of a cubic): predictions
// only need a smooth increasing map to (0, 1), and erfc cost a fifth of the generation time.
double normal_cdf(double x) { return 1.0 / (1.0 + std::exp(-x * (1.5976 + 0.070566 * x * x))); }

// prefix + value zero-padded to `width` digits, e.g. era0007.
std::string padded(const char* prefix, std::size_t value, int width) {
  const std::string text = std::to_string(value);
  const std::size_t pad = std::max<std::size_t>(static_cast<std::size_t>(width), text.size());
  return prefix + std::string(pad - text.size(), '0') + text;
}

int digits(std::size_t v) {
  int d = 1;
  while (v >= 10) v /= 10, ++d;
  return d;
}

// ------------------------------------------------------------------------------------------------
// One era

// Everything per stock that the model columns are built from, in id order.
struct EraLatent {
  std::vector<std::uint32_t> universe;  // pool index of each stock
  std::vector<double> z, crowd;
  double rho = 0;  // corr(crowd, z) this era
  bool burn = false;
};

// Stocks, latent signal, targets, crowd, benchmarks and features of era e.
EraLatent make_era(const SynthOptions& o, const StockPool& pool, const FeatureLayout& layout,
                   const RandomKey& root, std::size_t e, Era& era) {
  EraLatent L;
  L.universe = era_universe(pool, o, root, e);
  const std::size_t n = L.universe.size();
  const RandomKey regime = root.at(kEraRegime).at(e);
  L.burn = regime.uniform(0) < o.burn_fraction;
  L.rho = L.burn ? -(0.3 + 0.3 * regime.uniform(1)) : 0.15 + 0.3 * regime.uniform(1);

  era.ids.resize(n);
  for (std::size_t i = 0; i < n; ++i) era.ids[i] = pool.ids[L.universe[i]];

  // Weekly shocks e..e+3 make up era e's horizon; era e+1 shares three of them.
  RandomKey signal_weeks[4] = {root, root, root, root}, target_weeks[4] = {root, root, root, root};
  for (std::uint64_t d = 0; d < 4; ++d) {
    signal_weeks[d] = root.at(kSignalShock).at(e + d);
    target_weeks[d] = root.at(kTargetShock).at(e + d);
  }
  const RandomKey target_b = root.at(kTargetBNoise).at(e), style = root.at(kCrowdStyle),
                  crowd_noise = root.at(kCrowdNoise).at(e);
  L.z.resize(n);
  L.crowd.resize(n);
  std::vector<double> y(2 * n);
  const double tk = complement(kTargetSignal), tb = complement(kTargetBShare);
  const double style_w = std::sqrt(kCrowdStyleShare), fresh_w = std::sqrt(1 - kCrowdStyleShare);
  const double crowd_rest = complement(L.rho);
#pragma omp parallel for schedule(static)
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = L.universe[i];
    double z = 0, v = 0;
    for (int d = 0; d < 4; ++d) {
      z += signal_weeks[d].normal(k);
      v += target_weeks[d].normal(k);
    }
    z *= 0.5;
    v *= 0.5;
    L.z[i] = z;
    y[i] = kTargetSignal * z + tk * v;
    y[n + i] = kTargetSignal * z + tk * (kTargetBShare * v + tb * target_b.normal(k));
    const double u = style_w * style.normal(k) + fresh_w * crowd_noise.normal(k);
    L.crowd[i] = L.rho * z + crowd_rest * u;
  }

  era.benchmarks.resize(std::size(kBenchmarks) * n);
  for (std::size_t b = 0; b < std::size(kBenchmarks); ++b) {
    const BenchmarkSpec& spec = kBenchmarks[b];
    const RandomKey noise = root.at(kBenchmarkNoise).at(b).at(e);
    const double rest = complement(spec.crowd), own_rest = complement(spec.skill);
    const double sd = std::sqrt(spec.crowd * spec.crowd + rest * rest +
                                2 * spec.crowd * rest * spec.skill * L.rho);
    for (std::size_t i = 0; i < n; ++i) {
      const double x = spec.crowd * L.crowd[i] +
                       rest * (spec.skill * L.z[i] + own_rest * noise.normal(L.universe[i]));
      era.benchmarks[b * n + i] = normal_cdf(x / sd);
    }
  }

  // Group latents (--feature-group-size): per group a fixed and a fresh part, like a feature's.
  const std::size_t n_targets = 2, n_features = o.features;
  const std::size_t group_size = o.feature_group_size, n_groups = feature_groups(o);
  std::vector<double> group_latent(n_groups * n);
  if (n_groups > 0) {
    const RandomKey group_style = root.at(kFeatureGroupStyle),
                    group_noise = root.at(kFeatureGroupNoise);
    const double fs = std::sqrt(kFeatureStyleShare), ff = std::sqrt(1 - kFeatureStyleShare);
    const auto cells = static_cast<std::ptrdiff_t>(n_groups * n);
#pragma omp parallel for schedule(static)
    for (std::ptrdiff_t c = 0; c < cells; ++c) {
      const std::size_t g = static_cast<std::size_t>(c) / n, i = static_cast<std::size_t>(c) % n;
      const std::uint64_t k = L.universe[i];
      group_latent[static_cast<std::size_t>(c)] =
          fs * group_style.at(g).normal(k) + ff * group_noise.at(g).at(e).normal(k);
    }
  }

  // Sorting-based bucketing: targets and features in parallel, one sorter per thread.
  era.targets.resize(n_targets * n);
  era.features.resize(n_features * n);
  const RandomKey feature_weight = root.at(kFeatureWeight), feature_style = root.at(kFeatureStyle);
  struct BucketScratch {
    StableSorter sorter;
    std::vector<std::uint32_t> order;
    std::vector<double> latent;
  };
  std::vector<BucketScratch> scratch(static_cast<std::size_t>(omp_get_max_threads()));
  FirstError error;
  const std::ptrdiff_t columns = static_cast<std::ptrdiff_t>(n_targets + n_features);
#pragma omp parallel for schedule(dynamic)
  for (std::ptrdiff_t jj = 0; jj < columns; ++jj) {
    const auto j = static_cast<std::size_t>(jj);
    try {
      BucketScratch& t = scratch[static_cast<std::size_t>(omp_get_thread_num())];
      if (j < n_targets) {
        bucketize(std::span(y).subspan(j * n, n), t.sorter, t.order,
                  std::span(era.targets).subspan(j * n, n));
        continue;
      }
      const std::size_t f = j - n_targets;
      if (layout.source[f] != f) continue;  // a duplicate: copied below
      const RandomKey wk = feature_weight.at(f);
      const double sign = wk.uniform(0) < 0.5 ? -1.0 : 1.0;
      const double w =
          std::clamp(sign * (0.03 + 0.17 * wk.uniform(1)) + 0.05 * wk.normal(2 + e), -0.9, 0.9);
      const double rest = complement(w), fs = std::sqrt(kFeatureStyleShare),
                   ff = std::sqrt(1 - kFeatureStyleShare);
      const RandomKey fixed = feature_style.at(f), fresh = root.at(kFeatureNoise).at(f).at(e);
      t.latent.resize(n);
      if (n_groups == 0) {
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t k = L.universe[i];
          t.latent[i] = w * L.z[i] + rest * (fs * fixed.normal(k) + ff * fresh.normal(k));
        }
      } else {
        // A share c of the non-signal variance is the group's: latents of one group correlate ~c.
        const double c = 0.3 + 0.4 * root.at(kFeatureGroupShare).uniform(f);
        const double gw = rest * std::sqrt(c), ow = rest * std::sqrt(1 - c);
        const double* group = group_latent.data() + (f / group_size) * n;
        for (std::size_t i = 0; i < n; ++i) {
          const std::uint64_t k = L.universe[i];
          t.latent[i] =
              w * L.z[i] + gw * group[i] + ow * (fs * fixed.normal(k) + ff * fresh.normal(k));
        }
      }
      quintiles(t.latent, t.sorter, t.order, std::span(era.features).subspan(f * n, n));
    } catch (...) {
      error.capture(j);
    }
  }
  error.rethrow();

  // Constant features: this era's picks (a duplicate's pick lands on its source) hold 2, the
  // middle bucket, for every stock: a feature missing this era, filled with its median.
  for (std::uint32_t f : choose(root.at(kFeatureConstant).at(e),
                                share_count(o.constant_features, n_features), 0, n_features)) {
    const std::size_t source = layout.source[f];
    std::fill_n(era.features.begin() + static_cast<std::ptrdiff_t>(source * n), n, 2.0);
  }
  // Duplicates: exact copies of their source's column.
  for (std::size_t f = 0; f < n_features; ++f) {
    const std::size_t source = layout.source[f];
    if (source == f) continue;
    std::copy_n(era.features.begin() + static_cast<std::ptrdiff_t>(source * n), n,
                era.features.begin() + static_cast<std::ptrdiff_t>(f * n));
  }
  return L;
}

// Who submits in era e, with what stake; `walk` is the stake walk, advanced to era e.
// missing_ids: the share of model-eras leaving 1-5% of the ids out (all from the sloppy models).
std::vector<Submission> era_submissions(const std::vector<ModelTraits>& traits,
                                        const RandomKey& root, std::size_t e, double missing_ids,
                                        std::vector<double>& walk) {
  const RandomKey walk_key = root.at(kStakeWalk);
  const double innovation = complement(kStakeAr);
  std::vector<Submission> subs;
  for (std::size_t m = 0; m < traits.size(); ++m) {
    const double shock = walk_key.at(m).normal(e);
    walk[m] = e == 0 ? shock : kStakeAr * walk[m] + innovation * shock;
    const ModelTraits& t = traits[m];
    if (e < t.start || e >= t.end) continue;
    const RandomKey key = root.at(kModelEra).at(m).at(e);
    if (!t.veteran && key.uniform(0) < 0.03) continue;  // skipped this round
    Submission s;
    s.model = m;
    s.stake = t.staked ? std::exp(t.log_stake + 0.5 * walk[m]) : 0.0;
    if (t.sloppy && key.uniform(1) < missing_ids / kSloppyShare) {
      s.missing = 0.01 + 0.04 * key.uniform(2);
    }
    if (key.uniform(3) < 0.02) s.missing = 0.25 + 0.25 * key.uniform(4);
    s.constant = t.constant_prone && key.uniform(5) < 0.15;
    subs.push_back(s);
  }
  return subs;
}

// Model s's predictions for era e into col (NaN where it left an id out).
void fill_column(const ModelTraits& t, const Submission& s, const EraLatent& L,
                 const RandomKey& root, std::size_t e, std::span<float> col) {
  const std::size_t n = col.size();
  const RandomKey own = root.at(kOwnNoise).at(s.model).at(e);
  const RandomKey missing = root.at(kMissing).at(s.model).at(e);
  const double b = t.crowd, rest = complement(b), own_rest = complement(t.skill);
  const double scale =
      t.sharpness / std::sqrt(b * b + rest * rest + 2 * b * rest * t.skill * L.rho);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = L.universe[i];
    if (s.missing > 0 && missing.uniform(k) < s.missing) {
      col[i] = std::numeric_limits<float>::quiet_NaN();
      continue;
    }
    if (s.constant) {
      col[i] = 0.5f;
      continue;
    }
    const double x = b * L.crowd[i] + rest * (t.skill * L.z[i] + own_rest * own.normal(k));
    double p = normal_cdf(scale * x);
    if (t.rounding == Rounding::cents) p = std::round(p * 100.0) / 100.0;
    if (t.rounding == Rounding::quintiles) p = std::min(std::floor(p * 5.0), 4.0) / 4.0;
    col[i] = static_cast<float>(p);
  }
}

// Per-thread buffers for gauss-ranking one column over its present ids.
struct RankScratch {
  StableSorter sorter;
  std::vector<double> values, gauss;
  std::vector<std::uint32_t> order, present;
};

// partial[i] += weight * gaussian(tie_kept_rank(col))[i] over the ids present in col.
void add_gauss_ranked(std::span<const float> col, double weight, const GaussianTable& table,
                      RankScratch& r, std::span<double> partial) {
  r.values.clear();
  r.present.clear();
  for (std::size_t i = 0; i < col.size(); ++i) {
    if (std::isnan(col[i])) continue;
    r.values.push_back(col[i]);
    r.present.push_back(static_cast<std::uint32_t>(i));
  }
  const std::size_t count = r.values.size();
  if (count == 0) return;
  r.order.resize(count);
  r.gauss.resize(count);
  r.sorter.sort(r.values, r.order);
  // The era's table fits a full column; for a partial one rank.cpp gaussianizes rank by rank.
  tie_kept_gaussian(r.values, r.order, &table, r.gauss);
  for (std::size_t j = 0; j < count; ++j) partial[r.present[j]] += weight * r.gauss[j];
}

StoreSchema make_schema(const SynthOptions& o) {
  StoreSchema schema;
  const int model_width = std::max(4, digits(o.models));
  for (std::size_t m = 0; m < o.models; ++m) {
    schema.models.push_back(padded("model", m + 1, model_width));
  }
  schema.targets = {"target", "target_b"};
  for (const BenchmarkSpec& b : kBenchmarks) schema.benchmarks.emplace_back(b.name);
  const int feature_width = std::max(3, digits(o.features > 0 ? o.features - 1 : 0));
  for (std::size_t f = 0; f < o.features; ++f) {
    schema.features.push_back(padded("f", f, feature_width));
  }
  for (std::size_t k = 0; k < o.neutralizers; ++k) {
    schema.neutralizers.push_back(k == 0 ? "intercept" : padded("factor", k, 2));
  }
  schema.has_meta_model = true;
  schema.has_stakes = true;
  schema.has_sample_weights = o.sample_weights;
  return schema;
}

}  // namespace

SynthSummary synthesize(const SynthOptions& o) {
  validate(o);
  const auto start = std::chrono::steady_clock::now();
  const RandomKey root(o.seed);
  const StockPool pool = make_pool(o, root);
  const std::vector<ModelTraits> traits = make_traits(o, root);
  const FeatureLayout layout = make_feature_layout(o, root);
  std::vector<double> walk(o.models);

  StoreWriter writer(o.out, make_schema(o));
  SynthSummary summary;
  summary.models = o.models;
  EraProgress progress(o.progress, o.eras);
  std::vector<float> block;
  std::vector<double> partials;
  const int era_width = std::max(4, digits(o.eras));
  for (std::size_t e = 0; e < o.eras; ++e) {
    Era era;
    era.name = padded("era", e + 1, era_width);
    const EraLatent L = make_era(o, pool, layout, root, e, era);
    make_signals_data(o, root, e, L.universe, era.sample_weights, era.neutralizers);
    const std::vector<Submission> subs = era_submissions(traits, root, e, o.missing_ids, walk);
    const std::size_t n = L.universe.size(), m = subs.size();
    era.models.resize(m);
    era.stakes.resize(m);
    double total_stake = 0;
    for (std::size_t j = 0; j < m; ++j) {
      era.models[j] = static_cast<std::int32_t>(subs[j].model);
      era.stakes[j] = subs[j].stake;
      total_stake += subs[j].stake;
    }

    // Model columns, each gauss-ranked into its group's partial meta-model. Groups are fixed
    // ranges of columns summed in order, so the sums do not depend on the thread count.
    block.assign(m * n, 0.0f);
    const std::size_t groups = std::min(kMetaGroups, m);
    partials.assign(groups * n, 0.0);
    const GaussianTable table = GaussianTable::of(n);
    std::vector<RankScratch> scratch(static_cast<std::size_t>(omp_get_max_threads()));
    FirstError error;
    const std::ptrdiff_t n_groups = static_cast<std::ptrdiff_t>(groups);
#pragma omp parallel for schedule(dynamic)
    for (std::ptrdiff_t gg = 0; gg < n_groups; ++gg) {
      const auto g = static_cast<std::size_t>(gg);
      try {
        RankScratch& t = scratch[static_cast<std::size_t>(omp_get_thread_num())];
        const std::span<double> partial(partials.data() + g * n, n);
        for (std::size_t j = g * m / groups; j < (g + 1) * m / groups; ++j) {
          const std::span<float> col(block.data() + j * n, n);
          fill_column(traits[subs[j].model], subs[j], L, root, e, col);
          // Unstaked models weigh nothing, unless nobody is staked: then all weigh the same.
          const double weight = total_stake > 0 ? subs[j].stake : 1.0;
          if (weight > 0) add_gauss_ranked(col, weight, table, t, partial);
        }
      } catch (...) {
        error.capture(g);
      }
    }
    error.rethrow();
    era.meta_model.assign(n, 0.0);
    const double denominator = total_stake > 0 ? total_stake : static_cast<double>(m);
    for (std::size_t g = 0; g < groups; ++g) {
      for (std::size_t i = 0; i < n; ++i) era.meta_model[i] += partials[g * n + i];
    }
    if (m > 0) {
      for (double& v : era.meta_model) v /= denominator;
    }

    for (std::size_t j = 0; j < m; ++j) {
      const auto col = std::span(block).subspan(j * n, n);
      const auto nan = static_cast<std::size_t>(
          std::count_if(col.begin(), col.end(), [](float x) { return std::isnan(x); }));
      summary.missing += nan;
      summary.unscorable += static_cast<double>(nan) > 0.2 * static_cast<double>(n);
    }
    summary.model_eras += m;
    summary.predictions += m * n;
    summary.burn_eras += L.burn;
    summary.negative_meta += m > 0 && pearson(era.target(0), era.meta_model) < 0;

    writer.append_era(era, block);
    summary.eras = e + 1;
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    progress.update(e + 1, summary.predictions, elapsed.count());
  }
  writer.finish();
  progress.end();
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

}  // namespace backscore
