// The built-in formulas against their references: the golden toy era of the 2020 burn-era
// debate (docs MOTIVATION), the numerai-tools 0.7.0 neutral fixture, random eras scored by
// numerai-tools 0.7.2 and the example-scripts MMC2 code (tests/data/formula_cases.txt), and the
// properties every formula must have (rank invariance, mirror antisymmetry, subsets).
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "io/store.hpp"

namespace backscore {
namespace {

using Vec = std::vector<double>;
constexpr double kTol = 1e-12;

Era make_era(const Vec& target, const Vec& meta, const Vec& bench = {},
             const std::vector<Vec>& features = {}) {
  Era era;
  era.name = "test";
  for (std::size_t i = 0; i < target.size(); ++i)
    era.ids.push_back("id" + std::to_string(10000 + i));
  era.targets = target;
  era.meta_model = meta;
  era.benchmarks = bench;
  for (const Vec& f : features) era.features.insert(era.features.end(), f.begin(), f.end());
  return era;
}

// The classic tournament's built-ins (those this file's eras have the data for: the Signals
// formulas, which need neutralizers and sample weights, are tests/signals_formulas_test.cpp's).
bool classic(const BuiltinInfo& info) {
  return !info.needs_neutralizers && !info.needs_sample_weights &&
         info.builtin != Builtin::max_feature_corr;
}

std::vector<FormulaSpec> all_specs(int tb) {
  std::vector<FormulaSpec> specs;
  for (const BuiltinInfo& info : builtin_formulas()) {
    if (classic(info)) specs.push_back({info.builtin, 0});
  }
  if (tb > 0) {
    for (const BuiltinInfo& info : builtin_formulas()) {
      if (classic(info) && info.has_top_bottom) specs.push_back({info.builtin, tb});
    }
  }
  return specs;
}

// What the engine does with one model's column: NaN = not submitted; the model is scored on the
// full context when it submitted every id, else on a context built on its own rows.
Vec score(const Era& era, const Vec& pred, const std::vector<FormulaSpec>& specs,
          ModelScratch& scratch) {
  const ContextNeeds needs = ContextNeeds::of(specs);
  std::vector<std::uint32_t> rows;
  Vec present;
  for (std::size_t i = 0; i < pred.size(); ++i) {
    if (!std::isnan(pred[i])) {
      rows.push_back(static_cast<std::uint32_t>(i));
      present.push_back(pred[i]);
    }
  }
  Vec out(specs.size());
  if (rows.size() == pred.size()) rows.clear();
  EraContext ctx(era, rows, needs, 0, 0);
  score_model(ctx, present, specs, out, scratch);
  return out;
}
Vec score(const Era& era, const Vec& pred, const std::vector<FormulaSpec>& specs) {
  ModelScratch scratch;
  return score(era, pred, specs, scratch);
}

double score_one(const Era& era, const Vec& pred, Builtin b, int tb = 0) {
  return score(era, pred, {FormulaSpec{b, tb}})[0];
}

void expect_same(const Vec& got, const Vec& want, double tol, const std::string& what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << what << " [" << i << "] got " << got[i] << ", want nan";
    } else {
      EXPECT_NEAR(got[i], want[i], tol) << what << " [" << i << "]";
    }
  }
}

// ---- The toy era of the 2020 forum thread (docs MOTIVATION) ----

struct Toy {
  Vec target{0, 0, 0, 0, .25, .25, .25, .25, .5, .5, .5, .5, .75, .75, .75, .75, 1, 1, 1, 1};
  Vec meta{1, 0, .25, 1, .5, .75, .5, .5, 1, .75, .75, 0, 0, .25, .25, 1, 0, .25, .5, .75};
  Vec b{1, 1, .75, 0, .5, .25, .5, .25, 0, .5, .25, 1, 1, .75, .75, 0, 0, .75, .5, .25};
  Vec a() const {
    Vec v = meta;
    v[4] = .25;
    v[17] = .5;
    return v;
  }
  Era era() const { return make_era(target, meta, meta); }
};

