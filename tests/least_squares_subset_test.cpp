// LeastSquaresProjector::derive_subset (a model with missing ids neutralized on its own rows from
// the era's factorization) against a fresh factorization of the subset: same rank, same residuals
// (1e-12) on random eras with duplicated, constant and dependent features, missing shares 1% to
// 20%; and the fallback (std::nullopt) where the subset loses a direction. Also fnc through
// EraContext with and without the whole era's context.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "host/era/least_squares.hpp"
#include "io/store.hpp"

namespace backscore {
namespace {

using Vec = std::vector<double>;
using Rows = std::vector<std::uint32_t>;

// k features of n rows, Numerai-like (integers 0..4) and continuous, with exact duplicates, a
// constant, a combination of two others; column-major, without the intercept.
Vec random_features(std::size_t n, std::size_t k, std::mt19937_64& rng) {
  std::uniform_int_distribution<int> bucket(0, 4);
  std::normal_distribution<double> normal;
  Vec f(n * k);
  for (std::size_t j = 0; j < k; ++j) {
    double* c = f.data() + j * n;
    if (j >= 4 && j % 7 == 0) {  // duplicate of an earlier column
      std::copy(f.data() + (j / 2) * n, f.data() + (j / 2 + 1) * n, c);
    } else if (j % 11 == 5) {  // constant
      std::fill(c, c + n, 2.0);
    } else if (j >= 3 && j % 13 == 3) {  // combination of two earlier columns
      for (std::size_t i = 0; i < n; ++i) c[i] = f[(j - 1) * n + i] - 0.5 * f[(j - 3) * n + i];
    } else {
      for (std::size_t i = 0; i < n; ++i) c[i] = j % 2 ? bucket(rng) : normal(rng);
    }
  }
  return f;
}

// [features, 1] on all rows (column-major).
Vec with_intercept(const Vec& f, std::size_t n) {
  Vec x = f;
  x.insert(x.end(), n, 1.0);
  return x;
}

Vec restrict(const Vec& cols, std::size_t n, const Rows& rows) {
  const std::size_t k = cols.size() / n;
  Vec out;
  out.reserve(k * rows.size());
  for (std::size_t j = 0; j < k; ++j) {
    for (std::uint32_t r : rows) out.push_back(cols[j * n + r]);
  }
  return out;
}

Rows random_subset(std::size_t n, std::size_t missing, std::mt19937_64& rng) {
  Rows all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<std::uint32_t>(i);
  std::shuffle(all.begin(), all.end(), rng);
  Rows rows(all.begin() + static_cast<std::ptrdiff_t>(missing), all.end());
  std::sort(rows.begin(), rows.end());
  return rows;
}

Vec residual(const LeastSquaresProjector& p, const Vec& x, double proportion) {
  Vec out(x.size());
  p.residual(x.data(), proportion, out.data());
  return out;
}

TEST(LeastSquaresSubset, MatchesFreshFactorization) {
  std::mt19937_64 rng(12);
  std::normal_distribution<double> normal;
  const std::size_t n = 400, k = 150;
  for (int trial = 0; trial < 3; ++trial) {
    const Vec cols = with_intercept(random_features(n, k, rng), n);
    const LeastSquaresProjector full(cols, n, k + 1, 1e-6);
    ASSERT_LT(full.rank(), k + 1);  // duplicates, constant and combinations dropped
    for (double share : {0.01, 0.05, 0.1, 0.2}) {
      const Rows rows = random_subset(n, static_cast<std::size_t>(share * n), rng);
      const std::size_t s = rows.size();
      const std::optional<LeastSquaresProjector> derived =
          LeastSquaresProjector::derive_subset(full, rows);
      ASSERT_TRUE(derived) << "share " << share;
      EXPECT_TRUE(derived->derived());
      const LeastSquaresProjector fresh(restrict(cols, n, rows), s, k + 1, 1e-6);
      ASSERT_EQ(derived->rank(), fresh.rank());
      ASSERT_EQ(derived->rows(), s);
      Vec batch_in, batch_out(3 * s);
      for (int rep = 0; rep < 3; ++rep) {
        Vec x(s);
        for (double& v : x) v = normal(rng);
        batch_in.insert(batch_in.end(), x.begin(), x.end());
        for (double p : {1.0, 0.5}) {
          const Vec a = residual(*derived, x, p), b = residual(fresh, x, p);
          for (std::size_t i = 0; i < s; ++i) ASSERT_NEAR(a[i], b[i], 1e-12) << share << " " << i;
        }
      }
      // The batched form gives the same bytes as one column at a time.
      derived->residuals(batch_in.data(), 3, 1.0, batch_out.data());
      for (std::size_t c = 0; c < 3; ++c) {
        const Vec x(batch_in.begin() + static_cast<std::ptrdiff_t>(c * s),
                    batch_in.begin() + static_cast<std::ptrdiff_t>((c + 1) * s));
        const Vec one = residual(*derived, x, 1.0);
        for (std::size_t i = 0; i < s; ++i) ASSERT_EQ(batch_out[c * s + i], one[i]);
      }
    }
  }
}

// Many models, each on its own subset, projected together (derived_residuals: GEMMs over all rows
// in fixed blocks, each column's Woodbury correction): the single-column path's residuals to
// 1e-12, and the same bytes whatever the models next to a column in its block.
TEST(LeastSquaresSubset, DerivedResidualsTogetherMatchOneAtATime) {
  std::mt19937_64 rng(21);
  std::normal_distribution<double> normal;
  const std::size_t n = 500, k = 120;
  const Vec cols = with_intercept(random_features(n, k, rng), n);
  const LeastSquaresProjector full(cols, n, k + 1, 1e-6);
  const std::size_t models = 45;  // two blocks, the second partial
  std::vector<LeastSquaresProjector> projs;
  std::vector<Vec> xs;
  for (std::size_t c = 0; c < models; ++c) {
    const Rows rows = random_subset(n, 1 + c % 25, rng);
    auto d = LeastSquaresProjector::derive_subset(full, rows);
    ASSERT_TRUE(d);
    projs.push_back(std::move(*d));
    Vec x(rows.size());
    for (double& v : x) v = normal(rng);
    xs.push_back(std::move(x));
  }
  auto together = [&](const std::vector<std::size_t>& which) {
    std::vector<const LeastSquaresProjector*> p;
    std::vector<const double*> in;
    std::vector<Vec> out(which.size());
    std::vector<double*> o;
    for (std::size_t i = 0; i < which.size(); ++i) {
      p.push_back(&projs[which[i]]);
      in.push_back(xs[which[i]].data());
      out[i].resize(xs[which[i]].size());
      o.push_back(out[i].data());
    }
    LeastSquaresProjector::derived_residuals(p, in, 1.0, o);
    return out;
  };
  std::vector<std::size_t> all(models), reversed(models);
  for (std::size_t c = 0; c < models; ++c) all[c] = c, reversed[c] = models - 1 - c;
  const std::vector<Vec> a = together(all), b = together(reversed);
  for (std::size_t c = 0; c < models; ++c) {
    EXPECT_EQ(a[c], b[models - 1 - c]) << "model " << c << " depends on its block";
    EXPECT_EQ(a[c], together({c})[0]) << "model " << c << " alone";
    const Vec one = residual(projs[c], xs[c], 1.0);
    for (std::size_t i = 0; i < one.size(); ++i) ASSERT_NEAR(a[c][i], one[i], 1e-12) << c;
  }
  // Projectors not derived, or derived from different factorizations, are refused.
  const LeastSquaresProjector* bad[] = {&full};
  const double* bx[] = {xs[0].data()};
  double* bo[] = {nullptr};
  EXPECT_THROW(LeastSquaresProjector::derived_residuals(bad, bx, 1.0, bo), std::invalid_argument);
}

TEST(LeastSquaresSubset, IdenticalRowsKeepIdenticalResiduals) {
  std::mt19937_64 rng(3);
  const std::size_t n = 300, k = 40;
  Vec f = random_features(n, k, rng);
  // Rows 10 and 20 identical in every feature; x equal there too.
  for (std::size_t j = 0; j < k; ++j) f[j * n + 20] = f[j * n + 10];
  const Vec cols = with_intercept(f, n);
  const LeastSquaresProjector full(cols, n, k + 1, 1e-6);
  Rows rows;
  for (std::uint32_t i = 0; i < n; ++i) {
    if (i % 37 != 1) rows.push_back(i);
  }
  const auto derived = LeastSquaresProjector::derive_subset(full, rows);
  ASSERT_TRUE(derived);
  std::normal_distribution<double> normal;
  Vec x(rows.size());
  for (double& v : x) v = normal(rng);
  const auto at = [&](std::uint32_t r) {
    return static_cast<std::size_t>(std::lower_bound(rows.begin(), rows.end(), r) - rows.begin());
  };
  x[at(20)] = x[at(10)];
  const Vec out = residual(*derived, x, 1.0);
  EXPECT_EQ(out[at(10)], out[at(20)]);
}

// A subset on which a feature becomes constant, or two features equal: the full factorization
// keeps a direction the subset does not have; derive_subset declines and a fresh factorization
// (the caller's fallback) has the lower rank.
TEST(LeastSquaresSubset, FallsBackWhenTheSubsetLosesADirection) {
  std::mt19937_64 rng(5);
  const std::size_t n = 400, k = 30;
  std::normal_distribution<double> normal;
  Vec f(n * k);
  for (double& v : f) v = normal(rng);
  const Rows rows = random_subset(n, 12, rng);
  Rows missing;
  for (std::uint32_t i = 0, next = 0; i < n; ++i) {
    if (next < rows.size() && rows[next] == i) {
      ++next;
    } else {
      missing.push_back(i);
    }
  }
  Vec constant_on_s = f, equal_on_s = f;
  for (std::size_t i = 0; i < n; ++i) constant_on_s[3 * n + i] = 1.5;
  for (std::uint32_t i : missing) constant_on_s[3 * n + i] = normal(rng);
  for (std::size_t i = 0; i < n; ++i) equal_on_s[7 * n + i] = equal_on_s[8 * n + i];
  for (std::uint32_t i : missing) equal_on_s[7 * n + i] += 1.0 + normal(rng);
  for (const Vec* g : {&constant_on_s, &equal_on_s}) {
    const Vec cols = with_intercept(*g, n);
    const LeastSquaresProjector full(cols, n, k + 1, 1e-6);
    ASSERT_EQ(full.rank(), k + 1);
    EXPECT_FALSE(LeastSquaresProjector::derive_subset(full, rows));
    const LeastSquaresProjector fresh(restrict(cols, n, rows), rows.size(), k + 1, 1e-6);
    EXPECT_EQ(fresh.rank(), k);
  }
  // Without the degeneracy the same subset is derived.
  const LeastSquaresProjector plain(with_intercept(f, n), n, k + 1, 1e-6);
  EXPECT_TRUE(LeastSquaresProjector::derive_subset(plain, rows));
}

TEST(LeastSquaresSubset, RejectsBadRows) {
  const Vec cols{1, 2, 3, 1, 1, 1};
  const LeastSquaresProjector p(cols, 3, 2, 1e-6);
  EXPECT_THROW(LeastSquaresProjector::derive_subset(p, Rows{0, 3}), std::invalid_argument);
  EXPECT_THROW(LeastSquaresProjector::derive_subset(p, Rows{1, 1}), std::invalid_argument);
}

// fnc of a model with missing ids: the same score with the era's context given (derived
// projector) as without (fresh factorization), and the fallback flagged where it is taken.
TEST(LeastSquaresSubset, FncThroughEraContext) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> normal;
  const std::size_t n = 600, k = 200;
  Era era;
  era.name = "e";
  for (std::size_t i = 0; i < n; ++i) era.ids.push_back("id" + std::to_string(100000 + i));
  era.targets.resize(n);
  std::uniform_int_distribution<int> bucket(0, 4);
  for (double& t : era.targets) t = 0.25 * bucket(rng);
  era.features = random_features(n, k, rng);
  const std::vector<FormulaSpec> specs{{Builtin::fnc, 0}, {Builtin::fnc, 50}};
  const ContextNeeds needs = ContextNeeds::of(specs);
  const EraContext full(era, {}, needs, 0, 0);
  ModelScratch scratch;
  for (double share : {0.01, 0.05, 0.2}) {
    const Rows rows = random_subset(n, static_cast<std::size_t>(share * n), rng);
    Vec pred(rows.size());
    for (double& v : pred) v = std::round(normal(rng) * 4) / 4;  // with ties
    const EraContext own(era, rows, needs, 0, 0, &full), fresh(era, rows, needs, 0, 0);
    EXPECT_FALSE(own.fnc_fallback());
    EXPECT_TRUE(own.fnc_projector().derived());
    Vec a(specs.size()), b(specs.size());
    score_model(own, pred, specs, a, scratch);
    score_model(fresh, pred, specs, b, scratch);
    for (std::size_t f = 0; f < specs.size(); ++f) {
      ASSERT_TRUE(std::isfinite(a[f]));
      EXPECT_NEAR(a[f], b[f], 1e-12) << share;
    }
  }
  // Feature 1 constant on the subset (not on all rows): fallback, same scores as before.
  const Rows rows = random_subset(n, 30, rng);
  Era bent = era;
  for (std::size_t i = 0; i < n; ++i) bent.features[1 * n + i] = 3;
  for (std::size_t i = 0, next = 0; i < n; ++i) {
    if (next < rows.size() && rows[next] == i) {
      ++next;
    } else {
      bent.features[1 * n + i] = static_cast<double>(i % 5);
    }
  }
  const EraContext bent_full(bent, {}, needs, 0, 0);
  const EraContext own(bent, rows, needs, 0, 0, &bent_full), fresh(bent, rows, needs, 0, 0);
  EXPECT_TRUE(own.fnc_fallback());
  EXPECT_FALSE(own.fnc_projector().derived());
  EXPECT_EQ(own.fnc_projector().rank(), bent_full.fnc_projector().rank() - 1);
  Vec pred(rows.size());
  for (double& v : pred) v = normal(rng);
  Vec a(specs.size()), b(specs.size());
  score_model(own, pred, specs, a, scratch);
  score_model(fresh, pred, specs, b, scratch);
  for (std::size_t f = 0; f < specs.size(); ++f) EXPECT_EQ(a[f], b[f]);
}

// A 7-stock era (the Signals oracle history's era0001: features a, b, c, a's duplicate, b + 2 and
// a constant) and a model missing one id: the derived projector's residuals equal a fresh
// factorization's to rounding. Two of them are equal in exact arithmetic, so fnc, which re-ranks
// the residuals, depends on rounding there: numerai-tools' SVD orders them one way for one model
// and the other way for another (docs/FORMULAS.md, fnc: "ties in the residuals").
TEST(LeastSquaresSubset, TinyEraResidualsMatchAFreshFactorization) {
  const Vec a = {1, 0, 4, 3, 1, 2, 1}, b = {1, 1, 1, 3, 1, 2, 4}, c = {2, 3, 3, 3, 3, 4, 0};
  Vec features;
  for (const Vec* col : {&a, &b, &c, &a}) features.insert(features.end(), col->begin(), col->end());
  for (double v : b) features.push_back(v + 2);
  features.insert(features.end(), 7, 2.0);
  const Vec cols = with_intercept(features, 7);
  const LeastSquaresProjector full(cols, 7, 7, 1e-6);
  EXPECT_EQ(full.rank(), 4u);
  for (std::uint32_t gone = 0; gone < 7; ++gone) {
    Rows rows;
    for (std::uint32_t i = 0; i < 7; ++i) {
      if (i != gone) rows.push_back(i);
    }
    const LeastSquaresProjector fresh(restrict(cols, 7, rows), 6, 7, 1e-6);
    const std::optional<LeastSquaresProjector> own = LeastSquaresProjector::derive_subset(full, rows);
    if (!own) continue;  // judged unsafe: the caller factorizes afresh
    EXPECT_EQ(own->rank(), fresh.rank()) << gone;
    const Vec x = {0.3, -1.2, 0.7, 2.0, -0.4, 0.9};
    const Vec u = residual(*own, x, 1.0), v = residual(fresh, x, 1.0);
    for (std::size_t i = 0; i < 6; ++i) EXPECT_NEAR(u[i], v[i], 1e-12) << gone << " " << i;
  }
}

}  // namespace
}  // namespace backscore
