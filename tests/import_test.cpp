// `backscore import`: CSV -> store round trip on randomized data, the per-round submission
// directory layout, and every bad input with its one-line message, status 2 and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "io/import.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;
using testing::exact_text;
using testing::run_backscore;
using testing::TempDir;
using testing::write_file;

// A random history written as CSV, and what the store must hold.
struct History {
  struct Row {
    std::string era, id;
    double target, target_b, meta, bench;
    int f1, f2;
  };
  std::vector<std::string> eras;  // first-appearance order
  std::vector<Row> universe;      // file order (shuffled within the file)
  // (model, era) -> id -> prediction (NaN = empty cell)
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> preds;
  std::vector<std::string> models;  // first-appearance order in the prediction files
  std::map<std::pair<std::string, std::string>, double> stakes;
};

History random_history(std::mt19937_64& rng) {
  History h;
  std::uniform_real_distribution<double> u(0, 1);
  h.eras = {"era0003", "era0001", "era10"};  // not sorted: the store keeps this order
  for (const auto& e : h.eras) {
    const int n = 20 + static_cast<int>(rng() % 15);
    for (int i = 0; i < n; ++i) {
      // Ids that need quoting and sort differently as bytes than as numbers.
      std::string id = (i % 5 == 0 ? "n,\"q\"" : "n") + std::to_string(rng() % 100000);
      if (std::any_of(h.universe.begin(), h.universe.end(),
                      [&](const History::Row& r) { return r.era == e && r.id == id; })) {
        continue;
      }
      h.universe.push_back({e, id, static_cast<double>(rng() % 5) / 4, u(rng) - 0.5, u(rng),
                            u(rng) * 3, static_cast<int>(rng() % 5), static_cast<int>(rng() % 5)});
    }
  }
  std::shuffle(h.universe.begin(), h.universe.end(), rng);
  // Eras appear in the file in the order of their first row.
  h.eras.clear();
  for (const auto& r : h.universe) {
    if (std::find(h.eras.begin(), h.eras.end(), r.era) == h.eras.end()) h.eras.push_back(r.era);
  }
  const std::vector<std::string> names = {"zeta", "alpha", "m\"x", "beta", "gamma"};
  for (const auto& r : h.universe) {
    for (const auto& m : names) {
      if ((std::hash<std::string>{}(m + r.era) % 4) == 0) continue;  // model absent this era
      if (u(rng) < 0.05) continue;                                   // id not submitted
      h.preds[{m, r.era}][r.id] = u(rng) < 0.05 ? std::nan("") : std::round(u(rng) * 1e6) / 1e6;
    }
  }
  for (const auto& [key, ids] : h.preds) {
    if (u(rng) < 0.6) h.stakes[key] = std::round(u(rng) * 1000) / 10;
  }
  return h;
}

std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void write_history(const History& h, const TempDir& dir, std::mt19937_64& rng, History& order) {
  std::string u =
      "\xEF\xBB\xBF"
      "era,id,target,meta_model,feature_f1,target_b,benchmark_bench,feature_f2\r\n";
  for (const auto& r : h.universe) {
    u += r.era + "," + quote(r.id) + "," + exact_text(r.target) + "," + exact_text(r.meta) + "," +
         std::to_string(r.f1) + "," + exact_text(r.target_b) + "," + exact_text(r.bench) + "," +
         std::to_string(r.f2) + "\r\n";
  }
  write_file(dir / "universe.csv", u);
  // Predictions: shuffled across two files, columns in another order in the second.
  std::vector<std::string> lines;
  for (const auto& [key, ids] : h.preds) {
    for (const auto& [id, v] : ids) {
      lines.push_back(quote(key.first) + "," + key.second + "," + quote(id) + "," +
                      (std::isnan(v) ? "" : exact_text(v)));
    }
  }
  std::shuffle(lines.begin(), lines.end(), rng);
  std::string p1 = "model,era,id,prediction\n", p2 = "prediction,id,era,model\r\n";
  for (std::size_t k = 0; k < lines.size(); ++k) {
    if (k < lines.size() / 2) {
      p1 += lines[k] + "\n";
    } else {
      // Reverse the fields for the second file's column order.
      std::vector<std::string> f;
      std::string cur;
      bool in_q = false;
      for (char c : lines[k]) {
        if (c == '"') in_q = !in_q;
        if (c == ',' && !in_q) {
          f.push_back(cur);
          cur.clear();
        } else {
          cur += c;
        }
      }
      f.push_back(cur);
      p2 += f[3] + "," + f[2] + "," + f[1] + "," + f[0] + "\r\n";
    }
  }
  write_file(dir / "p1.csv", p1);
  write_file(dir / "p2.csv", p2);
  // Model order = first appearance across p1 then p2, i.e. along `lines`.
  order.models.clear();
  for (const std::string& line : lines) {
    std::string name;
    bool in_q = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
      const char c = line[i];
      if (c == '"') {
        if (in_q && i + 1 < line.size() && line[i + 1] == '"') {
          name += '"';
          ++i;
        } else {
          in_q = !in_q;
        }
        continue;
      }
      if (c == ',' && !in_q) break;
      name += c;
    }
    if (std::find(order.models.begin(), order.models.end(), name) == order.models.end()) {
      order.models.push_back(name);
    }
  }
  std::string stakes = "model,era,stake\n";
  for (const auto& [key, s] : h.stakes)
    stakes += quote(key.first) + "," + key.second + "," + exact_text(s) + "\n";
  stakes += "nobody,era0001,5\n";     // unknown model: ignored
  stakes += "alpha,era_unknown,5\n";  // unknown era: ignored
  write_file(dir / "stakes.csv", stakes);
}

