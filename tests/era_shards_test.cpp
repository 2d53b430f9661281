// The split of a run's eras among MPI ranks and the ranks' stats on the wire
// (host/run/era_shards.*): the split is contiguous, covers every era once and is as balanced as
// any contiguous split can be; stats survive the trip byte for byte and merge as documented.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <vector>

#include "host/run/era_shards.hpp"

namespace backscore {
namespace {

double max_load(const std::vector<double>& costs, const std::vector<std::size_t>& bounds) {
  double worst = 0;
  for (std::size_t p = 0; p + 1 < bounds.size(); ++p) {
    double load = 0;
    for (std::size_t i = bounds[p]; i < bounds[p + 1]; ++i) load += costs[i];
    worst = std::max(worst, load);
  }
  return worst;
}

// The best bottleneck over every contiguous split into at most `parts` ranges (exhaustive).
double best_bottleneck(const std::vector<double>& costs, std::size_t parts) {
  std::function<double(std::size_t, std::size_t)> best = [&](std::size_t from, std::size_t left) {
    if (from == costs.size()) return 0.0;
    double load = 0, result = std::numeric_limits<double>::infinity();
    for (std::size_t to = from; to < costs.size(); ++to) {
      load += costs[to];
      if (left == 1 && to + 1 < costs.size()) continue;
      const double rest = to + 1 == costs.size() ? 0.0 : best(to + 1, left - 1);
      result = std::min(result, std::max(load, rest));
    }
    return result;
  };
  return best(0, parts);
}

void expect_valid(const std::vector<std::size_t>& bounds, std::size_t eras, std::size_t parts) {
  ASSERT_EQ(bounds.size(), parts + 1);
  EXPECT_EQ(bounds.front(), 0u);
  EXPECT_EQ(bounds.back(), eras);
  EXPECT_TRUE(std::is_sorted(bounds.begin(), bounds.end()));
}

TEST(EraShards, EqualErasSplitEvenly) {
  const std::vector<double> costs(9, 1.0);
  EXPECT_EQ(split_eras(costs, 3), (std::vector<std::size_t>{0, 3, 6, 9}));
  EXPECT_EQ(split_eras(costs, 1), (std::vector<std::size_t>{0, 9}));
  const std::vector<std::size_t> b = split_eras(costs, 4);
  expect_valid(b, 9, 4);
  EXPECT_EQ(max_load(costs, b), 3.0);
}

// Work, not era count: a late history whose eras cost 4x the early ones gives the early ranks
// more eras.
TEST(EraShards, BalancedByCostNotByEraCount) {
  std::vector<double> costs(20, 1.0);
  std::fill(costs.begin() + 10, costs.end(), 4.0);  // 10 + 40 = 50
  const std::vector<std::size_t> b = split_eras(costs, 2);
  expect_valid(b, 20, 2);
  EXPECT_EQ(b[1], 14u);  // 10 + 4 x 4 = 26 | 24
  EXPECT_EQ(max_load(costs, b), best_bottleneck(costs, 2));
}

TEST(EraShards, AsBalancedAsAnyContiguousSplit) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> cost(0.1, 10.0);
  for (int trial = 0; trial < 300; ++trial) {
    const std::size_t eras = 1 + rng() % 9, parts = 1 + rng() % 5;
    std::vector<double> costs(eras);
    for (double& c : costs) c = trial % 3 == 0 ? std::round(cost(rng)) + 1 : cost(rng);
    const std::vector<std::size_t> b = split_eras(costs, parts);
    expect_valid(b, eras, parts);
    EXPECT_NEAR(max_load(costs, b), best_bottleneck(costs, parts),
                1e-9 * best_bottleneck(costs, parts))
        << "trial " << trial;
    EXPECT_EQ(split_eras(costs, parts), b) << "deterministic";
  }
}

TEST(EraShards, MoreRanksThanErasAndNoEras) {
  const std::vector<double> costs = {3, 1};
  const std::vector<std::size_t> b = split_eras(costs, 5);
  expect_valid(b, 2, 5);
  EXPECT_EQ(max_load(costs, b), 3.0);
  EXPECT_EQ(split_eras(std::vector<double>{}, 3), (std::vector<std::size_t>{0, 0, 0, 0}));
  EXPECT_THROW(split_eras(costs, 0), std::invalid_argument);
  EXPECT_THROW(split_eras(std::vector<double>{1, std::nan("")}, 2), std::invalid_argument);
  EXPECT_THROW(split_eras(std::vector<double>{1, -1}, 2), std::invalid_argument);
}

// fnc's factorization dominates an era at Numerai's feature count; without features the work is
// proportional to the predictions.
TEST(EraShards, CostModel) {
  EraCostModel plain;
  EXPECT_DOUBLE_EQ(plain.cost({5000, 1000}), 2 * plain.cost({5000, 500}));
  EXPECT_DOUBLE_EQ(plain.cost({5000, 1000}), 2 * plain.cost({2500, 1000}));
  EraCostModel fnc;
  fnc.features = 2376;
  EXPECT_GT(fnc.cost({5000, 10}), 100 * plain.cost({5000, 10}));
  EXPECT_DOUBLE_EQ(fnc.cost({5000, 0}), 2.0 * 5000 * 2376 * 2376);
}

TEST(EraShards, StatsRoundTripAndMerge) {
  RunStats a;
  a.eras = 3;
  a.model_eras = 40;
  a.skipped = 2;
  a.subset_models = 5;
  a.fnc_fallbacks = 1;
  a.predictions = 12345;
  a.undefined = {0, 7};
  a.seconds = 1.5;
  a.times.read = 0.25;
  a.times.ranks = 0.125;
  a.times.subset_products = 3.0;
  a.gpu_peak_bytes = 1000;
  a.gpu_streams = 2;
  const RunStats back = decode_run_stats(encode_run_stats(a));
  EXPECT_EQ(encode_run_stats(back), encode_run_stats(a));
  EXPECT_EQ(back.undefined, a.undefined);
  EXPECT_EQ(back.predictions, 12345u);
  EXPECT_EQ(back.times.subset_products, 3.0);

  RunStats b;
  b.eras = 2;
  b.undefined = {1, 1};
  b.seconds = 2.5;
  b.times.read = 0.5;
  b.gpu_peak_bytes = 400;
  b.gpu_streams = 4;
  RunStats total;
  merge_run_stats(total, a);
  merge_run_stats(total, b);
  EXPECT_EQ(total.eras, 5u);
  EXPECT_EQ(total.undefined, (std::vector<std::size_t>{1, 8}));
  EXPECT_EQ(total.seconds, 2.5);        // the longest rank
  EXPECT_EQ(total.times.read, 0.75);    // thread-seconds add up
  EXPECT_EQ(total.gpu_peak_bytes, 1000u);  // per device: the largest
  EXPECT_EQ(total.gpu_streams, 4u);

  std::vector<unsigned char> bytes = encode_run_stats(a);
  bytes.pop_back();
  EXPECT_THROW(decode_run_stats(bytes), std::invalid_argument);
  EXPECT_THROW(decode_run_stats(std::vector<unsigned char>(3)), std::invalid_argument);
}

}  // namespace
}  // namespace backscore
