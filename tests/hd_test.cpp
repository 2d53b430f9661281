// The __host__ __device__ helpers of core/hd/ that the CUDA scorer relies on, tested on the CPU:
// the order-preserving sort keys (order_key.hpp) and the half-rank ndtri table the scorer builds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "host/era/rank.hpp"
#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "core/hd/order_key.hpp"

namespace backscore {
namespace {

TEST(HdOrderKey, FloatKeysOrderLikeValues) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> v{-inf,
                       -3.5f,
                       -1.0f,
                       -std::numeric_limits<float>::denorm_min(),
                       -0.0f,
                       0.0f,
                       std::numeric_limits<float>::denorm_min(),
                       1e-30f,
                       0.25f,
                       1.0f,
                       3e38f,
                       inf};
  for (std::size_t i = 0; i + 1 < v.size(); ++i) {
    if (v[i] == v[i + 1]) {
      EXPECT_EQ(order_key32(v[i]), order_key32(v[i + 1])) << i;  // -0.0 ties with 0.0
    } else {
      EXPECT_LT(order_key32(v[i]), order_key32(v[i + 1])) << i;
    }
  }
  EXPECT_LT(order_key32(inf), 0xFFFFFFFFu);  // the padding key of the block sort is above all
}

TEST(HdOrderKey, DoubleKeysOrderLikeValues) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> z;
  std::vector<double> v(2000);
  for (double& x : v) x = z(rng) * (rng() % 2 ? 1e-300 : 1e3);
  v.push_back(0.0);
  v.push_back(-0.0);
  v.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t i = 0; i < v.size(); ++i) {
    for (std::size_t j = 0; j < v.size(); j += 37) {
      EXPECT_EQ(v[i] < v[j], order_key64(v[i]) < order_key64(v[j]));
      EXPECT_EQ(v[i] == v[j], order_key64(v[i]) == order_key64(v[j]));
    }
  }
  EXPECT_LT(order_key64(std::numeric_limits<double>::infinity()), ~std::uint64_t{0});
}

TEST(HdOrderKey, FloatAndDoubleKeysAgreeOnFloats) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  for (int t = 0; t < 10000; ++t) {
    const float a = u(rng), b = (t % 3 == 0) ? a : u(rng);
    EXPECT_EQ(order_key32(a) < order_key32(b), order_key64(a) < order_key64(b));
  }
}

// The CUDA scorer looks tie-kept gaussian ranks up in a table over t = 2 .. 2n (twice the rank);
// it must hold exactly what the CPU's tie_kept_gaussian computes, table or no table.
TEST(HdHalfRankTable, MatchesTieKeptGaussianBitForBit) {
  const std::size_t n = 101;
  std::vector<double> values(n);
  std::mt19937 rng(3);
  for (double& v : values) v = static_cast<double>(rng() % 17);  // heavy ties, odd and even runs
  StableSorter sorter;
  std::vector<std::uint32_t> order(n);
  sorter.sort(values, order);
  const GaussianTable table = GaussianTable::of(n);
  std::vector<double> g(n), p(n);
  tie_kept_gaussian(values, order, &table, g, p);
  const double dn = static_cast<double>(n);
  std::size_t a = 0;
  while (a < n) {
    std::size_t b = a + 1;
    while (b < n && values[order[b]] == values[order[a]]) ++b;
    const std::size_t t = a + 1 + b;
    const double tg = ndtri(percentile(static_cast<double>(t) * 0.5, dn));
    const double tp = signed_pow(tg, 1.5);
    for (std::size_t q = a; q < b; ++q) {
      EXPECT_EQ(g[order[q]], tg);
      EXPECT_EQ(p[order[q]], tp);
    }
    a = b;
  }
}

}  // namespace
}  // namespace backscore
