// The numeric building blocks against numpy/scipy/pandas: ndtri bit for bit against scipy,
// numerai-tools' own test vectors for ranks, power and neutralize, numpy's pairwise summation,
// and the least-squares projector on exactly collinear exposures.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/hd/elementwise.hpp"
#include "core/hd/ndtri.hpp"
#include "host/era/least_squares.hpp"
#include "host/era/rank.hpp"
#include "host/era/stats.hpp"

namespace backscore {
namespace {

using Vec = std::vector<double>;

// Distance in units in the last place between two finite doubles of the same sign.
std::int64_t ulps(double a, double b) {
  if (a == b) return 0;
  const auto ia = std::bit_cast<std::int64_t>(a), ib = std::bit_cast<std::int64_t>(b);
  if ((ia < 0) != (ib < 0)) return std::numeric_limits<std::int64_t>::max();
  return ia > ib ? ia - ib : ib - ia;
}

void expect_near_all(const Vec& got, const Vec& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "at " << i;
}

TEST(MathNdtri, MatchesScipyBitForBit) {
  // tests/data/ndtri_scipy.txt: scipy.special.ndtri on a dense grid incl. both tails and the
  // percentiles (k - 0.5) / n (tests/data/make_ndtri_table.py).
  std::ifstream in(std::string(BACKSCORE_SOURCE_DIR) + "/tests/data/ndtri_scipy.txt");
  ASSERT_TRUE(in) << "missing tests/data/ndtri_scipy.txt";
  std::string line;
  std::size_t points = 0, exact = 0;
  std::int64_t worst = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string ys, xs;
    s >> ys >> xs;
    const double y = std::strtod(ys.c_str(), nullptr), want = std::strtod(xs.c_str(), nullptr);
    const double got = ndtri(y);
    ++points;
    if (std::isinf(want)) {
      EXPECT_EQ(got, want) << "y = " << ys;
      ++exact;
      continue;
    }
    const std::int64_t d = ulps(got, want);
    worst = std::max(worst, d);
    exact += d == 0;
    EXPECT_LE(d, 1) << "y = " << ys << " got " << got << " want " << want;
  }
  EXPECT_GT(points, 2000u);
  EXPECT_EQ(exact, points) << "worst " << worst << " ulp";
}

TEST(MathNdtri, DomainEndsAndKnownValues) {
  EXPECT_EQ(ndtri(0.0), -HUGE_VAL);
  EXPECT_EQ(ndtri(-0.5), -HUGE_VAL);
  EXPECT_EQ(ndtri(1.0), HUGE_VAL);
  EXPECT_EQ(ndtri(1.5), HUGE_VAL);
  EXPECT_TRUE(std::isnan(ndtri(std::nan(""))));
  EXPECT_EQ(ndtri(0.5), 0.0);
  // FORMULAS.md P3: scipy's ndtri is not exactly antisymmetric.
  EXPECT_EQ(ndtri(0.95), 1.6448536269514722);
  EXPECT_EQ(ndtri(0.05), -1.6448536269514729);
  // numerai-tools test_gaussian: gaussian(up_float) = [-inf, -0.674.., 0, 0.674.., inf].
  EXPECT_EQ(ndtri(0.25), -0.6744897501960817);
  EXPECT_EQ(ndtri(0.75), 0.6744897501960817);
}

TEST(MathElementwise, PercentileAndSignedPow) {
  EXPECT_EQ(percentile(1, 5), 0.1);
  EXPECT_EQ(percentile(3.5, 5), 0.6);
  // numerai-tools test_power: power(pos_neg, 1.5).
  const Vec pos_neg{0, -0.0, .5, -.5, 1, -1, 2, -2};
  const Vec want{0, 0,  0.3535533905932738, -0.3535533905932738,
                 1, -1, 2.8284271247461903, -2.8284271247461903};
  for (std::size_t i = 0; i < pos_neg.size(); ++i) EXPECT_EQ(signed_pow(pos_neg[i], 1.5), want[i]);
  EXPECT_FALSE(std::signbit(signed_pow(-0.0, 1.5)));
}

// ranks of `v` via one sort
struct Ranked {
  std::vector<std::uint32_t> order;
  Vec first, kept, gauss, pow15;
};
Ranked rank_all(const Vec& v, bool table = true) {
  Ranked r;
  const std::size_t n = v.size();
  r.order.resize(n);
  r.first.resize(n);
  r.kept.resize(n);
  r.gauss.resize(n);
  r.pow15.resize(n);
  StableSorter sorter;
  sorter.sort(v, r.order);
  tie_broken_percentiles(r.order, r.first);
  tie_kept_percentiles(v, r.order, r.kept);
  const GaussianTable t = GaussianTable::of(n);
  tie_kept_gaussian(v, r.order, table ? &t : nullptr, r.gauss, r.pow15);
  return r;
}

TEST(MathRank, NumeraiToolsVectors) {
  const Vec up{0, 1, 2, 3, 4}, up_down{1, 0, 1, 0, 1}, up_float{0, .25, .5, .75, 1};
  EXPECT_EQ(rank_all(up).first, (Vec{.1, .3, .5, .7, .9}));
  EXPECT_EQ(rank_all(up).kept, (Vec{.1, .3, .5, .7, .9}));
  EXPECT_EQ(rank_all(up_down).first, (Vec{.5, .1, .7, .3, .9}));
  EXPECT_EQ(rank_all(up_down).kept, (Vec{.7, .2, .7, .2, .7}));
  // tie_kept_rank__gaussianize__pow_1_5(up_float) as numerai-tools' test lists it (numpy 1.24);
  // the last bit of x ** 1.5 depends on the libm/numpy build (numpy 2.4 here gives
  // 0.37974727090712607 and -1.450788579685422, as std::pow does), hence 1e-15.
  const Ranked r = rank_all(up_float);
  const Vec want{-1.4507885796854221, -0.3797472709071263, 0, 0.3797472709071261,
                 1.4507885796854221};
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(signed_pow(r.gauss[i], 1.5), want[i], 1e-15) << i;
}

TEST(MathRank, StableOrderMatchesStableSort) {
  std::mt19937_64 rng(3);
  for (std::size_t n : {0u, 1u, 2u, 7u, 100u, 5000u}) {
    for (int kind = 0; kind < 4; ++kind) {
      Vec v(n);
      for (double& x : v) {
        const double u = std::uniform_real_distribution<double>(-1, 1)(rng);
        if (kind == 0) x = u;                                            // distinct doubles
        if (kind == 1) x = static_cast<float>(u + 1) / 2;                // float32 in [0, 1]
        if (kind == 2) x = std::round(u * 3) / 4;                        // heavy ties, +-0
        if (kind == 3) x = u < -0.5 ? -0.0 : (u < 0 ? 0.0 : u * 1e300);  // -0 ties 0, huge
      }
      std::vector<std::uint32_t> want(n);
      for (std::size_t i = 0; i < n; ++i) want[i] = static_cast<std::uint32_t>(i);
      std::stable_sort(want.begin(), want.end(), [&](auto a, auto b) { return v[a] < v[b]; });
      const Ranked r = rank_all(v);
      EXPECT_EQ(r.order, want) << "n " << n << " kind " << kind;
      // gaussianized with and without the table agree exactly
      const Ranked direct = rank_all(v, false);
      EXPECT_EQ(r.gauss, direct.gauss);
      EXPECT_EQ(r.pow15, direct.pow15);
      // tie-kept: equal values share the mean of their 1-based positions
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_EQ(r.gauss[i], ndtri(r.kept[i]));
        EXPECT_EQ(r.pow15[i], signed_pow(r.gauss[i], 1.5));
      }
    }
  }
}

