// The model diagnostics of `compare` and `report` beyond mean, std, Sharpe and max drawdown: the
// lag-1 autocorrelation of a model's era scores, the Sharpe ratio penalized by it ("smart
// Sharpe"), the Calmar ratio, the annualized compounded return under a payout rule (APY) and the
// mean over eras of a per-era diagnostic column (max feature exposure). Definitions and sources:
// docs/FORMULAS.md, "Model diagnostics". Pure functions; churn, which needs the store, is in
// churn.hpp.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace backscore {

struct ScoreMatrix;

// The eras per year of the annualized diagnostics (Calmar, APY) unless --eras-per-year says
// otherwise: one era per week, as in Numerai's classic data.
inline constexpr double kDefaultErasPerYear = 52;

// np.corrcoef(x[:-1], x[1:])[0, 1] of the series (the Pearson correlation of each value with the
// next): NaN with fewer than 3 values or a constant side.
double autocorrelation_lag1(std::span<const double> x);

// sqrt(1 + 2 * sum_{i=1}^{n-1} ((n - i) / n) * rho^i): Lo (2002)'s correction of the Sharpe ratio
// of n periods whose returns follow an AR(1) with coefficient rho. NaN when rho is NaN or the
// radicand is not positive.
double autocorrelation_penalty(std::size_t n, double rho);

// mean(x) / (std(x, ddof=1) * autocorrelation_penalty(n, autocorrelation_lag1(x))): NaN with
// fewer than 3 values, zero std or no autocorrelation.
double smart_sharpe(std::span<const double> x);

// eras_per_year * mean / max_drawdown (both of the era scores); NaN when the drawdown is 0 or NaN.
double calmar_ratio(double mean, double max_drawdown, double eras_per_year);

// growth^(eras_per_year / eras) - 1: the yearly rate that compounds to `growth` over `eras` eras
// (-1 when growth is 0); NaN without eras.
double annualized_return(double growth, std::size_t eras, double eras_per_year);

// The mean of each model's finite values of `m` (NaN when it has none), in the model table's
// order: the max feature exposure from the max_feature_corr column.
std::vector<double> mean_by_model(const ScoreMatrix& m);

// The per-era diagnostic column whose mean is the max feature exposure.
inline constexpr const char* kMaxFeatureCorrColumn = "max_feature_corr";

}  // namespace backscore
