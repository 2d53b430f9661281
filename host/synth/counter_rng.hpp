// Counter-based random numbers for `backscore synth`: every number is a pure function of
// (seed, stream, indices...), never of the order in which numbers were drawn. Any prediction
// column can therefore be generated on any thread, in any order, and a store written with one
// thread is byte-identical to one written with sixteen.
//
// A RandomKey names a stream; key.at(i) names its i-th sub-stream (e.g. seed -> stream -> era ->
// model), and key.bits(i) is the i-th 64-bit word of the stream: the splitmix64 output for
// counter i (Steele, Lea & Flood 2014), which passes BigCrush as a sequence.
#pragma once

#include <cmath>
#include <cstdint>

namespace backscore {

// The splitmix64 finalizer: a bijective 64-bit mix.
inline constexpr std::uint64_t mix64(std::uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class RandomKey {
 public:
  constexpr explicit RandomKey(std::uint64_t seed) : state_(mix64(seed ^ 0x6a09e667f3bcc909ULL)) {}

  // The sub-stream i of this stream. Mixing twice decorrelates neighbouring sub-streams, whose
  // states would otherwise be consecutive splitmix64 outputs of one sequence.
  constexpr RandomKey at(std::uint64_t i) const { return RandomKey(Raw{}, mix64(bits(i))); }

  // The i-th 64 random bits: splitmix64's output for counter i.
  constexpr std::uint64_t bits(std::uint64_t i) const {
    return mix64(state_ + (i + 1) * 0x9e3779b97f4a7c15ULL);
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform(std::uint64_t i) const { return static_cast<double>(bits(i) >> 11) * 0x1.0p-53; }

  // Standard normal by Marsaglia's polar method from the two 32-bit halves of one word (no sin or
  // cos, which cost as much as the rest together); a rejected pair (21%) redraws from a mix of
  // the word, so the result is still a function of (stream, i) alone.
  double normal(std::uint64_t i) const {
    std::uint64_t b = bits(i);
    for (;;) {
      const double u = static_cast<double>(static_cast<std::int32_t>(b >> 32)) * 0x1.0p-31;
      const double v =
          static_cast<double>(static_cast<std::int32_t>(b & 0xffffffffULL)) * 0x1.0p-31;
      const double s = u * u + v * v;
      if (s < 1.0 && s > 0.0) return u * std::sqrt(-2.0 * std::log(s) / s);
      b = mix64(b + 0x9e3779b97f4a7c15ULL);
    }
  }

 private:
  struct Raw {};
  constexpr RandomKey(Raw, std::uint64_t state) : state_(state) {}
  std::uint64_t state_;
};

}  // namespace backscore
