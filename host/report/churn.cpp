// Churn streamed era by era (see churn.hpp).
#include "host/report/churn.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "core/error.hpp"
#include "core/parallel_errors.hpp"
#include "host/era/stats.hpp"

namespace backscore {

double churn_of(std::span<const float> prev, std::span<const float> cur,
                std::span<const std::uint32_t> common_prev,
                std::span<const std::uint32_t> common_cur, std::vector<double>& a,
                std::vector<double>& b) {
  a.clear();
  b.clear();
  for (std::size_t k = 0; k < common_prev.size(); ++k) {
    const float x = prev[common_prev[k]], y = cur[common_cur[k]];
    if (std::isnan(x) || std::isnan(y)) continue;
    a.push_back(x);
    b.push_back(y);
  }
  return 1 - pearson(a, b);  // NaN stays NaN
}

ChurnTracker::ChurnTracker(std::size_t n_models)
    : n_models_(n_models),
      prev_slot_(n_models, kNone),
      cur_slot_(n_models, kNone),
      sum_(n_models, 0.0),
      count_(n_models, 0) {}

void ChurnTracker::begin_era(std::span<const std::string> ids) {
  prev_ids_.swap(cur_ids_);
  cur_ids_.assign(ids.begin(), ids.end());
  prev_slot_.swap(cur_slot_);
  std::fill(cur_slot_.begin(), cur_slot_.end(), kNone);
  prev_values_.swap(cur_values_);
  cur_values_.clear();
  cur_columns_ = 0;
  // Both id lists are sorted by bytes (std::string's order): one merge finds the shared ids.
  common_prev_.clear();
  common_cur_.clear();
  std::size_t i = 0, k = 0;
  while (i < prev_ids_.size() && k < cur_ids_.size()) {
    const int c = prev_ids_[i].compare(cur_ids_[k]);
    if (c == 0) {
      common_prev_.push_back(static_cast<std::uint32_t>(i++));
      common_cur_.push_back(static_cast<std::uint32_t>(k++));
    } else if (c < 0) {
      ++i;
    } else {
      ++k;
    }
  }
}

void ChurnTracker::add_columns(std::span<const std::size_t> rows, std::span<const float> preds) {
  const std::size_t n = cur_ids_.size(), n_prev = prev_ids_.size();
  if (preds.size() != rows.size() * n) {
    throw std::invalid_argument("ChurnTracker::add_columns: predictions do not match the era");
  }
  std::vector<std::size_t> slot(rows.size(), kNone);
  for (std::size_t c = 0; c < rows.size(); ++c) {
    const std::size_t row = rows[c];
    if (row == kNone) continue;
    if (row >= n_models_ || cur_slot_[row] != kNone) {
      throw std::invalid_argument("ChurnTracker::add_columns: a model twice in one era");
    }
    slot[c] = cur_slot_[row] = cur_columns_++;
  }
  cur_values_.resize(cur_columns_ * n);
  if (scratch_.size() < static_cast<std::size_t>(omp_get_max_threads())) {
    scratch_.resize(static_cast<std::size_t>(omp_get_max_threads()));
  }
  FirstError error;
#pragma omp parallel for schedule(dynamic, 4)
  for (std::size_t c = 0; c < rows.size(); ++c) {
    if (slot[c] == kNone) continue;
    try {
      const std::span<const float> col = preds.subspan(c * n, n);
      std::copy(col.begin(), col.end(), cur_values_.begin() + static_cast<long>(slot[c] * n));
      const std::size_t row = rows[c], before = prev_slot_[row];
      if (before == kNone) continue;
      Scratch& w = scratch_[static_cast<std::size_t>(omp_get_thread_num())];
      const double v =
          churn_of(std::span<const float>(prev_values_).subspan(before * n_prev, n_prev), col,
                   common_prev_, common_cur_, w.a, w.b);
      if (std::isfinite(v)) {
        sum_[row] += v;
        ++count_[row];
      }
    } catch (...) {
      error.capture(c);
    }
  }
  error.rethrow();
}

std::vector<double> ChurnTracker::churn() const {
  std::vector<double> out(n_models_, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t i = 0; i < n_models_; ++i) {
    if (count_[i] > 0) out[i] = sum_[i] / static_cast<double>(count_[i]);
  }
  return out;
}

std::vector<double> model_churn(const ScoresFileReader& file, StoreReader& store,
                                std::size_t batch) {
  std::unordered_map<std::string, std::size_t> store_era, score_row;
  for (std::size_t e = 0; e < store.eras().size(); ++e) store_era.emplace(store.eras()[e], e);
  for (std::size_t i = 0; i < file.models().size(); ++i) score_row.emplace(file.models()[i], i);
  const std::vector<std::string>& store_models = store.schema().models;
  std::vector<std::size_t> row_of(store_models.size(), static_cast<std::size_t>(-1));
  for (std::size_t g = 0; g < store_models.size(); ++g) {
    if (auto it = score_row.find(store_models[g]); it != score_row.end()) row_of[g] = it->second;
  }
  std::vector<std::size_t> eras;
  for (const std::string& name : file.eras()) {
    const auto it = store_era.find(name);
    if (it == store_era.end()) {
      throw InputError(file.path().string() + ": era '" + name + "' is not in the store " +
                       store.path().string());
    }
    eras.push_back(it->second);
  }
  ChurnTracker tracker(file.models().size());
  std::vector<float> preds;
  std::vector<std::size_t> rows;
  for (const std::size_t e : eras) {
    const Era era = store.read_era(e);
    tracker.begin_era(era.ids);
    for (std::size_t first = 0; first < era.n_submitted(); first += batch) {
      const std::size_t count = std::min(batch, era.n_submitted() - first);
      preds.resize(count * era.n_stocks());
      store.read_predictions(e, first, count, preds);
      rows.clear();
      for (std::size_t c = 0; c < count; ++c) {
        rows.push_back(row_of[static_cast<std::size_t>(era.models[first + c])]);
      }
      tracker.add_columns(rows, preds);
    }
  }
  return tracker.churn();
}

}  // namespace backscore
