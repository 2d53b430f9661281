// The constants and small scalar steps of the built-in formulas, written once for every backend:
// the CPU's score_model (formulas.cpp) and the CUDA backend's host assembly of per-column
// statistics (host/run/cuda/score_assembly.cpp) both call these, so the two cannot drift apart.
// Operation for operation as numpy / numerai-tools compute them (see docs/FORMULAS.md); nothing
// here is needed inside a kernel (what is lives in core/hd/).
#pragma once

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <limits>
#include <span>

#include "host/era/stats.hpp"

namespace backscore::formula_parts {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// example-scripts' MMC2 divides the covariance by 0.29**2 (about the variance of U(0, 1)).
inline constexpr double kMmc2Scale = 0.29 * 0.29;

// numerai-tools' numerai_corr raises unless the powered predictions keep a Pearson of at least
// this with the gaussianized ones (or have zero std).
inline constexpr double kPowerCheckMin = 0.9;
// numerai-tools' power() assertion on a powered column: constant, or corr(x^p, x) >= 0.9 (it
// raises otherwise, and the formula is NaN).
inline bool power_ok(std::span<const double> powered, std::span<const double> x) {
  return zero_std(powered) || pearson(powered, x) >= kPowerCheckMin;
}

// Rank cutoffs of the two least-squares neutralizations (LeastSquaresProjector's rcond): fnc is
// numerai-tools' lstsq([features, 1], x, rcond=1e-6), mmc2 the example-scripts' lstsq with
// rcond=None, numpy's eps * max(rows, columns) (2 columns: [uniform meta-model, constant]).
inline constexpr double kFncRcond = 1e-6;
inline double mmc2_rcond(std::size_t n) {
  return DBL_EPSILON * static_cast<double>(std::max<std::size_t>(n, 2));
}

// Whether a top/bottom size k (> 0) is within numerai-tools' assumption 2k <= n; outside it the
// score is NaN.
inline bool top_bottom_fits(std::size_t k, std::size_t n) { return 2 * k <= n; }

// MMC2 from the covariance of the neutralized ranks with the target.
inline double mmc2_from_covariance(double cov) { return cov / kMmc2Scale; }

// A burn era: the meta-model's corr_v1 is negative (mmc2_burnflip then flips).
inline bool is_burn_era(double meta_corr_v1) { return meta_corr_v1 < 0; }

// max of the burn-era proposal; NaN if any term is NaN (Python's max returns its first argument
// when that is NaN, the only term that can be NaN alone here: see docs/FORMULAS.md).
inline double nan_max3(double a, double b, double c) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(c)) return kNaN;
  return std::max(a, std::max(b, c));
}

// mmc2_burnflip in a burn era: max((1 - xcorr)(corr_v1 - mm_corr), mmc2 with proportion -1,
// corr_v1), xcorr = corr_v1 of the predictions against the meta-model.
inline double burnflip_value(double corr_v1, double xcorr, double meta_corr_v1,
                             double mmc2_flipped) {
  return nan_max3((1 - xcorr) * (corr_v1 - meta_corr_v1), mmc2_flipped, corr_v1);
}

}  // namespace backscore::formula_parts
