// Which formulas a simulation scores and where each rule finds its scores (see simulation.hpp).
#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/error.hpp"
#include "host/lang/select.hpp"
#include "host/run/simulation.hpp"

namespace backscore {
namespace {

// "mmc" or "mmc_tb200" as a built-in spec.
std::optional<FormulaSpec> builtin_spec(const std::string& name) {
  if (std::optional<Builtin> b = find_builtin(name)) return FormulaSpec{*b, 0};
  const std::size_t at = name.rfind("_tb");
  if (at == std::string::npos || at + 3 >= name.size() || name.size() - at > 12) return {};
  const std::string digits = name.substr(at + 3);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits[0] == '0') {
    return {};
  }
  const std::optional<Builtin> b = find_builtin(name.substr(0, at));
  if (!b || !builtin_info(*b).has_top_bottom) return {};
  return FormulaSpec{*b, std::stoi(digits)};
}

}  // namespace

SimFormulas SimFormulas::of(std::span<const SimRule> rules, const StoreSchema& schema,
                            const lang::Plan* plan) {
  SimFormulas f;
  StoreSchema rebuilt = schema;
  rebuilt.has_meta_model = true;  // simulate builds its own
  std::unordered_map<std::string, std::size_t> shared_index;
  // A built-in's column for rule r: shared by every rule, or the rule's own (meta-model).
  auto builtin_source = [&](const FormulaSpec& spec, std::size_t r, const std::string& where) {
    const BuiltinInfo& info = builtin_info(spec.builtin);
    if (std::string why = lang::unsupported_reason(info, &rebuilt); !why.empty()) {
      throw InputError(where + " needs data the store lacks: " + why);
    }
    Source s;
    if (spec.builtin == Builtin::mpc) {  // the portfolio of the rule's simulated stakes
      s.kind = Source::portfolio;
      f.needs_portfolio = true;
    } else if (info.needs_meta_model) {
      s.kind = Source::meta;
      std::vector<FormulaSpec>& meta = f.meta[r];
      const auto it = std::find(meta.begin(), meta.end(), spec);
      s.index = static_cast<std::size_t>(it - meta.begin());
      if (it == meta.end()) meta.push_back(spec);
      f.needs_first |= spec.builtin == Builtin::mmc2 || spec.builtin == Builtin::mmc2_burnflip;
    } else {
      s.kind = Source::shared;
      const auto [it, added] = shared_index.emplace(spec.name(), f.shared.size());
      if (added) f.shared.push_back(spec);
      s.index = it->second;
    }
    return s;
  };
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const SimRule& rule = rules[r];
    f.meta.emplace_back();
    f.plan_inputs.emplace_back();
    f.uses_plan.push_back(false);
    f.uses_portfolio.push_back(false);
    std::vector<Source>& sources = f.sources.emplace_back();
    for (const std::string& name : rule.rule.names()) {
      const std::string where = "--rule " + rule.name + ": '" + name + "'";
      if (const std::optional<FormulaSpec> spec = builtin_spec(name)) {
        sources.push_back(builtin_source(*spec, r, where));
        f.uses_portfolio[r] |= spec->builtin == Builtin::mpc;
        continue;
      }
      std::size_t defined = 0;
      while (plan != nullptr && defined < plan->formulas.size() &&
             plan->formulas[defined].name != name) {
        ++defined;
      }
      if (plan == nullptr || defined == plan->formulas.size()) {
        throw InputError(where +
                         " is not a built-in formula nor one defined with --formula "
                         "(`backscore formulas` lists the built-ins)");
      }
      sources.push_back({Source::defined, defined});
      if (!f.uses_plan[r]) {  // the plan's built-in inputs, scored as the rule's names are
        f.uses_plan[r] = true;
        for (const FormulaSpec& spec : plan->builtins) {
          f.uses_portfolio[r] |= spec.builtin == Builtin::mpc;
          f.plan_inputs[r].push_back(builtin_source(
              spec, r, "--rule " + rule.name + ": the definitions' '" + spec.name() + "'"));
        }
      }
    }
  }
  return f;
}

SimDeviceSplit SimDeviceSplit::of(const SimFormulas& formulas, std::size_t rules) {
  SimDeviceSplit d;
  d.specs.rules = rules;
  auto split = [](const std::vector<FormulaSpec>& specs, std::vector<FormulaSpec>& device,
                  std::vector<std::size_t>& on_device, std::vector<std::size_t>& on_cpu,
                  std::vector<FormulaSpec>& cpu_specs) {
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const bool gpu = !specs[i].is_defined() && builtin_info(specs[i].builtin).on_gpu;
      (gpu ? on_device : on_cpu).push_back(i);
      (gpu ? device : cpu_specs).push_back(specs[i]);
    }
  };
  split(formulas.shared, d.specs.shared, d.shared_device, d.shared_cpu, d.shared_cpu_specs);
  for (const std::vector<FormulaSpec>& meta : formulas.meta) {
    split(meta, d.specs.tracks.emplace_back(), d.meta_device.emplace_back(),
          d.meta_cpu.emplace_back(), d.meta_cpu_specs.emplace_back());
  }
  return d;
}

}  // namespace backscore
