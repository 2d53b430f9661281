// Payout rules through the formula language (see payout_rule.hpp).
#include "host/report/payout_rule.hpp"

#include <stdexcept>

#include "core/error.hpp"
#include "host/lang/parse.hpp"

namespace backscore {

namespace {
// The rule is compiled as the definition `kName = RULE`; columns are reported within RULE.
constexpr std::string_view kName = "payout_rule";
}  // namespace

std::string PayoutRule::preset(const std::string& name) {
  if (name == "numerai2024") return "clip(0.5*corr + 2*mmc, -0.05, 0.05)";
  if (name == "numerai2020") return "clip(corr + mmc, -0.25, 0.25)";
  return "";
}

PayoutRule PayoutRule::parse(const std::string& text) {
  PayoutRule rule;
  const std::string p = preset(text);
  rule.text_ = p.empty() ? text : p;
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
  return rule;
}

double PayoutRule::eval(std::span<const double> values) const {
  if (values.size() != plan_.inputs.size()) {
    throw std::invalid_argument("PayoutRule::eval: one value per name expected");
  }
  // Nodes are in topological order and all scalar: one pass.
  std::vector<double> v(plan_.nodes.size()), args;
  for (std::size_t i = 0; i < plan_.nodes.size(); ++i) {
    const lang::Node& n = plan_.nodes[i];
    if (n.op == lang::Op::constant) {
      v[i] = n.value;
    } else if (n.op == lang::Op::input) {
      v[i] = values[n.index];
    } else {
      args.resize(n.args.size());  // min/max take any number of arguments
      for (std::size_t k = 0; k < n.args.size(); ++k) args[k] = v[n.args[k]];
      v[i] = lang::apply_scalar(n.op, args.data(), args.size());
    }
  }
  return v[plan_.formulas.at(0).root];
}

double PayoutRule::eval(const std::function<double(std::string_view)>& lookup) const {
  std::vector<double> values;
  values.reserve(plan_.inputs.size());
  for (const std::string& name : plan_.inputs) values.push_back(lookup(name));
  return eval(values);
}

}  // namespace backscore
