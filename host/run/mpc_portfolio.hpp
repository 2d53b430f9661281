// mpc (numerai-tools meta_portfolio_contribution) couples an era's models: every model's
// neutralized weights enter the stake-weighted portfolio whose gradient each model's score is. So
// it is computed once per era, after the era's last batch, over the portfolio of the models that
// submitted every id of the era (selected by --models or not: the portfolio is the era's), each
// with its stake. A model with ids missing is not in the portfolio and gets NaN (numerai-tools
// would drop the ids any model misses for everyone; docs/FORMULAS.md, "mpc"). Memory: the
// portfolio's weights, stocks x complete models doubles, for the era being scored.
// Deterministic: each model's weights depend only on its column, and the era's sums run in
// model order.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/run/batch_reader.hpp"

namespace backscore {

class MpcPortfolio {
 public:
  // columns: the output columns that are mpc (their value in every scored row is set at the era's
  // end); outputs: the values per row.
  MpcPortfolio(std::vector<std::size_t> columns, std::size_t outputs)
      : columns_(std::move(columns)), outputs_(outputs) {}

  void begin_era();
  // Adds the batch's columns with every id present to the era's portfolio; slot[j] is column j's
  // output row (-1: not selected, still in the portfolio). ctx: the era's stages on all its ids.
  // scratch: one per OpenMP thread.
  void add_batch(const Batch& batch, std::span<const std::ptrdiff_t> slot, const EraContext& ctx,
                 std::span<ModelScratch> scratch);
  // Every portfolio model's mpc into out[slot * outputs + c] for each mpc column c (NaN for all
  // of them when numerai-tools would raise: a failed power() check, stakes summing to 0).
  void finish_era(const EraContext& ctx, std::span<double> out);

 private:
  std::vector<std::size_t> columns_;
  std::size_t outputs_;
  std::size_t n_ = 0;
  std::vector<double> weights_;  // n x models, model j at [j * n]
  std::vector<double> stakes_;
  std::vector<std::ptrdiff_t> slots_;
  bool power_failed_ = false;
};

}  // namespace backscore
