// The population of a synthetic history (see synth.cpp for the model of the data): the named
// random streams, the pool of stock ids the eras draw their universes from, and the models'
// fixed traits. Internal to host/synth.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/synth/counter_rng.hpp"
#include "host/synth/synth.hpp"

namespace backscore::synth_detail {

// Named streams: the first level under the seed, so a new stream never shifts another's numbers.
enum Stream : std::uint64_t {
  kStockId = 1,
  kStockPriority,
  kEraSize,
  kEraRegime,
  kSignalShock,
  kTargetShock,
  kTargetBNoise,
  kCrowdStyle,
  kCrowdNoise,
  kBenchmarkNoise,
  kFeatureWeight,
  kFeatureStyle,
  kFeatureNoise,
  kModelTraits,
  kModelEra,
  kOwnNoise,
  kMissing,
  kStakeWalk,
  kFeatureGroupStyle,
  kFeatureGroupNoise,
  kFeatureGroupShare,
  kFeatureDuplicate,
  kFeatureConstant,
  kSampleWeight,
  kNeutralizerShare,
  kNeutralizerStyle,
  kNeutralizerNoise,
};

struct StockPool {
  std::vector<std::string> ids;        // pool index -> id
  std::vector<std::uint32_t> id_rank;  // pool index -> position of its id in byte order
  std::vector<double> priority;        // lower = present in more eras
  std::size_t window = 0, turnover = 0;
};
StockPool make_pool(const SynthOptions& o, const RandomKey& root);
// The pool indices of era e's stocks, in id order.
std::vector<std::uint32_t> era_universe(const StockPool& pool, const SynthOptions& o,
                                        const RandomKey& root, std::size_t e);

enum class Rounding { none, cents, quintiles };

struct ModelTraits {
  double crowd = 0;      // exposure b to the crowd signal (1 - originality)
  double skill = 0;      // corr(own signal, z)
  double sharpness = 1;  // a in Phi(a x): how spread its (0, 1) values are
  Rounding rounding = Rounding::none;
  bool sloppy = false;          // misses a few ids in some eras (kSloppyShare of the models)
  bool constant_prone = false;  // submits a constant vector in some eras
  bool veteran = false;         // present and staked in every era
  bool staked = true;
  std::size_t start = 0, end = 0;  // submits in eras [start, end)
  double log_stake = 0;            // mu of the stake
};
std::vector<ModelTraits> make_traits(const SynthOptions& o, const RandomKey& root);

// What one model does in one era.
struct Submission {
  std::size_t model = 0;
  double stake = 0;
  double missing = 0;  // probability that an id is left out
  bool constant = false;
};

}  // namespace backscore::synth_detail
