// Churn, the model diagnostic that needs the store: how much a model's predictions change from
// one era to the next. For a model that submitted era e and the era before it in the history,
// churn_e = 1 - Pearson(its predictions in e-1, its predictions in e) over the ids present in
// both eras that it predicted in both (docs/FORMULAS.md, "Model diagnostics"); the model's churn
// is the mean over its era pairs with a value. Streamed era by era: memory holds two eras'
// predictions of the scores file's models, whatever the history's length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore {

class ChurnTracker {
 public:
  // n_models: rows of the scores file's model table.
  explicit ChurnTracker(std::size_t n_models);

  // Starts the next era of the history, `ids` its stock ids (sorted ascending by bytes, unique,
  // as the store keeps them); the era started before becomes the one compared to.
  void begin_era(std::span<const std::string> ids);
  // Columns of the current era: column c is preds[c * n .. (c + 1) * n) (n = the era's ids, NaN
  // = an id not predicted), its model's row of the scores file rows[c] (SIZE_MAX: not in it).
  // Each column's churn against its model's column of the previous era is computed on all
  // cores, and the column kept for the next era. A row given twice in one era is a bug
  // (std::invalid_argument).
  void add_columns(std::span<const std::size_t> rows, std::span<const float> preds);

  // Per model: the mean churn over its era pairs with a value (summed in history order), NaN
  // when it has none; and how many pairs that is.
  std::vector<double> churn() const;
  const std::vector<std::size_t>& pairs() const { return count_; }
  // Prediction values held: those of the previous and the current era (the memory bound).
  std::size_t held_values() const { return prev_values_.size() + cur_values_.size(); }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::size_t n_models_;
  std::vector<std::string> prev_ids_, cur_ids_;
  // Rows of the ids the two eras share: (row in the previous era, row in the current one).
  std::vector<std::uint32_t> common_prev_, common_cur_;
  std::vector<std::size_t> prev_slot_, cur_slot_;  // per model: its column in *_values_
  std::vector<float> prev_values_, cur_values_;
  std::size_t cur_columns_ = 0;
  std::vector<double> sum_;
  std::vector<std::size_t> count_;
  struct Scratch {
    std::vector<double> a, b;
  };
  std::vector<Scratch> scratch_;  // one per OpenMP thread
};

// The churn of every model of the scores file, streaming the store's eras of the file in history
// order (predictions in batches of `batch` columns). Throws InputError when an era of the file is
// not in the store.
std::vector<double> model_churn(const ScoresFileReader& file, StoreReader& store,
                                std::size_t batch = 256);

// 1 - Pearson(prev[common_prev], cur[common_cur]) over the pairs where both are not NaN, NaN when
// fewer than 2 or a side is constant. `a` and `b` are scratch.
double churn_of(std::span<const float> prev, std::span<const float> cur,
                std::span<const std::uint32_t> common_prev,
                std::span<const std::uint32_t> common_cur, std::vector<double>& a,
                std::vector<double>& b);

}  // namespace backscore
