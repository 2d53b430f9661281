// The synthetic features' structure and the bucketing (see features.hpp).
#include "host/synth/features.hpp"

#include <algorithm>
#include <cmath>

#include "host/synth/population.hpp"

namespace backscore::synth_detail {

// Numerai's target buckets by exact quantiles 5/20/50/20/5 %.
void bucketize(std::span<const double> latent, StableSorter& sorter,
               std::vector<std::uint32_t>& order, std::span<double> out) {
  const std::size_t n = latent.size();
  order.resize(n);
  sorter.sort(latent, order);
  for (std::size_t r = 0; r < n; ++r) {
    const double q = (static_cast<double>(r) + 0.5) / static_cast<double>(n);
    out[order[r]] = q < 0.05 ? 0.0 : q < 0.25 ? 0.25 : q < 0.75 ? 0.5 : q < 0.95 ? 0.75 : 1.0;
  }
}

// Quintiles 0..4, the integer features.
void quintiles(std::span<const double> latent, StableSorter& sorter,
               std::vector<std::uint32_t>& order, std::span<double> out) {
  const std::size_t n = latent.size();
  order.resize(n);
  sorter.sort(latent, order);
  for (std::size_t r = 0; r < n; ++r) out[order[r]] = static_cast<double>(r * 5 / n);
}

// max(1, round(share x total)) when share > 0, at most total; 0 when share is 0.
std::size_t share_count(double share, std::size_t total) {
  if (!(share > 0) || total == 0) return 0;
  const auto count = static_cast<std::size_t>(std::llround(share * static_cast<double>(total)));
  return std::clamp<std::size_t>(count, 1, total);
}

// `count` distinct indices of [lo, hi), a function of key alone: a partial Fisher-Yates shuffle.
std::vector<std::uint32_t> choose(const RandomKey& key, std::size_t count, std::size_t lo,
                                  std::size_t hi) {
  std::vector<std::uint32_t> pool(hi - lo);
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i] = static_cast<std::uint32_t>(lo + i);
  count = std::min(count, pool.size());
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t span = pool.size() - i;
    const std::size_t pick =
        i +
        std::min(span - 1, static_cast<std::size_t>(key.uniform(i) * static_cast<double>(span)));
    std::swap(pool[i], pool[pick]);
  }
  pool.resize(count);
  return pool;
}

std::size_t feature_groups(const SynthOptions& o) {
  return o.feature_group_size == 0 ? 0
                                   : (o.features + o.feature_group_size - 1) / o.feature_group_size;
}

FeatureLayout make_feature_layout(const SynthOptions& o, const RandomKey& root) {
  FeatureLayout layout;
  layout.source.resize(o.features);
  for (std::size_t f = 0; f < o.features; ++f) layout.source[f] = f;
  if (o.features < 2) return layout;
  const RandomKey key = root.at(kFeatureDuplicate);
  std::vector<std::uint32_t> copies =
      choose(key.at(0), share_count(o.duplicate_features, o.features - 1), 1, o.features);
  std::sort(copies.begin(), copies.end());
  // Each copies a uniform earlier feature, or that feature's source if it is itself a copy.
  const RandomKey from = key.at(1);
  for (std::uint32_t f : copies) {
    const auto earlier = std::min<std::size_t>(
        f - 1, static_cast<std::size_t>(from.uniform(f) * static_cast<double>(f)));
    layout.source[f] = layout.source[earlier];
  }
  return layout;
}

}  // namespace backscore::synth_detail