TEST(MathRank, TieKeptMatchesPandasAverage) {
  // pandas Series([3, 1, 3, 3, 2, 1]).rank() = [5, 1.5, 5, 5, 3, 1.5]
  const Vec v{3, 1, 3, 3, 2, 1};
  const Ranked r = rank_all(v);
  const Vec ranks{5, 1.5, 5, 5, 3, 1.5};
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(r.kept[i], (ranks[i] - 0.5) / 6);
  EXPECT_EQ(r.first, (Vec{(4 - .5) / 6, (1 - .5) / 6, (5 - .5) / 6, (6 - .5) / 6, (3 - .5) / 6,
                          (2 - .5) / 6}));
}

TEST(MathStats, PairwiseSumIsNumpys) {
  Vec x(1000);
  for (std::size_t i = 0; i < x.size(); ++i)
    x[i] = std::sin(double(i)) * std::pow(10.0, double(i % 7));
  // np.sum(x), np.mean(x[:77]), np.cov(x[:300], x[300:600])[0,1], np.std(x) (numpy 2.4.6)
  EXPECT_EQ(pairwise_sum(x), -0x1.7660c0cac1fe0p+17);
  EXPECT_EQ(mean({x.data(), 77}), 0x1.ed6e3ea716daap+10);
  EXPECT_EQ(std_population(x), 0x1.0435192c371acp+18);
  const std::span<const double> a(x.data(), 300), b(x.data() + 300, 300);
  EXPECT_NEAR(covariance(a, b), -0x1.1746d42b645e0p+28, 1e-14 * 0x1.1746d42b645e0p+28);
  EXPECT_NEAR(pearson(a, b), -0x1.10079457429c5p-8, 1e-15);
}

