// libFuzzer target: the formula language (host/lang) through its public entry points. The input is
// a formula file's text, one definition per line: each line is parsed (parse_definition) and
// printed back (to_string); the definitions are compiled unbound (explain without a store), as
// payout rules (scores as inputs) and bound to a small store schema; a bound plan is described
// and evaluated on a small era, for a model with every id and one with a subset. Errors are
// InputErrors (FormulaError, OptionError); anything else escaping is a finding.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "host/lang/eval.hpp"
#include "host/lang/parse.hpp"
#include "host/lang/plan.hpp"
#include "io/store.hpp"

namespace {

using namespace backscore;

constexpr std::size_t kStocks = 16;

StoreSchema make_schema() {
  StoreSchema s;
  s.models = {"m0", "m1"};
  s.targets = {"target", "target_b"};
  s.benchmarks = {"bm"};
  s.features = {"f0", "f1"};
  s.has_meta_model = true;
  return s;
}

// Deterministic values with ties, so ranks and neutralization see both.
double value(std::size_t k, std::size_t i) {
  return std::sin(static_cast<double>(7 * k + 3 * i + 1)) + static_cast<double>((i % 4) / 2);
}

Era make_era(const StoreSchema& s) {
  Era e;
  e.name = "era1";
  for (std::size_t i = 0; i < kStocks; ++i) e.ids.push_back("id" + std::to_string(10 + i));
  for (std::size_t i = 0; i < s.targets.size() * kStocks; ++i) {
    e.targets.push_back(static_cast<double>(i % 5) / 4);
  }
  for (std::size_t i = 0; i < kStocks; ++i) e.meta_model.push_back(value(1, i));
  for (std::size_t i = 0; i < kStocks; ++i) e.benchmarks.push_back(value(2, i));
  for (std::size_t i = 0; i < s.features.size() * kStocks; ++i) {
    e.features.push_back(static_cast<double>(i % 3));
  }
  return e;
}

void evaluate(const lang::Plan& plan, const Era& era) {
  const lang::EraStages full(plan, era, {});
  lang::ModelEvaluator evaluator(plan);
  std::vector<double> builtins(plan.builtins.size(), 0.01), out(plan.formulas.size());
  std::vector<double> pred(kStocks);
  for (std::size_t i = 0; i < kStocks; ++i) pred[i] = value(3, i);
  evaluator.evaluate(full, pred, builtins, out);
  // A model that left out ids 0 and 5: the era's stages on its subset.
  std::vector<std::uint32_t> rows;
  std::vector<double> pred_subset;
  for (std::uint32_t i = 0; i < kStocks; ++i) {
    if (i == 0 || i == 5) continue;
    rows.push_back(i);
    pred_subset.push_back(pred[i]);
  }
  const lang::EraStages subset(plan, era, rows, &full);
  evaluator.evaluate(subset, pred_subset, builtins, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const StoreSchema schema = make_schema();
  static const Era era = make_era(schema);
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<lang::Definition> defs;
  for (std::size_t begin = 0; begin < text.size();) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      defs.push_back(lang::parse_definition(line, "fuzz:1"));
      static_cast<void>(lang::to_string(defs.back().expr));
    } catch (const InputError&) {
    }
  }
  if (defs.empty()) return 0;
  try {
    static_cast<void>(lang::compile(defs, {}, lang::Binding{}).describe());
  } catch (const InputError&) {
  }
  try {
    lang::Binding payout_rule;
    payout_rule.scores_as_inputs = true;
    static_cast<void>(lang::compile(defs, {}, payout_rule).fingerprint());
  } catch (const InputError&) {
  }
  try {
    const lang::Plan plan = lang::compile(defs, {}, lang::Binding{&schema, 1, 0});
    static_cast<void>(plan.describe());
    evaluate(plan, era);
  } catch (const InputError&) {
  }
  return 0;
}
