// The run's formulas (see select.hpp).
#include "host/lang/select.hpp"

#include <algorithm>
#include <sstream>

#include "core/error.hpp"

namespace backscore::lang {
namespace {

// Why a store cannot support a built-in ("" when it can, or without a store).
std::string unsupported_reason(const BuiltinInfo& info, const StoreSchema* s) {
  if (s == nullptr) return "";
  if (info.needs_meta_model && !s->has_meta_model) return "the store has no meta_model";
  if (info.needs_benchmark && s->benchmarks.empty()) return "the store has no benchmark models";
  if (info.needs_features && s->features.empty()) return "the store has no features";
  return "";
}

}  // namespace

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
  std::vector<FormulaSpec> specs;
  std::vector<std::string> outputs;  // defined formulas asked for, in order
  bool all_defined = false;
  auto add_builtin = [&](const BuiltinInfo& info) {
    const FormulaSpec f{info.builtin, 0};
    if (std::find(specs.begin(), specs.end(), f) == specs.end()) specs.push_back(f);
  };
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
        if (unsupported_reason(info, schema).empty()) {
          add_builtin(info);
          order.push_back(info.name);
        }
      }
      all_defined = true;
      continue;
    }
    if (std::optional<Builtin> b = find_builtin(name)) {
      const BuiltinInfo& info = builtin_info(*b);
      if (std::string why = unsupported_reason(info, schema); !why.empty()) {
        throw OptionError::about("formulas", "'" + name + "' needs data the store lacks: " + why);
      }
      add_builtin(info);
      order.push_back(name);
      continue;
    }
    const bool defined =
        std::any_of(defs.begin(), defs.end(), [&](const Definition& d) { return d.name == name; });
    if (!defined) {
      throw unknown_formula(name);
    }
    if (std::find(outputs.begin(), outputs.end(), name) == outputs.end()) {
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
        if (std::find(requested.begin(), requested.end(), f.name) == requested.end()) {
          requested.push_back(f.name);
          order.push_back(f.name);
        }
      }
    }
    if (!requested.empty()) {
      sel.plan = std::make_shared<const Plan>(compile(defs, requested, binding));
    }
  }
  // The columns in order: built-ins as FormulaSpec, defined formulas from the plan.
  for (const std::string& name : order) {
    if (std::optional<Builtin> b = find_builtin(name)) {
      sel.specs.push_back(FormulaSpec{*b, 0});
      continue;
    }
    for (const PlanFormula& f : sel.plan->formulas) {
      if (f.name == name) {
        FormulaSpec spec;
        spec.defined_name = f.name;
        spec.defined_text = f.definition;
        sel.specs.push_back(std::move(spec));
      }
    }
  }
  // One column per formula even when named twice ("all,corr").
  std::vector<FormulaSpec> unique;
  for (FormulaSpec& f : sel.specs) {
    if (std::find(unique.begin(), unique.end(), f) == unique.end()) unique.push_back(std::move(f));
  }
  sel.specs = std::move(unique);
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
