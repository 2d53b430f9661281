// numerai-tools 0.7.2's Signals-era formulas on one model's column (docs/FORMULAS.md), the
// pieces ModelEval (formulas.cpp) and mpc's portfolio (host/run/mpc_portfolio.*) put together.
// Internal to host/era and host/run.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "host/era/era_context.hpp"

namespace backscore::signals {

// numerai-tools' neutralize(x, neutralizers): x minus its least-squares fit on [neutralizers, 1]
// (lstsq rcond=1e-6), into out. False when x has zero std (neutralize() then makes it NaN).
bool neutralize(const EraContext& ctx, std::span<const double> x, std::span<double> out,
                std::vector<double>& work);

// generate_neutralized_weights of one column from its powered = gauss(tie-kept rank)^1.5:
// (s - N (N^T (w s))) w, N the neutralizers and w the sample weights on ctx's rows (no least
// squares: numerai-tools assumes N^T diag(w) N = I, as Numerai's neutralizers are built).
void neutral_weights(const EraContext& ctx, std::span<const double> powered, std::span<double> out,
                     std::vector<double>& work);

// alpha: weights . (target centered over the whole era, on the rows) / rows.
double alpha(const EraContext& ctx, std::span<const double> weights);

// max_feature_correlation: max over the features f of |Pearson(f, pred)| on the rows (kept rows
// only when kept is not empty: the top/bottom restriction), NaN when every one is NaN (a
// constant pred, or constant features).
double max_feature_corr(const EraContext& ctx, std::span<const double> pred,
                        std::span<const char> kept, std::vector<double>& gather_a,
                        std::vector<double>& gather_b);

// One model's neutralized weights for mpc's portfolio: gauss(tie-kept rank(pred))^1.5 with
// numerai-tools' power() check (false when it fails: the whole era's mpc then raises), then
// neutral_weights. pred holds ctx.size() values; scratch as score_model's.
bool portfolio_weights(const EraContext& ctx, std::span<const double> pred, std::span<double> out,
                       ModelScratch& scratch);

// meta_portfolio_contribution of the K models whose neutralized weights are the columns of W
// (n x K, column j at [j * n]) and whose stakes are `stakes`, against `target` (the raw target
// on the same n rows, centered here): into out (K values, all NaN when the stakes sum to 0 or the
// portfolio is 0). W is modified (centered).
void mpc(std::span<double> w, std::size_t n, std::span<const double> stakes,
         std::span<const double> target, std::span<double> out);

}  // namespace backscore::signals