TEST(FormulaGolden, ToyEra) {
  const Toy toy;
  const Era era = toy.era();
  const std::vector<FormulaSpec> specs = {{Builtin::corr_v1},
                                          {Builtin::corr},
                                          {Builtin::mmc},
                                          {Builtin::mmc2},
                                          {Builtin::mmc2_burnflip}};
  const Vec a = score(era, toy.a(), specs), b = score(era, toy.b, specs),
            m = score(era, toy.meta, specs);
  expect_same(a,
              {0.024525573579399, -0.189437267212178, 0.073594891818024, 0.100531383531110,
               0.024525573579399},
              kTol, "model A");
  expect_same(b,
              {0.024525573579399, -0.215659199540114, -0.360330986474825, -0.015610244084459,
               0.130046459997707},
              kTol, "model B");
  EXPECT_NEAR(m[0], -0.055182540553647, kTol);  // the meta-model's corr_v1: a burn era
  EXPECT_EQ(m[2], 0.0);                         // the meta-model's own mmc is exactly 0
  // the meta-model scored against itself as benchmark: bmc = mmc
  EXPECT_EQ(score_one(era, toy.b, Builtin::bmc), b[2]);
}

// ---- numerai-tools 0.7.0 neutral fixture ----

struct Fixture {
  Vec exposed, mixed, clean, f0, f1, f2, mm, target;
};
Fixture read_fixture() {
  std::ifstream in(std::string(BACKSCORE_SOURCE_DIR) + "/tests/data/neutral_fixture_rng0.csv");
  Fixture f;
  std::string line;
  std::getline(in, line);  // id,exposed,mixed,clean,f0,f1,f2,mm,target
  while (std::getline(in, line)) {
    std::istringstream s(line);
    std::string cell;
    std::getline(s, cell, ',');  // ids id000.. are already sorted
    for (Vec* col : {&f.exposed, &f.mixed, &f.clean, &f.f0, &f.f1, &f.f2, &f.mm, &f.target}) {
      std::getline(s, cell, ',');
      col->push_back(std::stod(cell));
    }
  }
  return f;
}

TEST(FormulaGolden, NeutralFixture) {
  const Fixture f = read_fixture();
  ASSERT_EQ(f.target.size(), 100u) << "neutral_fixture_rng0.csv not found or malformed";
  const Era era = make_era(f.target, f.mm, f.mm, {f.f0, f.f1, f.f2});
  const std::vector<FormulaSpec> specs = {{Builtin::mmc},  {Builtin::mmc, 20},
                                          {Builtin::corr}, {Builtin::corr, 20},
                                          {Builtin::fnc},  {Builtin::fnc, 20}};
  // mmc and corr: FORMULAS.md 4.1. corr_tb20, fnc, fnc_tb20: numerai-tools 0.7.2
  // (numerai_corr(P, target, top_bottom=20) and feature_neutral_corr(P, fixture[[f0, f1, f2]],
  // target[, top_bottom=20]) on the fixture's three prediction columns, in /tmp/ntvenv).
  const double want[3][6] = {{-0.07921759154900317, -0.08827829422628865, -0.06604253439644737,
                              -0.055600737396018576, 0.0910634798188908, 0.10404146154358168},
                             {0.15600418598982832, 0.33532314469592894, 0.15037971897617392,
                              0.16413382763534468, 0.06922331822907685, 0.11642838133725343},
                             {-0.15555182394041875, -0.14008793632499197, -0.12885539449843691,
                              -0.09719224229605482, -0.12473296636201016, -0.10135844114342404}};
  const Vec* cols[3] = {&f.exposed, &f.mixed, &f.clean};
  for (int c = 0; c < 3; ++c) {
    expect_same(score(era, *cols[c], specs), Vec(want[c], want[c] + 6), kTol,
                "fixture column " + std::to_string(c));
  }
}

// ---- Random eras scored by the reference implementations ----

