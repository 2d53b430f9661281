// The checks of SynthOptions, for synthesize(). Internal to host/synth.
#pragma once

#include "host/synth/synth.hpp"

namespace backscore::synth_detail {

// Throws an OptionError (core/error.hpp) naming the first field out of range.
void validate(const SynthOptions& o);

}  // namespace backscore::synth_detail
