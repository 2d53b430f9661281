// The hand-computed example of the compare and payout tests: a scores file and a store of three
// models over three eras, and `compare` run in process.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/report/compare.hpp"
#include "io/hdf5.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore::compare_example {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A scores file as `backscore run --out` writes it (docs/FORMAT.md), from formula -> M x E values.
inline void write_scores(const std::filesystem::path& path, const std::vector<std::string>& models,
                         const std::vector<std::string>& eras,
                         const std::vector<std::pair<std::string, std::vector<double>>>& formulas,
                         const std::string& format = "backscore-scores") {
  h5::Hid f = h5::create_file(path.string());
  const hid_t root = f.get();
  h5::write_attribute(root, "format", format);
  h5::write_attribute(root, "version", std::int64_t{1});
  h5::write_attribute(root, "program", std::string("backscore test"));
  h5::write_attribute(root, "store", std::string("/nowhere.h5"));
  h5::write_attribute(root, "target", std::string("target"));
  h5::write_attribute(root, "benchmark", std::string(""));
  h5::write_strings(root, "models", models);
  h5::write_strings(root, "eras", eras);
  std::vector<std::string> names;
  for (const auto& [name, v] : formulas) names.push_back(name);
  h5::write_strings(root, "formulas", names);
  h5::Hid g = h5::create_group(root, "scores");
  const hsize_t dims[2] = {models.size(), eras.size()};
  for (const auto& [name, v] : formulas) {
    h5::write_dataset<double>(g.get(), name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, v, dims);
    h5::Hid ds = h5::open_dataset(g.get(), name);
    h5::write_attribute(ds.get(), "definition", "def of " + name);
  }
}

// The hand-computed example: models A, B, C over eras e1..e3 (row-major M x E).
inline const std::vector<std::string> kModels = {"A", "B", "C"};
inline const std::vector<std::string> kEras = {"e1", "e2", "e3"};
inline const std::vector<double> kCorr = {0.02, 0.01, kNaN, 0.00, -0.01, 0.03, 0.04, kNaN, kNaN};
inline const std::vector<double> kMmc = {0.01, 0.03, kNaN, -0.01, kNaN, 0.00, 0.025, kNaN, kNaN};
inline const std::vector<double> kMmc2x = {0.00, 0.01, kNaN, 0.02, 0.01, -0.04, -0.03, kNaN, kNaN};
// NaN = not submitted. C submitted e3 but has no scores there: paid 0 and counted.
inline const std::vector<double> kStakes = {100, 200, kNaN, 10, 10, 10, 50, kNaN, 50};

inline ScoreMatrix matrix(const std::string& name, const std::vector<double>& v) {
  return ScoreMatrix{name, 3, 3, v};
}

// A store holding the example's submissions and stakes (scores come from the scores file).
inline void write_store(const std::filesystem::path& path, bool stakes) {
  StoreSchema schema;
  schema.models = kModels;
  schema.targets = {"target"};
  schema.has_stakes = stakes;
  StoreWriter w(path, schema);
  const std::vector<std::vector<std::int32_t>> submitted = {{0, 1, 2}, {0, 1}, {1, 2}};
  for (std::size_t j = 0; j < 3; ++j) {
    Era e;
    e.name = kEras[j];
    e.ids = {"a", "b", "c", "d"};
    e.targets = {0, 0.25, 0.75, 1};
    e.models = submitted[j];
    std::vector<float> preds;
    for (std::int32_t m : e.models) {
      if (stakes) e.stakes.push_back(kStakes[static_cast<std::size_t>(m) * 3 + j]);
      for (int i = 0; i < 4; ++i) preds.push_back(static_cast<float>(i + m) / 8.0f);
    }
    w.append_era(e, preds);
  }
  w.finish();
}

struct CliRun {
  std::string out;
  std::string error;  // InputError's message, "" when none
};

// Runs `compare ARGS` in process through add_compare (independent of app.cpp's registration).
inline CliRun run_compare(std::vector<std::string> args) {
  CLI::App app{"test"};
  cli::add_compare(app);
  args.insert(args.begin(), "compare");
  std::vector<const char*> argv{"backscore"};
  for (const auto& a : args) argv.push_back(a.c_str());
  CliRun r;
  ::testing::internal::CaptureStdout();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const InputError& e) {
    r.error = e.what();
  }
  r.out = ::testing::internal::GetCapturedStdout();
  return r;
}

}  // namespace backscore::compare_example
