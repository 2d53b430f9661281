// Per-element steps of the scoring pipeline, written once for the CPU and the GPU: the percentile
// of a rank and numerai-tools' signed power.
#pragma once

#include <cmath>

#include "core/hd/hd.hpp"

namespace backscore {

// numerai-tools' rank(): (rank - 0.5) / count, with `rank1` the 1-based pandas rank (an integer
// for "first", an integer or half-integer for "average"). Both operations are exact or correctly
// rounded, so this matches pandas bit for bit.
BACKSCORE_HD inline double percentile(double rank1, double n) { return (rank1 - 0.5) / n; }

// numerai-tools' power(): np.sign(x) * np.abs(x) ** p, where sign(0) = 0 (so 0 and -0 map to 0).
BACKSCORE_HD inline double signed_pow(double x, double p) {
  const double sign = x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
  return sign * pow(fabs(x), p);
}

}  // namespace backscore
