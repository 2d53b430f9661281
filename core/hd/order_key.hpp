// Order-preserving unsigned keys of floats and doubles for radix sorts, shared by the CPU tests
// and the CUDA sorts: key(a) < key(b) <=> a < b for non-NaN values, and -0.0 gets the key of 0.0
// so the two tie (pandas ranks them as equal). NaN must never be keyed (callers exclude it).
#pragma once

#include <cstdint>
#include <cstring>

#include "core/hd/hd.hpp"

namespace backscore {

BACKSCORE_HD inline std::uint32_t order_key32(float v) {
  const float w = v == 0.0f ? 0.0f : v;
  std::uint32_t u;
  std::memcpy(&u, &w, sizeof u);
  constexpr std::uint32_t kSign = 0x80000000u;
  return (u & kSign) ? ~u : (u | kSign);
}

BACKSCORE_HD inline std::uint64_t order_key64(double v) {
  const double w = v == 0.0 ? 0.0 : v;
  std::uint64_t u;
  std::memcpy(&u, &w, sizeof u);
  constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
  return (u & kSign) ? ~u : (u | kSign);
}

}  // namespace backscore