TEST(Import, RoundTripEqualsTheCsvInput) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 3; ++trial) {
    TempDir dir;
    History h = random_history(rng);
    History order;
    write_history(h, dir, rng, order);
    auto r = run_backscore({"import", "--universe", (dir / "universe.csv").string(),
                            "--predictions", (dir / "p1.csv").string(), "--predictions",
                            (dir / "p2.csv").string(), "--stakes", (dir / "stakes.csv").string(),
                            "--out", (dir / "s.h5").string()});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("2 ignored"), std::string::npos) << r.err;

    StoreReader store(dir / "s.h5");
    const StoreSchema& s = store.schema();
    EXPECT_EQ(store.eras(), h.eras);
    EXPECT_EQ(s.models, order.models);
    EXPECT_EQ(s.targets, (std::vector<std::string>{"target", "target_b"}));
    EXPECT_EQ(s.benchmarks, (std::vector<std::string>{"bench"}));
    EXPECT_EQ(s.features, (std::vector<std::string>{"f1", "f2"}));
    EXPECT_TRUE(s.has_meta_model);
    EXPECT_TRUE(s.has_stakes);
    for (std::size_t e = 0; e < h.eras.size(); ++e) {
      const Era era = store.read_era(e);
      std::vector<const History::Row*> rows;
      for (const auto& row : h.universe) {
        if (row.era == h.eras[e]) rows.push_back(&row);
      }
      std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->id < b->id; });
      const std::size_t n = rows.size();
      ASSERT_EQ(era.n_stocks(), n);
      for (std::size_t i = 0; i < n; ++i) {
        EXPECT_EQ(era.ids[i], rows[i]->id);
        EXPECT_EQ(era.target(0)[i], rows[i]->target);
        EXPECT_EQ(era.target(1)[i], rows[i]->target_b);
        EXPECT_EQ(era.meta_model[i], rows[i]->meta);
        EXPECT_EQ(era.benchmark(0)[i], rows[i]->bench);
        EXPECT_EQ(era.feature(0)[i], rows[i]->f1);
        EXPECT_EQ(era.feature(1)[i], rows[i]->f2);
      }
      // Submitted models: those with any row in this era, ascending model index.
      std::vector<std::int32_t> expected_models;
      for (std::size_t m = 0; m < s.models.size(); ++m) {
        if (h.preds.count({s.models[m], h.eras[e]})) {
          expected_models.push_back(static_cast<std::int32_t>(m));
        }
      }
      ASSERT_EQ(era.models, expected_models);
      std::vector<float> block(era.n_submitted() * n);
      store.read_predictions(e, 0, era.n_submitted(), block);
      for (std::size_t j = 0; j < era.n_submitted(); ++j) {
        const auto key =
            std::make_pair(s.models[static_cast<std::size_t>(era.models[j])], h.eras[e]);
        const auto& ids = h.preds.at(key);
        for (std::size_t i = 0; i < n; ++i) {
          const float got = block[j * n + i];
          const auto it = ids.find(era.ids[i]);
          if (it == ids.end() || std::isnan(it->second)) {
            EXPECT_TRUE(std::isnan(got)) << key.first << " " << era.ids[i];
          } else {
            EXPECT_EQ(got, static_cast<float>(it->second));
          }
        }
        const auto st = h.stakes.find(key);
        EXPECT_EQ(era.stakes[j], st == h.stakes.end() ? 0.0 : st->second);
      }
    }
  }
}