struct Case {
  std::string era;
  Era data;
  int tb = 0;
  std::vector<std::pair<std::string, Vec>> models;
  std::map<std::string, Vec> expect;
};

Vec parse_values(std::istringstream& s) {
  Vec v;
  std::string tok;
  while (s >> tok) v.push_back(std::strtod(tok.c_str(), nullptr));  // "nan" parses to NaN
  return v;
}

std::vector<Case> read_cases() {
  std::ifstream in(std::string(BACKSCORE_SOURCE_DIR) + "/tests/data/formula_cases.txt");
  std::vector<Case> cases;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream s(line);
    std::string tag;
    s >> tag;
    if (tag == "era") {
      Case c;
      std::size_t n, k;
      s >> c.era >> n >> k >> c.tb;
      cases.push_back(std::move(c));
      continue;
    }
    Case& c = cases.back();
    if (tag == "target") c.data.targets = parse_values(s);
    if (tag == "meta") c.data.meta_model = parse_values(s);
    if (tag == "bench") c.data.benchmarks = parse_values(s);
    if (tag == "feature") {
      const Vec f = parse_values(s);
      c.data.features.insert(c.data.features.end(), f.begin(), f.end());
    }
    if (tag == "model" || tag == "expect") {
      std::string name;
      s >> name;
      if (tag == "model") c.models.emplace_back(name, parse_values(s));
      if (tag == "expect") c.expect[name] = parse_values(s);
    }
    if (tag == "target") {
      for (std::size_t i = 0; i < c.data.targets.size(); ++i)
        c.data.ids.push_back("id" + std::to_string(10000 + i));
    }
  }
  return cases;
}

TEST(FormulaCases, MatchNumeraiToolsAndExampleScripts) {
  const std::vector<Case> cases = read_cases();
  ASSERT_EQ(cases.size(), 6u) << "tests/data/formula_cases.txt not found or malformed";
  ModelScratch scratch;  // shared across eras of different sizes, as an engine thread would
  std::size_t scored = 0;
  for (const Case& c : cases) {
    const std::vector<FormulaSpec> specs = all_specs(c.tb);  // the expect line's column order
    for (const auto& [name, pred] : c.models) {
      std::size_t present = 0;
      for (double p : pred) present += !std::isnan(p);
      if (!enough_ids(present, pred.size())) {
        EXPECT_TRUE(std::isnan(c.expect.at(name)[1])) << c.era << "/" << name;
        continue;  // the engine does not score it; numerai-tools raises
      }
      expect_same(score(c.data, pred, specs, scratch), c.expect.at(name), 1e-12,
                  c.era + "/" + name);
      ++scored;
    }
  }
  EXPECT_EQ(scored, 19u);
}

// ---- Properties ----

struct RandomEra {
  Era era;
  Vec pred;
};
RandomEra random_era(std::size_t n, unsigned seed, bool ties) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Vec t(n), m(n), b(n), p(n);
  std::vector<Vec> f(3, Vec(n));
  for (std::size_t i = 0; i < n; ++i) {
    const double z = u(rng);
    t[i] = std::floor(z * 4.999) / 4;
    m[i] = z + u(rng);
    b[i] = z + 2 * u(rng);
    p[i] = static_cast<float>(z + u(rng));
    if (ties) p[i] = std::round(p[i] * 8) / 8;
    for (auto& col : f) col[i] = std::floor(u(rng) * 5);
  }
  return {make_era(t, m, b, f), p};
}

TEST(FormulaProperties, StrictlyIncreasingTransformChangesNothing) {
  for (bool ties : {false, true}) {
    const RandomEra r = random_era(300, 1, ties);
    Vec q(r.pred.size());
    for (std::size_t i = 0; i < q.size(); ++i) q[i] = std::exp(3 * r.pred[i]) - 7;
    const auto specs = all_specs(40);
    const Vec a = score(r.era, r.pred, specs), b = score(r.era, q, specs);
    for (std::size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i], b[i]) << specs[i].name() << (ties ? " (ties)" : "");
      EXPECT_TRUE(std::isfinite(a[i])) << specs[i].name();
    }
  }
}

