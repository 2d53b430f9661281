// The formulas' scores of one column from its results slots (kernels/result_layout.hpp) and the
// era's scalars: the host half of the CUDA scorer, as host/era/formulas.cpp computes each score,
// through the same helpers (host/era/formula_parts.hpp).
#pragma once

#include "host/era/formulas.hpp"
#include "host/run/cuda/batch_plan.hpp"

namespace backscore::cuda {

// The score of column `results` (plan.slots.stride doubles) under f: NaN where score_model gives
// NaN (including defined formulas, which the plan evaluator scores on the CPU).
double assemble_score(const FormulaSpec& f, const double* results, const BatchPlan& plan);

// simulate's xcorr of the column: Pearson of its gaussianized ranks with the era's meta-model
// (the CPU's pearson), NaN when the plan has no such stage.
double assemble_meta_pearson(const double* results, const BatchPlan& plan);

}  // namespace backscore::cuda