TEST(Import, SubmissionDirectoryGivesTheSameStoreAsLongCsv) {
  TempDir dir;
  write_file(dir / "u.csv", "era,id,target\nr1,a,0\nr1,b,0.5\nr1,c,1\nr2,b,0.25\nr2,d,0.75\n");
  fs::create_directories(dir / "subs" / "alpha");
  fs::create_directories(dir / "subs" / "beta");
  write_file(dir / "subs" / "alpha" / "r1.csv", "id,prediction\nc,0.3\na,0.1\nb,0.2\n");
  write_file(dir / "subs" / "alpha" / "r2.csv", "id,prediction\r\nd,0.9\r\nb,0.8\r\n");
  write_file(dir / "subs" / "beta" / "r2.csv", "prediction,id\n0.4,b\n,d\n");
  write_file(dir / "subs" / "beta" / "notes.txt", "not a submission\n");
  write_file(dir / "long.csv",
             "model,era,id,prediction\nalpha,r1,a,0.1\nalpha,r1,b,0.2\nalpha,r1,c,0.3\n"
             "alpha,r2,b,0.8\nalpha,r2,d,0.9\nbeta,r2,b,0.4\nbeta,r2,d,\n");
  auto a = run_backscore({"import", "--universe", (dir / "u.csv").string(), "--predictions-dir",
                          (dir / "subs").string(), "--out", (dir / "a.h5").string()});
  ASSERT_EQ(a.status, 0) << a.err;
  auto b = run_backscore({"import", "--universe", (dir / "u.csv").string(), "--predictions",
                          (dir / "long.csv").string(), "--out", (dir / "b.h5").string()});
  ASSERT_EQ(b.status, 0) << b.err;
  EXPECT_EQ(testing::read_file(dir / "a.h5"), testing::read_file(dir / "b.h5"));
  StoreReader store(dir / "a.h5");
  EXPECT_EQ(store.schema().models, (std::vector<std::string>{"alpha", "beta"}));
  EXPECT_FALSE(store.schema().has_stakes);
  EXPECT_FALSE(store.schema().has_meta_model);
}

TEST(Import, SpillingToDiskGivesTheSameStore) {
  std::mt19937_64 rng(5);
  TempDir dir;
  History h = random_history(rng), order;
  write_history(h, dir, rng, order);
  ImportOptions o;
  o.universe = dir / "universe.csv";
  o.predictions = {dir / "p1.csv", dir / "p2.csv"};
  o.stakes = dir / "stakes.csv";
  o.out = dir / "memory.h5";
  import_csv(o);
  o.spill_cells = 7;  // flush every 7 cells: many chunks per era
  o.out = dir / "spilled.h5";
  import_csv(o);
  EXPECT_EQ(testing::read_file(dir / "memory.h5"), testing::read_file(dir / "spilled.h5"));
}

// Every bad input: status 2, exactly one line naming the file (and line and column where there is
// one), and nothing left in the output directory but the inputs.
class BadImport : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,b,1,0.2\nr2,a,0.5,0.3\n");
    write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,0.5\nm,r1,b,0.25\nm,r2,a,1\n");
  }
  void expect_error(const std::vector<std::string>& extra, const std::string& message,
                    bool default_predictions = true) {
    std::vector<std::string> args = {"import", "--universe", (dir / "u.csv").string()};
    if (default_predictions) {
      args.push_back("--predictions");
      args.push_back((dir / "p.csv").string());
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back("--out");
    args.push_back((dir / "out.h5").string());
    const auto before = files();
    auto r = run_backscore(args);
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(testing::line_count(r.err), 1u) << r.err;
    EXPECT_EQ(r.err, "backscore: error: " + message + "\n");
    EXPECT_EQ(files(), before) << "an output or temporary file was left behind";
  }
  std::set<std::string> files() const {
    std::set<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(dir.path())) {
      names.insert(e.path().lexically_relative(dir.path()).string());
    }
    return names;
  }
  std::string path(const std::string& name) const { return (dir / name).string(); }
  TempDir dir;
};

TEST_F(BadImport, ValidInputImports) {
  auto r = run_backscore({"import", "--universe", path("u.csv"), "--predictions", path("p.csv"),
                          "--out", path("out.h5")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir / "out.h5"));
}

