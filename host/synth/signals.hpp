// Numerai Signals' per-era data for a synthetic history (--neutralizers K, --sample-weights):
// see signals.cpp for the model. Internal to host/synth.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "host/synth/counter_rng.hpp"
#include "host/synth/synth.hpp"

namespace backscore::synth_detail {

// Era e's sample weights (n, when o.sample_weights) and neutralizers (o.neutralizers x n) of the
// stocks whose pool indices are `universe`.
void make_signals_data(const SynthOptions& o, const RandomKey& root, std::size_t e,
                       std::span<const std::uint32_t> universe, std::vector<double>& weights,
                       std::vector<double>& neutralizers);

}  // namespace backscore::synth_detail
