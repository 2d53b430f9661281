// `backscore import` streams the universe era by era: a universe with eras out of order (rows
// spilled to disk by era) gives the same store bytes as the same rows sorted by era; integer
// features (kept as int8 while spilled) and others (kept whole) come back exactly as a store
// written straight from the values; and peak memory does not grow with the number of eras.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "io/import.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::exact_text;
using testing::read_file;
using testing::run_backscore;
using testing::TempDir;
using testing::write_file;

// Eras whose features are: all 0..4 (int8 in the store); one 0.5 (float32); the int8 range's
// ends with a -0 (int8); one 128 (float32); a tiny value that is 0 as a float32 (float32).
struct Universe {
  StoreSchema schema;
  std::vector<Era> eras;  // ids sorted, values as the store must hold them
  struct Row {
    std::size_t era, i;  // era index, position in the era's sorted ids
  };
  std::vector<Row> rows;  // file order
};

Universe make_universe(std::mt19937_64& rng, bool by_era) {
  Universe u;
  u.schema.targets = {"target", "target_b"};
  u.schema.benchmarks = {"x", "y"};
  u.schema.features = {"f1", "f2", "f3"};
  u.schema.has_meta_model = true;
  std::uniform_real_distribution<double> unit(0, 1);
  const std::vector<double> odd = {0.5, 127, 128, 1e-50};
  for (int e = 0; e < 6; ++e) {
    Era era;
    era.name = "era" + std::to_string(5 - e);  // not sorted by name: order of first appearance
    const std::size_t n = 30 + rng() % 20;
    for (std::size_t i = 0; i < n; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "id%05zu", i * 7 + static_cast<std::size_t>(e));
      era.ids.push_back(id);
    }
    std::sort(era.ids.begin(), era.ids.end());
    for (std::size_t k = 0; k < 2 * n; ++k) era.targets.push_back(std::round(unit(rng) * 4) / 4);
    for (std::size_t k = 0; k < n; ++k) era.meta_model.push_back(unit(rng));
    for (std::size_t k = 0; k < 2 * n; ++k) era.benchmarks.push_back(unit(rng) - 0.5);
    for (std::size_t k = 0; k < 3 * n; ++k) era.features.push_back(static_cast<double>(rng() % 5));
    const std::size_t at = rng() % (3 * n);
    if (e == 1) era.features[at] = 0.5;
    if (e == 2) {
      era.features[0] = -128;
      era.features[1] = 127;
      era.features[2] = -0.0;
    }
    if (e == 3) era.features[at] = 128;
    if (e == 4) era.features[at] = -1e-50;
    u.eras.push_back(std::move(era));
  }
  for (std::size_t e = 0; e < u.eras.size(); ++e) {
    for (std::size_t i = 0; i < u.eras[e].n_stocks(); ++i) u.rows.push_back({e, i});
  }
  std::shuffle(u.rows.begin(), u.rows.end(), rng);
  // Era e's first row comes before era e+1's, so that the first-appearance order is the same
  // either way; by_era then groups each era's rows (in their shuffled order).
  for (std::size_t e = 0; e < u.eras.size(); ++e) {
    const auto first = std::find_if(u.rows.begin(), u.rows.end(),
                                    [&](const Universe::Row& r) { return r.era == e; });
    std::rotate(u.rows.begin() + static_cast<std::ptrdiff_t>(e), first, first + 1);
  }
  if (by_era) {
    std::stable_sort(u.rows.begin(), u.rows.end(),
                     [](const Universe::Row& a, const Universe::Row& b) { return a.era < b.era; });
  }
  return u;
}

void write_universe(const Universe& u, const fs::path& path) {
  std::string text =
      "feature_f1,era,target,id,benchmark_x,meta_model,feature_f2,target_b,"
      "benchmark_y,feature_f3\n";
  for (const auto& [e, i] : u.rows) {
    const Era& era = u.eras[e];
    const std::size_t n = era.n_stocks();
    text += exact_text(era.features[i]) + "," + era.name + "," + exact_text(era.targets[i]) + "," +
            era.ids[i] + "," + exact_text(era.benchmarks[i]) + "," + exact_text(era.meta_model[i]) +
            "," + exact_text(era.features[n + i]) + "," + exact_text(era.targets[n + i]) + "," +
            exact_text(era.benchmarks[n + i]) + "," + exact_text(era.features[2 * n + i]) + "\n";
  }
  write_file(path, text);
}

