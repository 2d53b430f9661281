// The synthetic features' structure and the bucketing of latents into Numerai's values (see
// synth.cpp for the model of the data): which features duplicate which, how many are in groups
// or constant, and the sorts that turn a latent into target buckets or feature quintiles.
// Internal to host/synth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "host/era/rank.hpp"
#include "host/synth/counter_rng.hpp"
#include "host/synth/synth.hpp"

namespace backscore::synth_detail {

// Numerai's target buckets {0, .25, .5, .75, 1} by exact quantiles 5/20/50/20/5 %.
void bucketize(std::span<const double> latent, StableSorter& sorter,
               std::vector<std::uint32_t>& order, std::span<double> out);

// Quintiles 0..4, the integer features.
void quintiles(std::span<const double> latent, StableSorter& sorter,
               std::vector<std::uint32_t>& order, std::span<double> out);

// max(1, round(share x total)) when share > 0, at most total; 0 when share is 0.
std::size_t share_count(double share, std::size_t total);

// `count` distinct indices of [lo, hi), a function of key alone: a partial Fisher-Yates shuffle.
std::vector<std::uint32_t> choose(const RandomKey& key, std::size_t count, std::size_t lo,
                                  std::size_t hi);

// Feature groups of --feature-group-size (0 when off).
std::size_t feature_groups(const SynthOptions& o);

// Which features duplicate which, fixed for the whole history.
struct FeatureLayout {
  std::vector<std::size_t> source;  // source[f] == f, or the earlier feature that f copies
};
FeatureLayout make_feature_layout(const SynthOptions& o, const RandomKey& root);

}  // namespace backscore::synth_detail