TEST(MathStats, PearsonLikeNumpy) {
  const Vec up{0, 1, 2, 3, 4}, down{4, 3, 2, 1, 0}, up_down{1, 0, 1, 0, 1};
  EXPECT_DOUBLE_EQ(pearson(up, up), 1);
  EXPECT_DOUBLE_EQ(pearson(up, down), -1);
  EXPECT_NEAR(pearson(up, up_down), 0, 1e-16);
  // numerai-tools tie_broken_rank_correlation(up, up_down) = 0.5
  EXPECT_NEAR(pearson(up, rank_all(up_down).first), 0.5, 1e-15);
  EXPECT_TRUE(std::isnan(pearson(up, Vec{2, 2, 2, 2, 2})));
  EXPECT_TRUE(std::isnan(pearson(Vec{1}, Vec{2})));
  EXPECT_TRUE(std::isnan(covariance(Vec{1}, Vec{2})));
  EXPECT_TRUE(zero_std(Vec{0.5, 0.5, 0.5}));
  EXPECT_FALSE(zero_std(Vec{0.5}));
  EXPECT_FALSE(zero_std(Vec{0.5, 0.5000000000000001}));
}

Vec residual(const Vec& cols, std::size_t n, std::size_t k, const Vec& x, double proportion,
             double rcond = 1e-6, std::size_t* rank = nullptr) {
  LeastSquaresProjector p(cols, n, k, rcond);
  if (rank) *rank = p.rank();
  Vec out(n);
  p.residual(x.data(), proportion, out.data());
  return out;
}

// numerai-tools' neutralize(df, N) = residual on [N, 1].
Vec neutralize(std::vector<Vec> features, const Vec& x, double proportion = 1.0) {
  const std::size_t n = x.size();
  features.push_back(Vec(n, 1.0));
  Vec cols;
  for (const Vec& f : features) cols.insert(cols.end(), f.begin(), f.end());
  return residual(cols, n, features.size(), x, proportion);
}

