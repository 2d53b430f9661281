// Final outputs of `backscore run`, assembled from the journal one era at a time: the scores
// file (written by io/scores_file.hpp's ScoresFileWriter: per formula a models x eras float64
// matrix), the long CSV, and the per-formula summary printed at the end. Each file is written
// under a temporary name and renamed whole.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "host/era/formulas.hpp"
#include "io/store.hpp"

namespace backscore {

struct ScoreOutputSpec {
  std::optional<std::filesystem::path> h5;
  std::optional<std::filesystem::path> csv;
  std::vector<FormulaSpec> formulas;
  std::vector<std::size_t> eras;  // store era indices of the run, in order
  std::string target;             // target name scored against
  std::string benchmark;          // benchmark name used by bmc ("" when none)
};

struct FormulaSummary {
  std::string name;
  std::size_t scored = 0;  // model-eras with a finite score
  double mean = 0, std = 0;
  double era_sharpe = 0;  // mean / std (ddof 0) over eras of the era-average score
  double positive = 0;    // fraction of scored model-eras > 0
};

// Reads the journal and writes the requested outputs; returns the per-formula summary.
std::vector<FormulaSummary> write_score_outputs(const StoreReader& store,
                                                const ScoreOutputSpec& spec,
                                                const std::filesystem::path& journal,
                                                const std::string& fingerprint);

}  // namespace backscore