TEST(FormulaProperties, MirrorImageNegatesMmcAndMmc2) {
  // Untied predictions: with ties the tie-broken ranks of 1 - p are not the mirror of p's.
  const RandomEra r = random_era(500, 2, false);
  Vec mirror(r.pred.size());
  for (std::size_t i = 0; i < mirror.size(); ++i) mirror[i] = 1 - r.pred[i];
  for (Builtin b : {Builtin::mmc, Builtin::bmc, Builtin::mmc2, Builtin::corr, Builtin::corr_v1}) {
    const double s = score_one(r.era, r.pred, b), m = score_one(r.era, mirror, b);
    EXPECT_NEAR(s, -m, kTol) << builtin_info(b).name;
    EXPECT_GT(std::abs(s), 1e-3);
  }
}

TEST(FormulaProperties, MetaModelCloneHasZeroContribution) {
  const RandomEra r = random_era(400, 3, false);
  EXPECT_LT(std::abs(score_one(r.era, r.era.meta_model, Builtin::mmc)), kTol);
  EXPECT_LT(std::abs(score_one(r.era, r.era.meta_model, Builtin::mmc, 50)), kTol);
  EXPECT_LT(std::abs(score_one(r.era, r.era.meta_model, Builtin::mmc2)), kTol);
  // a monotone transform of the meta-model is a clone too
  Vec clone = r.era.meta_model;
  for (double& v : clone) v = 2 * v + 1;
  EXPECT_LT(std::abs(score_one(r.era, clone, Builtin::mmc)), kTol);
}

TEST(FormulaProperties, CollinearFeaturesGiveTheSameFnc) {
  const RandomEra r = random_era(250, 4, true);
  const std::size_t n = r.pred.size();
  const Vec f0(r.era.features.begin(), r.era.features.begin() + n),
      f1(r.era.features.begin() + n, r.era.features.begin() + 2 * n),
      f2(r.era.features.begin() + 2 * n, r.era.features.end());
  Vec sum(n);
  for (std::size_t i = 0; i < n; ++i) sum[i] = f0[i] + f1[i];
  const Era base = make_era(r.era.targets, r.era.meta_model, {}, {f0, f1, f2});
  const double want = score_one(base, r.pred, Builtin::fnc),
               want_tb = score_one(base, r.pred, Builtin::fnc, 30);
  ASSERT_TRUE(std::isfinite(want));
  for (const std::vector<Vec>& fs :
       {std::vector<Vec>{f0, f1, f0, f2}, std::vector<Vec>{f0, Vec(n, 2.0), f1, f2},
        std::vector<Vec>{Vec(n, 2.0), f0, f1, f2}, std::vector<Vec>{f0, f1, f2, sum},
        std::vector<Vec>{f0, f1, sum, f2, f2}}) {
    const Era e = make_era(r.era.targets, r.era.meta_model, {}, fs);
    EXPECT_NEAR(score_one(e, r.pred, Builtin::fnc), want, kTol);
    EXPECT_NEAR(score_one(e, r.pred, Builtin::fnc, 30), want_tb, kTol);
  }
}

