// The population of a synthetic history (see population.hpp).
#include "host/synth/population.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace backscore::synth_detail {

// ------------------------------------------------------------------------------------------------
// Stocks

StockPool make_pool(const SynthOptions& o, const RandomKey& root) {
  StockPool pool;
  pool.window = o.stocks + o.stocks / 4 + 1;  // >= the largest era, 1.2 x stocks
  pool.turnover = std::max<std::size_t>(1, (o.stocks + 50) / 100);
  const std::size_t size = pool.window + pool.turnover * (o.eras - 1);
  const RandomKey id_key = root.at(kStockId), priority_key = root.at(kStockPriority);
  pool.ids.reserve(size);
  pool.priority.resize(size);
  std::unordered_set<std::string> seen;
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t k = 0; k < size; ++k) {
    const RandomKey key = id_key.at(k);
    for (std::uint64_t attempt = 0;; ++attempt) {  // 60-bit ids: a redraw is astronomically rare
      std::uint64_t b = key.bits(attempt);
      std::string id(16, 'n');
      for (int c = 15; c >= 1; --c, b >>= 4) id[c] = kHex[b & 15];
      if (seen.insert(id).second) {
        pool.ids.push_back(std::move(id));
        break;
      }
    }
    pool.priority[k] = priority_key.uniform(k);
  }
  std::vector<std::uint32_t> by_id(size);
  for (std::size_t k = 0; k < size; ++k) by_id[k] = static_cast<std::uint32_t>(k);
  std::sort(by_id.begin(), by_id.end(),
            [&](std::uint32_t a, std::uint32_t b) { return pool.ids[a] < pool.ids[b]; });
  pool.id_rank.resize(size);
  for (std::size_t r = 0; r < size; ++r) pool.id_rank[by_id[r]] = static_cast<std::uint32_t>(r);
  return pool;
}

std::vector<std::uint32_t> era_universe(const StockPool& pool, const SynthOptions& o,
                                        const RandomKey& root, std::size_t e) {
  const double u = root.at(kEraSize).uniform(e);
  const auto n = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::llround(static_cast<double>(o.stocks) * (0.8 + 0.4 * u))), 1,
      pool.window);
  std::vector<std::uint32_t> window(pool.window);
  for (std::size_t j = 0; j < pool.window; ++j) {
    window[j] = static_cast<std::uint32_t>(e * pool.turnover + j);
  }
  auto by_priority = [&](std::uint32_t a, std::uint32_t b) {
    return pool.priority[a] != pool.priority[b] ? pool.priority[a] < pool.priority[b] : a < b;
  };
  std::nth_element(window.begin(), window.begin() + static_cast<std::ptrdiff_t>(n - 1),
                   window.end(), by_priority);
  window.resize(n);
  std::sort(window.begin(), window.end(),
            [&](std::uint32_t a, std::uint32_t b) { return pool.id_rank[a] < pool.id_rank[b]; });
  return window;
}

// ------------------------------------------------------------------------------------------------
// Models

std::vector<ModelTraits> make_traits(const SynthOptions& o, const RandomKey& root) {
  std::vector<ModelTraits> traits(o.models);
  const std::size_t veterans = std::max<std::size_t>(1, o.models / 20);
  const double eras = static_cast<double>(o.eras);
  for (std::size_t m = 0; m < o.models; ++m) {
    const RandomKey key = root.at(kModelTraits).at(m);
    ModelTraits& t = traits[m];
    const double kind = key.uniform(0), within = key.uniform(1);
    const double originality = kind < 0.5    ? 0.01 + 0.09 * within
                               : kind < 0.85 ? 0.1 + 0.5 * within
                                             : 0.6 + 0.4 * within;
    t.crowd = 1.0 - originality;
    t.skill = std::clamp(0.12 + 0.08 * key.normal(2), -0.1, 0.4);
    t.sharpness = 0.3 + 0.9 * key.uniform(3);
    const double r = key.uniform(4);
    t.rounding = r < 0.05 ? Rounding::cents : r < 0.10 ? Rounding::quintiles : Rounding::none;
    t.sloppy = key.uniform(5) < kSloppyShare;
    t.constant_prone = key.uniform(6) < 0.01;
    t.veteran = m < veterans;
    t.staked = t.veteran || key.uniform(7) >= 0.2;
    t.log_stake = 3.0 + 1.8 * key.normal(8);
    t.start = 0;
    t.end = o.eras;
    if (!t.veteran) {
      if (key.uniform(9) >= 0.4) t.start = static_cast<std::size_t>(key.uniform(10) * eras);
      if (key.uniform(11) < 0.5) {
        const auto stay = 1 + static_cast<std::size_t>(key.uniform(12) * eras);
        t.end = std::min(o.eras, t.start + stay);
      }
    }
  }
  return traits;
}

}  // namespace backscore::synth_detail