TEST(MathLeastSquares, NumeraiToolsNeutralizeVectors) {
  const Vec up{0, 1, 2, 3, 4}, down{4, 3, 2, 1, 0}, up_down{1, 0, 1, 0, 1}, down_up{0, 1, 0, 1, 0},
      zeros(5, 0.0);
  expect_near_all(neutralize({zeros}, up), {-2, -1, 0, 1, 2}, 1e-14);
  expect_near_all(neutralize({zeros, zeros}, down), {2, 1, 0, -1, -2}, 1e-14);
  expect_near_all(neutralize({down_up}, up_down), zeros, 1e-14);
  expect_near_all(neutralize({up_down}, up_down), zeros, 1e-14);
  expect_near_all(neutralize({up_down, up_down}, up_down), zeros, 1e-14);
  expect_near_all(neutralize({zeros}, up, 0.5), {-1, 0, 1, 2, 3}, 1e-14);
  expect_near_all(neutralize({zeros}, up, 0.0), up, 0);
}

TEST(MathLeastSquares, CollinearColumnsAreDroppedWithoutChangingTheResidual) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> bucket(0, 4);
  std::normal_distribution<double> normal;
  const std::size_t n = 200;
  Vec f0(n), f1(n), x(n), ones(n, 1.0), three(n, 3.0), sum(n);
  for (std::size_t i = 0; i < n; ++i) {
    f0[i] = bucket(rng);
    f1[i] = bucket(rng);
    sum[i] = f0[i] + f1[i];
    x[i] = normal(rng);
  }
  auto cat = [](std::initializer_list<const Vec*> cs) {
    Vec out;
    for (const Vec* c : cs) out.insert(out.end(), c->begin(), c->end());
    return out;
  };
  std::size_t rank = 0;
  const Vec base = residual(cat({&f0, &f1, &ones}), n, 3, x, 1.0, 1e-6, &rank);
  EXPECT_EQ(rank, 3u);
  for (const Vec* c : {&f0, &f1, &ones}) EXPECT_NEAR(dot(*c, base), 0, 1e-10);
  struct Case {
    std::initializer_list<const Vec*> cols;
    std::size_t rank;
  };
  for (const Case& c : {Case{{&f0, &f1, &f0, &ones}, 3}, Case{{&f0, &three, &f1, &ones}, 3},
                        Case{{&f0, &f1, &sum, &ones}, 3}, Case{{&three, &f0, &f1, &ones}, 3},
                        Case{{&f0, &f0, &f1, &sum, &three, &ones}, 3}}) {
    const Vec got = residual(cat(c.cols), n, c.cols.size(), x, 1.0, 1e-6, &rank);
    EXPECT_EQ(rank, c.rank);
    expect_near_all(got, base, 1e-12);
  }
  // proportion -1 adds the projection instead of removing it
  const Vec plus = residual(cat({&f0, &f1, &ones}), n, 3, x, -1.0);
  for (std::size_t i = 0; i < n; ++i) EXPECT_NEAR(plus[i], 2 * x[i] - base[i], 1e-12);
}

TEST(MathLeastSquares, IdenticalRowsGetIdenticalResiduals) {
  // Ties must survive neutralization: the next step re-ranks the residual.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> bucket(0, 2);
  const std::size_t n = 300, k = 3;
  Vec cols(n * (k + 1), 1.0), x(n);
  for (std::size_t i = 0; i < n * k; ++i) cols[i] = bucket(rng);
  for (std::size_t i = 0; i < n; ++i) x[i] = bucket(rng) * 0.25;
  const Vec r = residual(cols, n, k + 1, x, 1.0);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      bool same = x[i] == x[j];
      for (std::size_t c = 0; c < k; ++c) same = same && cols[c * n + i] == cols[c * n + j];
      if (same) {
        ASSERT_EQ(std::bit_cast<std::uint64_t>(r[i]), std::bit_cast<std::uint64_t>(r[j]));
      }
    }
  }
}

TEST(MathLeastSquares, DegenerateShapes) {
  const Vec x{1, 2, 3};
  // no columns, all-zero columns: nothing to project on
  EXPECT_EQ(residual({}, 3, 0, x, 1.0), x);
  std::size_t rank = 9;
  EXPECT_EQ(residual(Vec(6, 0.0), 3, 2, x, 1.0, 1e-6, &rank), x);
  EXPECT_EQ(rank, 0u);
  // more independent columns than rows: everything is in the span
  const Vec cols{1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1};
  expect_near_all(residual(cols, 3, 4, x, 1.0, 1e-6, &rank), {0, 0, 0}, 1e-15);
  EXPECT_EQ(rank, 3u);
}

