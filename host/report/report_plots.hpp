// The plots of `backscore report`, each one inline SVG element with a fixed id (report.hpp's
// report_plot_ids). Internal to host/report.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "host/report/audit.hpp"
#include "host/report/compare.hpp"

namespace backscore::svg {

// cum-F: the cumulative score of the models `rows` under one formula, era by era.
std::string plot_cumulative(const ScoreMatrix& m, const std::vector<std::size_t>& rows,
                            const std::vector<std::string>& models,
                            const std::vector<std::string>& eras);
// scatter-F: score against xcorr, burn and other eras apart, with each one's mean per xcorr bin.
std::string plot_scatter(const ScoreMatrix& m, const AuditQuantities& q);
// dist-F: the per-era min-max and quartile bands of one formula, burn eras shaded.
std::string plot_distribution(const ScoreMatrix& m, const AuditQuantities& q,
                              const std::vector<std::string>& eras);
// corr-matrix: the mean per-era Spearman of every pair of formulas.
std::string plot_corr_matrix(const std::vector<std::string>& names,
                             const std::vector<std::vector<double>>& v);
// audit-slopes: each formula's xcorr slope with its 95% interval, burn and other eras.
std::string plot_slopes(const std::vector<AuditResult>& results);
// payout-totals: total payout per formula, the baseline as paid first.
std::string plot_payouts(const std::vector<std::pair<std::string, double>>& bars);

}  // namespace backscore::svg
