// The run's formulas (see select.hpp).
#include "host/lang/select.hpp"

#include <iterator>
#include <unordered_map>
#include <unordered_set>

#include "core/error.hpp"

namespace backscore::lang {

std::string unsupported_reason(const BuiltinInfo& info, const StoreSchema* s) {
  if (s == nullptr) return "";
  if (info.needs_meta_model && !s->has_meta_model) return "the store has no meta_model";
  if (info.needs_benchmark && s->benchmarks.empty()) return "the store has no benchmark models";
  if (info.needs_features && s->features.empty()) return "the store has no features";
  if (info.needs_neutralizers && s->neutralizers.empty()) return "the store has no neutralizers";
  if (info.needs_sample_weights && !s->has_sample_weights) {
    return "the store has no sample weights";
  }
  if (info.needs_stakes && !s->has_stakes) return "the store has no stakes";
  return "";
}

std::vector<Definition> read_definitions(const std::vector<std::string>& texts,
                                         const std::vector<std::string>& files) {
  std::vector<Definition> defs;
  for (const std::string& d : texts) defs.push_back(parse_definition(d));
  for (const std::string& f : files) {
    std::vector<Definition> more = parse_formula_file(f);
    defs.insert(defs.end(), std::make_move_iterator(more.begin()),
                std::make_move_iterator(more.end()));
  }
  return defs;
}

FormulaSelection select_formulas(const FormulaRequest& request, const std::vector<Definition>& defs,
                                 const Binding& binding) {
  const StoreSchema* schema = binding.schema;
  std::vector<std::string> outputs;  // defined formulas asked for, in order
  bool all_defined = false;
  std::unordered_set<std::string> defined_names;
  for (const Definition& d : defs) defined_names.insert(d.name);
  std::unordered_set<std::string> chosen;  // the names of `outputs`
  std::vector<std::string> names;
  if (request.names) {
    names = *request.names;
  } else if (defs.empty()) {
    names = {"all"};
  } else {
    all_defined = true;
  }
  // Output order: the order of --formulas; defined formulas keep their place (filled in below).
  std::vector<std::string> order;
  for (const std::string& name : names) {
    if (name == "all") {
      for (const BuiltinInfo& info : builtin_formulas()) {
        if (info.in_all && unsupported_reason(info, schema).empty()) order.push_back(info.name);
      }
      all_defined = true;
      continue;
    }
    if (std::optional<Builtin> b = find_builtin(name)) {
      const BuiltinInfo& info = builtin_info(*b);
      if (std::string why = unsupported_reason(info, schema); !why.empty()) {
        throw OptionError::about("formulas", "'" + name + "' needs data the store lacks: " + why);
      }
      order.push_back(name);
      continue;
    }
    if (!defined_names.count(name)) {
      throw unknown_formula(name);
    }
    if (chosen.insert(name).second) {
      outputs.push_back(name);
      order.push_back(name);
    }
  }
  FormulaSelection sel;
  if (!defs.empty()) {
    std::vector<std::string> requested = outputs;
    Plan probe = compile(defs, {}, binding);  // every scalar definition
    if (all_defined) {
      for (const PlanFormula& f : probe.formulas) {
        if (chosen.insert(f.name).second) {
          requested.push_back(f.name);
          order.push_back(f.name);
        }
      }
    }
    if (outputs.empty() && !requested.empty()) {  // every scalar definition: the probe
      sel.plan = std::make_shared<const Plan>(std::move(probe));
    } else if (!requested.empty()) {
      sel.plan = std::make_shared<const Plan>(compile(defs, requested, binding));
    }
  }
  // The columns in order, one per formula even when named twice ("all,corr"): built-ins as
  // FormulaSpec, defined formulas from the plan.
  std::unordered_map<std::string, const PlanFormula*> planned;
  if (sel.plan) {
    for (const PlanFormula& f : sel.plan->formulas) planned.emplace(f.name, &f);
  }
  std::unordered_set<std::string> columns;
  for (const std::string& name : order) {
    if (!columns.insert(name).second) continue;
    if (std::optional<Builtin> b = find_builtin(name)) {
      sel.specs.push_back(FormulaSpec{*b, 0});
    } else if (auto it = planned.find(name); it != planned.end()) {
      FormulaSpec spec;
      spec.defined_name = it->second->name;
      spec.defined_text = it->second->definition;
      sel.specs.push_back(std::move(spec));
    }
  }
  if (sel.specs.empty()) throw OptionError::about("formulas", "no formula to run");
  if (request.top_bottom > 0) {
    const std::size_t plain = sel.specs.size();
    for (std::size_t i = 0; i < plain; ++i) {
      const FormulaSpec f = sel.specs[i];
      if (!f.is_defined() && builtin_info(f.builtin).has_top_bottom) {
        sel.specs.push_back(FormulaSpec{f.builtin, request.top_bottom});
      }
    }
  }
  return sel;
}

}  // namespace backscore::lang