TEST_F(BadImport, MissingFiles) {
  expect_error({"--predictions", path("nope.csv")},
               path("nope.csv") + ": cannot open: No such file or directory");
  write_file(dir / "u.csv", "");
  expect_error({}, path("u.csv") + ": empty file, expected a header line");
}

TEST_F(BadImport, UniverseColumns) {
  write_file(dir / "u.csv", "era,id,meta_model\nr1,a,0.1\n");
  expect_error({}, path("u.csv") +
                       ":1: header: the universe needs the columns era, id and target (has 3 "
                       "columns, missing target)");
  write_file(dir / "u.csv", "era,id,target,colour\nr1,a,0,red\n");
  expect_error({}, path("u.csv") +
                       ":1: column 'colour' (4): not a universe column (era, id, target, "
                       "target_<name>, meta_model, benchmark_<name>, feature_<name>, sample_weight, neutralizer_<name>)");
}

TEST_F(BadImport, UniverseValues) {
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,b,nan,0.2\n");
  expect_error({}, path("u.csv") + ":3: column 'target' (3): 'nan' is not a finite number");
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,b,1,\n");
  expect_error({}, path("u.csv") + ":3: column 'meta_model' (4): empty value");
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,b,1,inf\n");
  expect_error({}, path("u.csv") + ":3: column 'meta_model' (4): 'inf' is not a finite number");
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,,1,0.2\n");
  expect_error({}, path("u.csv") + ":3: column 'id' (2): empty value");
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,a,0,0.1\nr1,b,1\n");
  expect_error({}, path("u.csv") + ":3: 3 fields, expected 4 as in the header");
  write_file(dir / "u.csv", "era,id,target,meta_model\n");
  expect_error({}, path("u.csv") + ": no rows after the header");
}

TEST_F(BadImport, FeatureBeyondFloat32) {
  // Non-integer features are stored as float32; 1e39 would become inf in the store.
  write_file(dir / "u.csv", "era,id,target,feature_a\nr1,a,0,1e39\nr1,b,1,2\nr2,a,0.5,3\n");
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,0.5\n");
  expect_error({}, path("u.csv") + ":2: column 'feature_a' (4): 1e39 does not fit a 32-bit float");
}

TEST_F(BadImport, DuplicateIdInUniverse) {
  write_file(dir / "u.csv", "era,id,target,meta_model\nr1,b,0,0.1\nr2,b,1,0.2\nr1,b,1,0.2\n");
  expect_error(
      {}, path("u.csv") + ":4: column 'id' (2): duplicate id 'b' in era 'r1' (first on line 2)");
}

TEST_F(BadImport, PredictionProblems) {
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,0.5\nm,r1,zz,0.5\n");
  expect_error({}, path("p.csv") +
                       ":3: column 'id' (3): id 'zz' is not in era 'r1' of the universe " +
                       path("u.csv"));
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r9,a,0.5\n");
  expect_error(
      {}, path("p.csv") + ":2: column 'era' (2): era 'r9' is not in the universe " + path("u.csv"));
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,high\n");
  expect_error({}, path("p.csv") + ":2: column 'prediction' (4): 'high' is not a number");
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,1e39\n");
  expect_error({}, path("p.csv") + ":2: column 'prediction' (4): 1e39 does not fit a 32-bit float");
  write_file(dir / "p.csv", "model,era,id\nm,r1,a\n");
  expect_error({}, path("p.csv") +
                       ":1: header: the predictions need the columns model, era, id, prediction "
                       "(missing prediction)");
  write_file(dir / "p.csv", "model,era,id,prediction,extra\nm,r1,a,1,2\n");
  expect_error({},
               path("p.csv") +
                   ":1: column 'extra' (5): not a predictions column (model, era, id, prediction)");
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,a,0.5\n\"m,r1,b,0.5\n");
  expect_error({}, path("p.csv") + ":3: quoted field is never closed");
}

// A NUL byte in an id, era, model or column name is refused (the store's strings are NUL-padded,
// so most readers would cut the name there): one line naming the file, line and column.
TEST_F(BadImport, NamesWithNulByte) {
  using namespace std::string_literals;
  write_file(dir / "u.csv", "era,id,target\nr1,\"a\0b\",0\n"s);
  expect_error({}, path("u.csv") + ":2: column 'id' (2): a name with a NUL byte");
  write_file(dir / "u.csv", "era,id,target\n\"r\0\",a,0\n"s);
  expect_error({}, path("u.csv") + ":2: column 'era' (1): a name with a NUL byte");
  write_file(dir / "u.csv", "era,id,target,feature_f\0x\nr1,a,0,1\n"s);
  expect_error({}, path("u.csv") + ":1: header: the name of column 4 has a NUL byte");
  write_file(dir / "u.csv", "era,id,target\nr1,a,0\nr1,b,1\n");
  write_file(dir / "p.csv", "model,era,id,prediction\n\"m\0\",r1,a,0.5\n"s);
  expect_error({}, path("p.csv") + ":2: column 'model' (1): a name with a NUL byte");
  write_file(dir / "p.csv", "model,era,id,prediction\nm,r1,\"b\0\",0.5\n"s);
  expect_error({}, path("p.csv") + ":2: column 'id' (3): a name with a NUL byte");
}

