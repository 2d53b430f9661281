// `backscore report --simulation SIM.h5`: the section of the page that shows what `backscore
// simulate` found, i.e. what stakes and the meta-model would have become under each payout
// rule. It has the rules, which rule grows the better meta-model (the per-era difference of
// mm_corr with a Newey-West interval, over the whole history and its second half), a per-rule
// summary, and four plots with one line per rule and burn eras shaded: cumulative mm_corr,
// effective_models, gini and total_stake. Written alone as a page, or appended to the scores
// report (report.hpp). Definitions: docs/FORMULAS.md, "Simulation".
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "io/sim_file.hpp"

namespace backscore {

// The id of every <svg> of the section: sim-cum-mm-corr, sim-effective-models, sim-gini,
// sim-total-stake.
std::vector<std::string> simulation_plot_ids();

// The section's HTML: <h2 id="simulation">, then <h3 id="sim-rules">, "sim-comparison",
// "sim-rule-summary" and "sim-plots" with the plots. Throws InputError (naming the file) when
// the file cannot be read.
std::string simulation_section(const SimulationFileReader& sim);

struct SimulationReportSummary {
  std::size_t rules = 0, eras = 0;
  std::vector<std::string> plot_ids;
};

// A page holding the simulation section alone, written to `out` under a temporary name renamed
// when complete (nothing written when the file is bad).
SimulationReportSummary write_simulation_report(const SimulationFileReader& sim,
                                                const std::filesystem::path& out);

}  // namespace backscore