TEST(FormulaProperties, SubsetContextEqualsTheSmallerEra) {
  const RandomEra r = random_era(200, 5, true);
  const std::size_t n = r.pred.size();
  std::mt19937_64 rng(9);
  std::vector<std::uint32_t> rows;
  for (std::size_t i = 0; i < n; ++i) {
    if (std::uniform_real_distribution<double>(0, 1)(rng) > 0.12)
      rows.push_back(static_cast<std::uint32_t>(i));
  }
  ASSERT_TRUE(enough_ids(rows.size(), n));
  Era small;
  Vec pred;
  for (std::uint32_t i : rows) {
    small.ids.push_back(r.era.ids[i]);
    small.targets.push_back(r.era.targets[i]);
    small.meta_model.push_back(r.era.meta_model[i]);
    small.benchmarks.push_back(r.era.benchmarks[i]);
    pred.push_back(r.pred[i]);
  }
  for (std::size_t f = 0; f < 3; ++f) {
    for (std::uint32_t i : rows) small.features.push_back(r.era.features[f * n + i]);
  }
  const auto specs = all_specs(25);
  const ContextNeeds needs = ContextNeeds::of(specs);
  EraContext sub(r.era, rows, needs, 0, 0), whole(small, {}, needs, 0, 0);
  EXPECT_EQ(sub.size(), rows.size());
  EXPECT_EQ(sub.universe_size(), n);
  ModelScratch scratch;
  Vec a(specs.size()), b(specs.size());
  score_model(sub, pred, specs, a, scratch);
  score_model(whole, pred, specs, b, scratch);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const Builtin k = specs[i].builtin;
    if (k == Builtin::corr || k == Builtin::fnc) {
      // numerai_corr centers the target over the whole era, not over the model's ids
      EXPECT_NE(a[i], b[i]) << specs[i].name();
    } else {
      EXPECT_EQ(a[i], b[i]) << specs[i].name();
    }
  }
  // (corr and fnc on a subset are checked against numerai-tools in FormulaCases.)
}

TEST(FormulaProperties, ScratchReuseAndDeterminism) {
  const auto specs = all_specs(10);
  ModelScratch scratch;
  const RandomEra big = random_era(700, 6, true), small = random_era(90, 7, false);
  const Vec first = score(big.era, big.pred, specs, scratch);
  score(small.era, small.pred, specs, scratch);
  const Vec again = score(big.era, big.pred, specs, scratch);
  for (std::size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(std::bit_cast<std::uint64_t>(first[i]), std::bit_cast<std::uint64_t>(again[i]));
  }
}

// ---- Edge cases: return what numerai-tools returns, never crash ----

TEST(FormulaEdges, DegenerateInputs) {
  const Toy toy;
  const Era era = toy.era();
  const Vec constant(20, 0.3);
  const Vec s = score(era, constant, all_specs(3));
  // corr: P' all 0 -> Pearson 0/0; mmc: p_perp = 0 -> 0; fnc: zero std -> NaN column -> raises
  EXPECT_TRUE(std::isnan(s[1]));
  EXPECT_EQ(s[2], 0.0);
  EXPECT_TRUE(std::isnan(s[6]));
  EXPECT_TRUE(std::isfinite(s[0]));  // corr_v1 breaks the ties by row order
  // constant meta-model: m . m = 0 -> NaN mmc; mmc2 still defined (tie-broken uniform ranks)
  const Era flat = make_era(toy.target, Vec(20, 1.0), Vec(20, 1.0));
  EXPECT_TRUE(std::isnan(score_one(flat, toy.b, Builtin::mmc)));
  EXPECT_TRUE(std::isfinite(score_one(flat, toy.b, Builtin::mmc2)));
  // constant target: every correlation is NaN
  const Era still = make_era(Vec(20, 0.5), toy.meta, toy.meta);
  for (Builtin b : {Builtin::corr_v1, Builtin::corr})
    EXPECT_TRUE(std::isnan(score_one(still, toy.b, b)));
  EXPECT_EQ(score_one(still, toy.b, Builtin::mmc), 0.0);  // centered target is all 0
  // top/bottom: 2K = n uses every row; 2K > n is outside numerai-tools' assumptions
  EXPECT_NEAR(score_one(era, toy.b, Builtin::corr, 10), score_one(era, toy.b, Builtin::corr),
              1e-15);
  EXPECT_TRUE(std::isnan(score_one(era, toy.b, Builtin::corr, 11)));
  EXPECT_TRUE(std::isnan(score_one(era, toy.b, Builtin::mmc2, 5)));  // no top/bottom variant
  // one row, no rows
  const Era one = make_era({0.5}, {0.2}, {0.2}, {{1.0}});
  for (double v : score(one, {0.7}, all_specs(0))) EXPECT_TRUE(std::isnan(v) || v == 0.0);
  const Era none = make_era({}, {}, {}, {});
  EraContext ctx(none, {}, ContextNeeds::of(all_specs(0)), 0, 0);
  Vec out(7, 1.0);
  ModelScratch scratch;
  score_model(ctx, {}, all_specs(0), out, scratch);
  for (double v : out) EXPECT_TRUE(std::isnan(v));
}