// Integer features 0..4 with a duplicated, a constant and a linearly dependent column, plus the
// intercept: the shape of fnc's exposures, large enough for LAPACK's blocked code paths.
Vec deficient_exposures(std::size_t n, std::size_t k, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> bucket(0, 4);
  Vec cols(n * (k + 1), 1.0);
  for (std::size_t i = 0; i < n * k; ++i) cols[i] = bucket(rng);
  for (std::size_t i = 0; i < n; ++i) {
    cols[1 * n + i] = cols[7 * n + i];                    // duplicate
    cols[3 * n + i] = 2.0;                                // constant (collinear with intercept)
    cols[5 * n + i] = cols[0 * n + i] - cols[2 * n + i];  // linear combination
  }
  return cols;
}

bool same_bits(const double* a, const double* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    if (std::bit_cast<std::uint64_t>(a[i]) != std::bit_cast<std::uint64_t>(b[i])) return false;
  }
  return true;
}

TEST(MathLeastSquares, PivotedRankKeepsOriginalColumnsAscending) {
  const std::size_t n = 400, k = 60;
  const Vec cols = deficient_exposures(n, k, 3);
  const LeastSquaresProjector p(cols, n, k + 1, 1e-6);
  EXPECT_EQ(p.rank(), k + 1 - 3);
  EXPECT_TRUE(std::is_sorted(p.kept().begin(), p.kept().end()));
  // exactly one of each redundant group is dropped: one of {1, 7}, one of {3, k}, one of {0, 2, 5}
  auto has = [&](std::size_t c) {
    return std::find(p.kept().begin(), p.kept().end(), c) != p.kept().end();
  };
  EXPECT_EQ(has(1) + has(7), 1);
  EXPECT_EQ(has(3) + has(k), 1);
  EXPECT_EQ(has(0) + has(2) + has(5), 2);
  // the residual is orthogonal to every column, dropped ones included
  std::mt19937_64 rng(4);
  std::normal_distribution<double> normal;
  Vec x(n), r(n);
  for (double& v : x) v = normal(rng);
  p.residual(x.data(), 1.0, r.data());
  for (std::size_t c = 0; c <= k; ++c) {
    EXPECT_NEAR(dot(std::span<const double>(cols.data() + c * n, n), r), 0, 1e-9) << c;
  }
}

TEST(MathLeastSquares, BatchResidualsMatchOneAtATimeWhateverTheBlock) {
  const std::size_t n = 700, k = 150, m = 75;
  const Vec cols = deficient_exposures(n, k, 8);
  const LeastSquaresProjector p(cols, n, k + 1, 1e-6);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  Vec x(n * m);
  for (double& v : x) v = normal(rng);
  for (std::size_t i = 0; i < n; ++i) x[4 * n + i] = x[9 * n + i];  // two identical columns
  Vec all(n * m), one(n), shifted(n * m);
  p.residuals(x.data(), m, 1.0, all.data());
  EXPECT_TRUE(same_bits(all.data() + 4 * n, all.data() + 9 * n, n));
  for (std::size_t j = 0; j < m; ++j) {
    p.residual(x.data() + j * n, 1.0, one.data());
    for (std::size_t i = 0; i < n; ++i) ASSERT_NEAR(all[j * n + i], one[i], 1e-11);
  }
  // A column's bits do not depend on how many columns come with it nor where it falls.
  for (std::size_t first : {std::size_t{0}, std::size_t{5}, std::size_t{31}, std::size_t{40}}) {
    const std::size_t count = std::min<std::size_t>(37, m - first);
    p.residuals(x.data() + first * n, count, 1.0, shifted.data());
    EXPECT_TRUE(same_bits(shifted.data(), all.data() + first * n, count * n)) << first;
    p.residuals(x.data() + first * n, 1, 1.0, shifted.data());
    EXPECT_TRUE(same_bits(shifted.data(), all.data() + first * n, n)) << first;
  }
  // proportion is applied as in residual()
  p.residuals(x.data(), 3, -1.0, shifted.data());
  for (std::size_t i = 0; i < 3 * n; ++i) ASSERT_NEAR(shifted[i], 2 * x[i] - all[i], 1e-11);
}