// An error quoting a name with a line break (legal in a quoted field) stays one line.
TEST_F(BadImport, NamesWithLineBreaksStayOneLine) {
  write_file(dir / "u.csv", "era,id,target\n\"r\n1\",\"a\r\nb\",0\n\"r\n1\",\"a\r\nb\",1\n");
  expect_error({}, path("u.csv") +
                       ":5: column 'id' (2): duplicate id 'a\\r\\nb' in era 'r\\n1' (first on line 2)");
  write_file(dir / "u.csv", "era,id,target\n\"r\n1\",a,0\n");
  write_file(dir / "p.csv", "model,era,id,prediction\n\"m\n\",\"r\n1\",a,0.5\n\"m\n\",\"r\n1\",a,1\n");
  expect_error({}, path("p.csv") + ":5: column 'id' (3): duplicate prediction for model 'm\\n', era "
                                   "'r\\n1', id 'a' (first at " + path("p.csv") + ":2)");
}

TEST_F(BadImport, DuplicatePredictionAcrossFiles) {
  write_file(dir / "p2.csv", "model,era,id,prediction\nq,r1,a,0.5\nm,r1,b,0.75\n");
  expect_error({"--predictions", path("p2.csv")},
               path("p2.csv") +
                   ":3: column 'id' (3): duplicate prediction for model 'm', era 'r1', "
                   "id 'b' (first at " +
                   path("p.csv") + ":3)");
}

TEST_F(BadImport, Stakes) {
  write_file(dir / "s.csv", "model,era,stake\nm,r1,10\nm,r1,12\n");
  expect_error({"--stakes", path("s.csv")},
               path("s.csv") + ":3: duplicate stake for model 'm' in era 'r1' (first on line 2)");
  write_file(dir / "s.csv", "model,era,stake\nm,r1,-1\n");
  expect_error({"--stakes", path("s.csv")},
               path("s.csv") + ":2: column 'stake' (3): stake -1 is negative");
  write_file(dir / "s.csv", "model,stake\nm,1\n");
  expect_error(
      {"--stakes", path("s.csv")},
      path("s.csv") + ":1: header: the stakes need the columns model, era, stake (missing era)");
}

TEST_F(BadImport, PredictionDirectory) {
  fs::create_directories(dir / "subs" / "m");
  write_file(dir / "subs" / "m" / "r7.csv", "id,prediction\na,1\n");
  expect_error(
      {"--predictions-dir", path("subs")},
      path("subs/m/r7.csv") + ": era 'r7' (the file name) is not in the universe " + path("u.csv"),
      false);
  fs::remove(dir / "subs" / "m" / "r7.csv");
  write_file(dir / "subs" / "m" / "r1.csv", "id,prediction,extra\na,1,2\n");
  expect_error({"--predictions-dir", path("subs")},
               path("subs/m/r1.csv") +
                   ":1: header: a submission file needs two columns, id and the prediction",
               false);
  fs::remove(dir / "subs" / "m" / "r1.csv");
  expect_error({"--predictions-dir", path("subs")}, path("subs") + ": no <model>/<era>.csv files",
               false);
  expect_error(
      {"--predictions-dir", path("u.csv")},
      path("u.csv") + ": not a directory (--predictions-dir expects DIR/<model>/<era>.csv)", false);
}

TEST_F(BadImport, Options) {
  expect_error({}, "import: give at least one --predictions FILE or --predictions-dir DIR", false);
  // --out naming an input file would destroy it.
  auto r = run_backscore({"import", "--universe", path("u.csv"), "--predictions", path("p.csv"),
                          "--out", path("p.csv")});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "backscore: error: --out " + path("p.csv") + " is the same file as " +
                       "--predictions " + path("p.csv") +
                       ", which it would overwrite: give --out another path\n");
  EXPECT_TRUE(fs::exists(dir / "p.csv"));
}

}  // namespace
}  // namespace backscore