// One model submitting every other id of every era, as CSV and as the store's matrices.
std::string predictions_csv(const Universe& u, std::vector<std::vector<float>>& matrices) {
  std::string text = "model,era,id,prediction\n";
  for (const Era& era : u.eras) {
    std::vector<float> m(era.n_stocks(), std::nanf(""));
    for (std::size_t i = 0; i < era.n_stocks(); i += 2) {
      m[i] = static_cast<float>(i) / 64;
      text += "m," + era.name + "," + era.ids[i] + "," + exact_text(m[i]) + "\n";
    }
    matrices.push_back(std::move(m));
  }
  return text;
}

TEST(ImportStream, UnsortedUniverseGivesTheStoreOfTheValues) {
  std::mt19937_64 rng(3);
  const Universe sorted = make_universe(rng, true);
  rng.seed(3);
  const Universe unsorted = make_universe(rng, false);
  TempDir dir;
  write_universe(sorted, dir / "sorted.csv");
  write_universe(unsorted, dir / "unsorted.csv");
  ASSERT_NE(read_file(dir / "sorted.csv"), read_file(dir / "unsorted.csv"));
  std::vector<std::vector<float>> matrices;
  write_file(dir / "p.csv", predictions_csv(sorted, matrices));

  // The store written straight from the values.
  {
    StoreSchema schema = sorted.schema;
    schema.models = {"m"};
    StoreWriter writer(dir / "expected.h5", schema);
    for (std::size_t e = 0; e < sorted.eras.size(); ++e) {
      Era era = sorted.eras[e];
      era.models = {0};
      writer.append_era(era, matrices[e]);
    }
    writer.finish();
  }
  const std::string expected = read_file(dir / "expected.h5");
  ImportOptions o;
  o.predictions = {dir / "p.csv"};
  for (const char* name : {"sorted.csv", "unsorted.csv"}) {
    for (const std::size_t spill_bytes :
         {std::size_t{64} << 20, std::size_t{1}, std::size_t{500}}) {
      o.universe = dir / name;
      o.universe_spill_bytes = spill_bytes;
      o.out = dir / "out.h5";
      const ImportSummary s = import_csv(o);
      EXPECT_EQ(s.eras, sorted.eras.size());
      EXPECT_TRUE(read_file(dir / "out.h5") == expected) << name << " spill " << spill_bytes;
      fs::remove(dir / "out.h5");
    }
  }
  // And the values read back are the ones written (float32 where an era is not all int8).
  StoreReader store(dir / "expected.h5");
  for (std::size_t e = 0; e < sorted.eras.size(); ++e) {
    const Era era = store.read_era(e);
    ASSERT_EQ(era.features.size(), sorted.eras[e].features.size());
    for (std::size_t k = 0; k < era.features.size(); ++k) {
      EXPECT_EQ(era.features[k], static_cast<float>(sorted.eras[e].features[k])) << e << " " << k;
    }
  }
}

// A universe of `eras` eras of `stocks` stocks with `features` integer features, sorted by era.
void write_sized_universe(const fs::path& dir, int eras, int stocks, int features) {
  std::string u = "era,id,target";
  for (int f = 0; f < features; ++f) u += ",feature_f" + std::to_string(f);
  u += "\n";
  std::string p = "model,era,id,prediction\n";
  std::mt19937_64 rng(1);
  for (int e = 0; e < eras; ++e) {
    for (int i = 0; i < stocks; ++i) {
      const std::string era = "era" + std::to_string(e), id = "n" + std::to_string(i);
      u += era + "," + id + ",0.5";
      for (int f = 0; f < features; ++f) {
        u += ',';
        u += static_cast<char>('0' + rng() % 5);
      }
      u += "\n";
      if (i % 10 == 0) p += "m," + era + "," + id + ",0.25\n";
    }
  }
  write_file(dir / "u.csv", u);
  write_file(dir / "p.csv", p);
}

TEST(ImportStream, PeakMemoryDoesNotGrowWithTheEras) {
  // 2000 stocks x 300 features: 4.8 MB of doubles an era. Holding every era would add ~86 MB
  // from 2 to 20 eras; streaming adds the ids (about 40 bytes a row). The allowance is a quarter
  // of that: the CUDA build's process maps ~250 MB of CUDA libraries whose resident part moves by
  // up to ~15 MB from run to run (CI, 2026-11-30).
  long peak[2] = {0, 0};
  const int eras[2] = {2, 20};
  for (int k = 0; k < 2; ++k) {
    TempDir dir;
    write_sized_universe(dir.path(), eras[k], 2000, 300);
    const auto r = run_backscore({"import", "--universe", (dir / "u.csv").string(), "--predictions",
                                  (dir / "p.csv").string(), "--out", (dir / "s.h5").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    peak[k] = r.max_rss_kib;
  }
  EXPECT_LT(peak[1] - peak[0], 22 * 1024)
      << "2 eras: " << peak[0] << " KiB, 20 eras: " << peak[1] << " KiB";
}

}  // namespace
}  // namespace backscore
