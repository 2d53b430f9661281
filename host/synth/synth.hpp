// `backscore synth`: a realistic synthetic tournament history (crowd signal, burn eras, stakes,
// a stake-weighted meta-model, ties, missing ids, models joining and leaving), deterministic by
// seed and streamed era by era into a store. The model of the data is described in synth.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace backscore {

// Share of the model table that is "sloppy": the models that leave a few ids out in some eras.
inline constexpr double kSloppyShare = 0.2;

struct SynthOptions {
  std::size_t models = 200;  // size of the model table; ~57% of it submits in an era
  std::size_t eras = 50;
  std::size_t stocks = 2000;  // mean stocks per era; each era draws stocks * U(0.8, 1.2)
  std::size_t features = 0;   // integer features 0..4 correlated with the target
  // Numerai-like feature structure (all off by default: independent features, as before).
  std::size_t feature_group_size = 0;  // features per correlated group; 0 = no groups
  double duplicate_features = 0;       // share of features that copy another's values, all eras
  double constant_features = 0;        // share of features constant (2) in each era
  double burn_fraction = 0.25;  // probability that an era is a burn era (crowd anti-correlated)
  // Share of model-eras that leave 1-5% of the era's ids out (scored on their own subset), at
  // most kSloppyShare (they come from the "sloppy" models). Another 2% leave 25-50% out.
  double missing_ids = 0.05;
  // Numerai Signals' per-era data (off by default: the default store is unchanged): neutralizer
  // columns (host/synth/signals.cpp) and sample weights per stock.
  std::size_t neutralizers = 0;
  bool sample_weights = false;
  std::uint64_t seed = 1;
  std::filesystem::path out;  // the store to write
  bool progress = true;       // a progress line on stderr, only when stderr is a terminal
};

// What synthesize wrote, for the one-line summary.
struct SynthSummary {
  std::size_t eras = 0;
  std::size_t models = 0;
  std::size_t model_eras = 0;     // submitted (model, era) pairs
  std::size_t predictions = 0;    // cells of the prediction matrices, NaN included
  std::size_t missing = 0;        // NaN cells (ids a model did not submit)
  std::size_t unscorable = 0;     // model-eras missing more than 20% of the era's ids
  std::size_t burn_eras = 0;      // eras drawn as burn eras
  std::size_t negative_meta = 0;  // eras where Pearson(target, meta-model) < 0
  double seconds = 0;
};

// The preset `--preset numerai`: Numerai's dimensions (5,000 stocks, 2,376 features, 1,000
// models) and its feature structure (groups of 20, 1% exact duplicates, 0.5% of features constant
// per era). Sets every field except out, seed and progress.
SynthOptions numerai_preset();

// Writes the history to options.out (through a temporary file, renamed when complete). Throws
// InputError for an unwritable path, and an OptionError (core/error.hpp) naming the field
// of SynthOptions for an option out of range. Memory: one era at a time.
SynthSummary synthesize(const SynthOptions& options);

}  // namespace backscore