TEST(MathLeastSquares, BatchResidualsKeepIdenticalRowsIdentical) {
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> bucket(0, 2);
  const std::size_t n = 600, k = 4, m = 40;
  Vec cols(n * (k + 1), 1.0), x(n * m);
  for (std::size_t i = 0; i < n * k; ++i) cols[i] = bucket(rng);
  for (double& v : x) v = bucket(rng) * 0.25;
  const LeastSquaresProjector p(cols, n, k + 1, 1e-6);
  Vec r(n * m);
  p.residuals(x.data(), m, 1.0, r.data());
  for (std::size_t c = 0; c < m; ++c) {
    const double* xc = x.data() + c * n;
    const double* rc = r.data() + c * n;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < i; ++j) {
        bool same = xc[i] == xc[j];
        for (std::size_t f = 0; f < k && same; ++f) same = cols[f * n + i] == cols[f * n + j];
        if (same) {
          ASSERT_TRUE(same_bits(rc + i, rc + j, 1)) << c << " " << i << " " << j;
        }
      }
    }
  }
}

}  // namespace
}  // namespace backscore

namespace backscore {
namespace {

// mark_top_bottom against its definition: numpy's stable argsort, the k first rows of it and
// the k last rows of the stable descending order (ties at the high end: the latest rows).
TEST(TopBottom, MatchesAStableSortOnRandomTiedAndAdversarialColumns) {
  std::mt19937_64 rng(2024);
  std::vector<std::uint64_t> work, scratch;
  int checked = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const std::size_t n = 2 + rng() % (trial < 300 ? 700 : 9000);
    const std::size_t k = 1 + rng() % (n / 2);
    std::vector<double> v(n);
    const int shape = trial % 6;
    for (std::size_t i = 0; i < n; ++i) {
      switch (shape) {
        case 0:
          v[i] = std::uniform_real_distribution<double>(-1, 1)(rng);
          break;
        case 1:
          v[i] = static_cast<double>(rng() % 5) / 4;
          break;  // heavy ties
        case 2:
          v[i] = static_cast<double>(i);
          break;  // sorted
        case 3:
          v[i] = -static_cast<double>(i);
          break;  // reversed
        case 4:
          v[i] = (i % 128 == 0) ? 1e9 : static_cast<double>(rng() % 3);  // sample-hostile
          break;
        default:
          v[i] = rng() % 2 ? 0.0 : -0.0;  // -0 ties 0
      }
    }
    std::vector<char> kept(n);
    mark_top_bottom(v, k, kept, work, scratch);
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    auto key = [&](std::size_t i) { return v[i] == 0.0 ? 0.0 : v[i]; };
    std::stable_sort(idx.begin(), idx.end(), [&](auto a, auto b) { return key(a) < key(b); });
    std::vector<char> expect(n, 0);
    for (std::size_t j = 0; j < k; ++j) expect[idx[j]] = 1;
    std::stable_sort(idx.begin(), idx.end(),
                     [&](auto a, auto b) { return key(a) != key(b) ? key(a) > key(b) : a > b; });
    for (std::size_t j = 0; j < k; ++j) expect[idx[j]] = 1;
    ASSERT_EQ(kept, expect) << "trial " << trial << " n " << n << " k " << k << " shape " << shape;
    ++checked;
  }
  EXPECT_EQ(checked, 600);
}

}  // namespace
}  // namespace backscore
