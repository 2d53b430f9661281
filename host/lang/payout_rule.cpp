// Payout rules through the formula language (see payout_rule.hpp).
#include "host/lang/payout_rule.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "core/error.hpp"
#include "host/lang/parse.hpp"

namespace backscore {

namespace {
// The rule is compiled as the definition `kName = RULE`; columns are reported within RULE.
constexpr std::string_view kName = "payout_rule";

// The shortest decimal that reads back to v ("0.75", not "0.75000000000000000").
std::string shortest(double v) {
  char buf[40];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

const PayoutPreset* find_preset(const std::string& name) {
  for (const PayoutPreset& p : payout_presets()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

// An alias resolved to the preset it stands for.
const PayoutPreset* resolve(const PayoutPreset* p) {
  return p && p->alias_of ? find_preset(p->alias_of) : p;
}

std::string param_list(const std::vector<PayoutParam>& params) {
  std::string s;
  for (const PayoutParam& p : params) {
    s += (s.empty() ? "" : ", ") + p.name + "=" + shortest(p.value);
  }
  return s;
}

// The preset's text with each {name} replaced by its value (the default unless `given`).
std::string instantiate(const PayoutPreset& p, const std::vector<PayoutParam>& given) {
  for (const PayoutParam& g : given) {
    bool known = false;
    for (const PayoutParam& d : p.params) known = known || d.name == g.name;
    if (!known) {
      throw OptionError::about(
          "payout_params",
          "the payout preset '" + std::string(p.name) + "' has no parameter '" + g.name + "'" +
              (p.params.empty() ? " (it has none)" : " (it has: " + param_list(p.params) + ")"));
    }
  }
  std::string text = p.text;
  for (const PayoutParam& d : p.params) {
    double value = d.value;
    for (const PayoutParam& g : given) {
      if (g.name == d.name) value = g.value;
    }
    const std::string key = "{" + d.name + "}";
    for (std::size_t at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
      text.replace(at, key.size(), shortest(value));
    }
  }
  return text;
}

}  // namespace

std::span<const PayoutPreset> payout_presets() {
  static const std::vector<PayoutPreset> kPresets = {
      {"classic-2020",
       nullptr,
       "clip(corr_v1 + mmc2, -0.25, 0.25)",
       {},
       kDefaultPayoutThreshold,
       "classic, round 222 (2020-07) to 2020-12: CORR plus MMC, opt-in; CORR was corr_v1 and "
       "MMC was mmc2"},
      {"classic-2024",
       nullptr,
       "clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05)",
       {},
       72000,
       "classic, rounds from 2024-01-02 to 2026-03"},
      {"classic-2026",
       nullptr,
       "clip(pf*({cm}*corr + {mm}*mmc), -0.05, 0.05)",
       {{"cm", 0.75}, {"mm", 2.25}},
       72000,
       "classic, from 2026-03; Numerai sets cm and mm per round"},
      {"signals-2025",
       nullptr,
       "clip(pf*(0.3*alpha + 0.8*mpc), -0.017, 0.017)",
       {},
       36000,
       "Signals, rounds from 2025-09-02"},
      {"crypto", nullptr, "clip(pf*mmc, -0.05, 0.05)", {}, 10000, "Crypto"},
      {"numerai2024", "classic-2024", "", {}, 0, ""},
      {"numerai2020", "classic-2020", "", {}, 0, ""},
  };
  return kPresets;
}

std::string payout_preset_list() {
  std::string s;
  for (const PayoutPreset& p : payout_presets()) {
    s += s.empty() ? "" : ", ";
    s += p.name;
    if (p.alias_of) {
      s += std::string(" (= ") + p.alias_of + ")";
    } else if (!p.params.empty()) {
      s += "(" + param_list(p.params) + ")";
    }
  }
  return s;
}

std::string PayoutRule::preset(const std::string& name) {
  const PayoutPreset* p = resolve(find_preset(name));
  return p ? instantiate(*p, {}) : std::string();
}

PayoutParam parse_payout_param(const std::string& text) {
  const std::size_t eq = text.find('=');
  const std::string name = text.substr(0, eq);
  if (eq == std::string::npos || name.empty()) {
    throw OptionError::about("payout_params", "'" + text + "' is not NAME=VALUE, e.g. cm=0.5");
  }
  const std::string value = text.substr(eq + 1);
  char* end = nullptr;
  const double v = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v)) {
    throw OptionError::about("payout_params", "'" + text + "': '" + value + "' is not a number");
  }
  return {name, v};
}

PayoutRule PayoutRule::parse(const std::string& text, const std::vector<PayoutParam>& params) {
  PayoutRule rule;
  if (const PayoutPreset* p = resolve(find_preset(text))) {
    rule.text_ = instantiate(*p, params);
    rule.preset_ = p->name;
    rule.threshold_ = p->threshold;
  } else {
    if (!params.empty()) {
      throw OptionError::about(
          "payout_params", "'" + params.front().name + "': only a payout preset takes parameters");
    }
    rule.text_ = text;
  }
  if (rule.text_.find_first_not_of(" \t") == std::string::npos) {
    throw InputError("payout rule '" + rule.text_ + "': column 1: empty rule");
  }
  const std::string prefix = std::string(kName) + " = ";
  try {
    const lang::Definition d = lang::parse_definition(prefix + rule.text_);
    lang::Binding binding;
    binding.scores_as_inputs = true;
    rule.plan_ = lang::compile({d}, {std::string(kName)}, binding);
  } catch (const lang::FormulaError& e) {
    const std::size_t column = e.column() > prefix.size() ? e.column() - prefix.size() : 1;
    throw InputError("payout rule '" + rule.text_ + "': column " + std::to_string(column) + ": " +
                     e.message());
  }
  if (rule.plan_.nodes[rule.plan_.formulas.at(0).root].kind != lang::Kind::scalar) {
    throw InputError("payout rule '" + rule.text_ + "': the rule must be a number per model-era");
  }
  for (std::size_t k = 0; k < rule.plan_.inputs.size(); ++k) {
    if (rule.plan_.inputs[k] == kPayoutFactorName) {
      rule.pf_input_ = k;
    } else {
      rule.names_.push_back(rule.plan_.inputs[k]);
      rule.name_input_.push_back(k);
    }
  }
  return rule;
}

double PayoutRule::eval(std::span<const double> values, double pf) const {
  if (values.size() != names_.size()) {
    throw std::invalid_argument("PayoutRule::eval: one value per name expected");
  }
  std::vector<double> inputs(plan_.inputs.size());
  for (std::size_t k = 0; k < names_.size(); ++k) inputs[name_input_[k]] = values[k];
  if (pf_input_ != kNone) inputs[pf_input_] = pf;
  // Nodes are in topological order and all scalar: one pass.
  std::vector<double> v(plan_.nodes.size()), args;
  for (std::size_t i = 0; i < plan_.nodes.size(); ++i) {
    const lang::Node& n = plan_.nodes[i];
    if (n.op == lang::Op::constant) {
      v[i] = n.value;
    } else if (n.op == lang::Op::input) {
      v[i] = inputs[n.index];
    } else {
      args.resize(n.args.size());  // min/max take any number of arguments
      for (std::size_t k = 0; k < n.args.size(); ++k) args[k] = v[n.args[k]];
      v[i] = lang::apply_scalar(n.op, args.data(), args.size());
    }
  }
  return v[plan_.formulas.at(0).root];
}

double PayoutRule::eval(const std::function<double(std::string_view)>& lookup, double pf) const {
  std::vector<double> values;
  values.reserve(names_.size());
  for (const std::string& name : names_) values.push_back(lookup(name));
  return eval(values, pf);
}

}  // namespace backscore