TEST(FormulaEdges, ContextWithoutWhatAFormulaNeedsGivesNaN) {
  const Toy toy;
  const Era era = toy.era();
  EraContext bare(era, {}, ContextNeeds{}, 0, 0);
  ModelScratch scratch;
  const auto specs = all_specs(0);
  Vec out(specs.size());
  score_model(bare, toy.b, specs, out, scratch);
  EXPECT_NEAR(out[0], 0.024525573579399, kTol);   // corr_v1 needs nothing
  EXPECT_NEAR(out[1], -0.215659199540114, kTol);  // corr works without the ndtri table
  for (std::size_t i = 2; i < specs.size(); ++i) EXPECT_TRUE(std::isnan(out[i])) << specs[i].name();
  Era no_meta = era;
  no_meta.meta_model.clear();
  EXPECT_THROW(EraContext(no_meta, {}, ContextNeeds{.meta_model = true}, 0, 0),
               std::invalid_argument);
  EXPECT_THROW(EraContext(era, {}, ContextNeeds{}, 1, 0), std::invalid_argument);
}

// ---- The formula table ----

TEST(FormulaTable, NamesNeedsAndTheTwentyPercentRule) {
  EXPECT_EQ(builtin_formulas().size(), 12u);
  std::size_t in_all = 0, on_gpu = 0;
  for (const BuiltinInfo& info : builtin_formulas()) {
    EXPECT_EQ(find_builtin(info.name), info.builtin);
    EXPECT_EQ(FormulaSpec{info.builtin}.name(), info.name);
    in_all += info.in_all;
    on_gpu += info.on_gpu;
  }
  EXPECT_EQ(in_all, 11u);  // all but the diagnostic max_feature_corr
  EXPECT_EQ(on_gpu, 7u);   // the classic ones
  const ContextNeeds signals = ContextNeeds::of(std::vector<FormulaSpec>{
      {Builtin::neutral_mmc}, {Builtin::alpha}, {Builtin::max_feature_corr}});
  EXPECT_TRUE(signals.neutralizers && signals.neutral_weights && signals.feature_values &&
              signals.meta_model && signals.gaussian && !signals.features);
  EXPECT_FALSE(find_builtin("nope").has_value());
  EXPECT_EQ((FormulaSpec{Builtin::mmc, 200}.name()), "mmc_tb200");
  EXPECT_EQ((FormulaSpec{Builtin::corr_v1}.name()), "corr_v1");
  const std::vector<FormulaSpec> specs = {{Builtin::corr}, {Builtin::fnc, 5}};
  const ContextNeeds n = ContextNeeds::of(specs);
  EXPECT_TRUE(n.features && n.gaussian && !n.meta_model && !n.benchmark);
  const ContextNeeds m = ContextNeeds::of(std::vector<FormulaSpec>{{Builtin::mmc2_burnflip}});
  EXPECT_TRUE(m.meta_model && !m.gaussian && !m.features);
  EXPECT_TRUE(ContextNeeds::of(std::vector<FormulaSpec>{{Builtin::bmc}}).benchmark);
  // len(ids) / len(s) >= 1 - 0.2
  EXPECT_TRUE(enough_ids(4, 5));
  EXPECT_TRUE(enough_ids(80, 100));
  EXPECT_FALSE(enough_ids(79, 100));
  EXPECT_TRUE(enough_ids(81, 101));
  EXPECT_FALSE(enough_ids(80, 101));
  EXPECT_TRUE(enough_ids(4000, 5000));
  EXPECT_FALSE(enough_ids(3999, 5000));
  EXPECT_FALSE(enough_ids(0, 0));
}

}  // namespace
}  // namespace backscore
