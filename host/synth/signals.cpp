// Sample weights and neutralizers of a synthetic era (see signals.hpp), as Numerai Signals gives
// them with each round's universe:
// - sample weight w_i = exp(0.5 g_i) / mean over the era, g_i ~ N(0, 1) fixed per stock (a
//   liquidity-like size that changes slowly as the universe does);
// - neutralizers: K columns whose raw form is the constant 1 (column 0), then risk-factor-like
//   columns a_k u_i + sqrt(1 - a_k^2) (0.8 h_ki + 0.6 f_kie): u the crowd's fixed style (so
//   neutralizing removes part of what the crowd shares), a_k ~ U(0.1, 0.6) per column, h fixed per
//   stock, f fresh each era. They are then orthonormalized with the sample weights (modified
//   Gram-Schmidt, twice): N^T diag(w) N = I, the form numerai-tools' alpha and
//   meta_portfolio_contribution assume when they compute s - N (N^T (w s)) (without weights, w = 1).
//   A column that is (numerically) in the span of the earlier ones stays 0.
#include "host/synth/signals.hpp"

#include <cmath>

#include "host/synth/population.hpp"

namespace backscore::synth_detail {

void make_signals_data(const SynthOptions& o, const RandomKey& root, std::size_t e,
                       std::span<const std::uint32_t> universe, std::vector<double>& weights,
                       std::vector<double>& neutralizers) {
  const std::size_t n = universe.size(), k_count = o.neutralizers;
  weights.clear();
  neutralizers.clear();
  std::vector<double> w(n, 1.0);
  if (o.sample_weights) {
    const RandomKey size = root.at(kSampleWeight);
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      w[i] = std::exp(0.5 * size.normal(universe[i]));
      sum += w[i];
    }
    for (double& x : w) x *= static_cast<double>(n) / sum;
    weights = w;
  }
  if (k_count == 0) return;
  neutralizers.assign(k_count * n, 0.0);
  const RandomKey share = root.at(kNeutralizerShare), style = root.at(kCrowdStyle),
                  fixed = root.at(kNeutralizerStyle), fresh = root.at(kNeutralizerNoise);
  for (std::size_t k = 0; k < k_count; ++k) {
    double* col = neutralizers.data() + k * n;
    if (k == 0) {
      for (std::size_t i = 0; i < n; ++i) col[i] = 1.0;
    } else {
      const double a = 0.1 + 0.5 * share.uniform(k), rest = std::sqrt(1 - a * a);
      for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t id = universe[i];
        col[i] = a * style.normal(id) +
                 rest * (0.8 * fixed.at(k).normal(id) + 0.6 * fresh.at(k).at(e).normal(id));
      }
    }
    // Orthonormal to the earlier columns under <x, y> = sum w x y; twice, for accuracy.
    auto dot = [&](const double* x, const double* y) {
      double s = 0;
      for (std::size_t i = 0; i < n; ++i) s += w[i] * x[i] * y[i];
      return s;
    };
    const double norm0 = std::sqrt(dot(col, col));
    for (int pass = 0; pass < 2; ++pass) {
      for (std::size_t j = 0; j < k; ++j) {
        const double* q = neutralizers.data() + j * n;
        const double c = dot(col, q);
        for (std::size_t i = 0; i < n; ++i) col[i] -= c * q[i];
      }
    }
    const double norm = std::sqrt(dot(col, col));
    if (!(norm > 1e-10 * norm0)) {
      for (std::size_t i = 0; i < n; ++i) col[i] = 0;
    } else {
      for (std::size_t i = 0; i < n; ++i) col[i] /= norm;
    }
  }
}

}  // namespace backscore::synth_detail
