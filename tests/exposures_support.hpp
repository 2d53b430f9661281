// Exposure matrices for the least-squares tests (CPU and GPU) and a span check on projectors.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "host/era/least_squares.hpp"

namespace backscore::testing {

// [features, 1] (n x (f + 1), column-major): Numerai-like integer features (0..4 / 4) and
// continuous ones; when deficient also exact duplicates, constants (2 and 0.5, next to the
// intercept), a zero column and linear combinations of earlier features.
inline std::vector<double> exposures(std::size_t n, std::size_t f, bool deficient,
                                     std::mt19937_64& rng) {
  std::uniform_int_distribution<int> bucket(0, 4);
  std::normal_distribution<double> normal;
  std::vector<double> x(n * (f + 1));
  for (std::size_t j = 0; j < f; ++j) {
    double* c = x.data() + j * n;
    if (deficient && j >= 4 && j % 7 == 0) {
      std::copy(x.data() + (j / 2) * n, x.data() + (j / 2 + 1) * n, c);
    } else if (deficient && j % 11 == 5) {
      std::fill(c, c + n, j % 2 ? 2.0 : 0.5);
    } else if (deficient && j == 9) {
      std::fill(c, c + n, 0.0);
    } else if (deficient && j >= 3 && j % 13 == 3) {
      for (std::size_t i = 0; i < n; ++i) c[i] = x[(j - 1) * n + i] - 0.5 * x[(j - 3) * n + i];
    } else {
      for (std::size_t i = 0; i < n; ++i) c[i] = j % 3 ? bucket(rng) * 0.25 : normal(rng);
    }
  }
  std::fill(x.begin() + static_cast<std::ptrdiff_t>(f * n), x.end(), 1.0);
  return x;
}

// How many of the columns `which` lie outside p's span (residual above 1e-9 of the column).
inline std::size_t outside_span(const std::vector<double>& x, std::size_t n,
                                std::span<const std::size_t> which,
                                const LeastSquaresProjector& p) {
  std::size_t out = 0;
  std::vector<double> res(n);
  for (std::size_t j : which) {
    p.residual(x.data() + j * n, 1.0, res.data());
    double a = 0, b = 0;
    for (std::size_t i = 0; i < n; ++i) {
      a = std::max(a, std::abs(res[i]));
      b = std::max(b, std::abs(x[j * n + i]));
    }
    out += a > 1e-9 * b;
  }
  return out;
}

}  // namespace backscore::testing
