// SynthOptions: the numerai preset and the checks (see synth.hpp, options.hpp).
#include "host/synth/options.hpp"

#include "core/error.hpp"

namespace backscore {

SynthOptions numerai_preset() {
  SynthOptions o;
  o.models = 1000;
  o.eras = 20;
  o.stocks = 5000;
  o.features = 2376;
  o.feature_group_size = 20;
  o.duplicate_features = 0.01;
  o.constant_features = 0.005;
  o.burn_fraction = 0.25;
  return o;
}

namespace synth_detail {

void validate(const SynthOptions& o) {
  if (o.models < 1) throw OptionError({"synth: ", "models", " must be at least 1"});
  if (o.eras < 1) throw OptionError({"synth: ", "eras", " must be at least 1"});
  if (o.stocks < 10) throw OptionError({"synth: ", "stocks", " must be at least 10"});
  if (o.stocks > 10'000'000) throw OptionError({"synth: ", "stocks", " must be at most 10000000"});
  if (o.models > 2'000'000'000)
    throw OptionError({"synth: ", "models", " must fit a 32-bit index"});
  if (!(o.burn_fraction >= 0.0 && o.burn_fraction <= 1.0)) {
    throw OptionError({"synth: ", "burn_fraction", " must be in [0, 1]"});
  }
  if (!(o.duplicate_features >= 0.0 && o.duplicate_features <= 1.0)) {
    throw OptionError({"synth: ", "duplicate_features", " must be in [0, 1]"});
  }
  if (!(o.constant_features >= 0.0 && o.constant_features <= 1.0)) {
    throw OptionError({"synth: ", "constant_features", " must be in [0, 1]"});
  }
  if (!(o.missing_ids >= 0.0 && o.missing_ids <= kSloppyShare)) {
    throw OptionError({"synth: ", "missing_ids", " must be in [0, 0.2]"});
  }
  if (o.out.empty()) throw OptionError({"synth: ", "out", " is required"});
}

}  // namespace synth_detail
}  // namespace backscore
