// Shared by the formula-language tests (tests/lang_*_test.cpp): definitions compiled from text,
// the docs' definitions, a synthetic store.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "io/store.hpp"
#include "test_support.hpp"

namespace backscore::lang_testing {

using testing::read_file;
using testing::run_backscore;
using testing::TempDir;
using testing::write_file;
using Vec = std::vector<double>;

inline std::vector<lang::Definition> parse_all(const std::vector<std::string>& texts) {
  std::vector<lang::Definition> defs;
  for (const std::string& t : texts) defs.push_back(lang::parse_definition(t));
  return defs;
}

inline lang::Plan compile(const std::vector<std::string>& texts,
                          const StoreSchema* schema = nullptr,
                          const std::vector<std::string>& outputs = {}) {
  return lang::compile(parse_all(texts), outputs, lang::Binding{schema, 0, 0});
}

inline std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream ss(line);
  std::string c;
  while (std::getline(ss, c, ',')) cells.push_back(c);
  if (!line.empty() && line.back() == ',') cells.emplace_back();
  return cells;
}

// The ```formulas block of docs/FORMULAS.md.
inline std::string docs_definitions() {
  const std::string doc = read_file(std::string(BACKSCORE_SOURCE_DIR) + "/docs/FORMULAS.md");
  const std::string open = "```formulas\n";
  const auto a = doc.find(open);
  if (a == std::string::npos) return "";
  const auto b = doc.find("```", a + open.size());
  return doc.substr(a + open.size(), b - a - open.size());
}

// A synthetic history with burn eras, missing ids (some models on their own subset, some
// skipped), ties, a meta-model, benchmarks and features.
inline void synth_store(const std::filesystem::path& path, const char* seed = "3") {
  const auto r = run_backscore({"synth", "--models", "40", "--eras", "8", "--stocks", "1000",
                                "--features", "5", "--burn-fraction", "0.4", "--neutralizers", "5",
                                "--sample-weights", "--seed", seed, "--out", path.string(),
                                "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
}

}  // namespace backscore::lang_testing
