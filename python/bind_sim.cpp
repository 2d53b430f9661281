// backscore._backscore.simulate and .read_simulation: `backscore simulate`'s own steps
// (host/cli/simulate_job.hpp: simulate_journaled, journaled era by era, the outputs written from
// the journal), so the tables are the CLI's to the bit, and the simulation file's reader
// (io/sim_file.hpp).
#include <Python.h>

#include <charconv>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "host/cli/option_bounds.hpp"
#include "host/cli/simulate_job.hpp"
#include "io/sim_file.hpp"
#include "python/bindings.hpp"

namespace backscore::python {
namespace {

// One simulation at a time per process: one without `out` keeps its journal in the temporary
// directory under the process id, and its threads already use every core.
std::mutex simulate_mutex;

std::string shortest(double v) {
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::string("nan");
}

py::list quantity_names() {
  py::list names;
  for (std::string_view q : kSimEraQuantities) names.append(py::str(std::string(q)));
  return names;
}

py::dict header_dict(const SimulationHeader& h) {
  py::dict d;
  d["store"] = h.store;
  d["target"] = h.target;
  d["flows"] = h.flows;
  d["resolve_lag"] = h.resolve_lag;
  d["rules"] = to_list(h.rules);
  d["rule_texts"] = to_list(h.rule_texts);
  d["models"] = to_list(h.models);
  d["eras"] = to_list(h.eras);
  d["quantities"] = quantity_names();
  return d;
}

// The simulated eras as the journal holds them, gathered while the outputs are written.
struct Collected {
  std::vector<std::vector<std::int32_t>> models;  // per era
  std::vector<std::vector<double>> stakes, payouts, quantities;
  std::vector<double> store_mm_corr;
};

py::dict simulate(const std::string& store, const std::vector<std::string>& rules,
                  const std::string& out, const std::string& target, const std::string& benchmark,
                  const std::string& start, std::int64_t resolve_lag, const std::string& flows,
                  const std::vector<std::string>& payout_params,
                  std::optional<double> payout_threshold, std::int64_t threads, bool resume,
                  const py::object& progress, const std::vector<std::string>& definitions,
                  const std::vector<std::string>& formula_files, const std::string& observed_payout,
                  const std::string& backend, int device) {
  // What CLI11 checks while it parses the CLI's command line, with the same lines.
  cli::check_value("--resolve-lag", cli::resolve_lag_bounds(), std::to_string(resolve_lag));
  cli::check_value("--flows", cli::flows_choices(), flows);
  if (payout_threshold) {
    cli::check_value("--payout-threshold", cli::payout_threshold_bounds(),
                     shortest(*payout_threshold));
  }
  if (threads != 0) {
    cli::check_value("--threads", cli::simulate_threads_bounds(), std::to_string(threads));
  }
  cli::SimulateArgs a;
  a.store = store;
  a.out_h5 = out;
  a.target = target;
  a.benchmark = benchmark;
  a.start = start;
  a.flows = flows;
  a.rules = rules;
  a.payout_params = payout_params;
  a.definitions = definitions;
  a.formula_files = formula_files;
  a.observed_payout = observed_payout;
  a.payout_threshold = payout_threshold.value_or(0);  // 0: each rule's own
  a.resolve_lag = static_cast<std::size_t>(resolve_lag);
  a.threads = static_cast<int>(threads);
  cli::check_value("--backend", CLI::IsMember({"auto", "cpu", "cuda"}), backend);
  a.backend = backend;
  a.device = device;
  a.resume = resume;
  a.quiet = true;  // the progress is the Python callback's

  Collected c;
  cli::SimulateResult result;
  std::optional<py::error_already_set> interrupted;  // a KeyboardInterrupt, or the callback's
  {
    py::gil_scoped_release release;
    const std::lock_guard<std::mutex> lock(simulate_mutex);
    cli::SimulateHooks hooks;
    hooks.journaled = [&](std::size_t done, std::size_t total) {
      py::gil_scoped_acquire gil;
      try {
        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
        if (!progress.is_none()) progress(done, total);
      } catch (py::error_already_set& e) {
        interrupted.emplace(std::move(e));
        throw cli::SimulationInterrupted();
      }
    };
    hooks.output_era = [&](std::size_t, const SimEra& e) {
      c.models.push_back(e.models);
      c.stakes.push_back(e.stakes);
      c.payouts.push_back(e.payouts);
      c.quantities.push_back(e.quantities);
      c.store_mm_corr.push_back(e.store_mm_corr);
    };
    try {
      result = cli::simulate_journaled(a, {}, hooks);
    } catch (const cli::SimulationInterrupted&) {
      if (!interrupted) throw;
    }
  }
  if (interrupted) throw std::move(*interrupted);

  // Rule-major: rule r's eras in order (eras.csv's rows grouped by rule), and within an era the
  // submitted models in model-table order (stakes.csv's).
  const SimulationHeader& h = result.header;
  const std::size_t R = h.rules.size(), E = c.models.size(), Q = kSimQuantityCount;
  std::vector<double> quantities(R * E * Q), store_mm_corr = c.store_mm_corr;
  std::size_t rows = 0;
  for (const auto& m : c.models) rows += m.size();
  rows *= R;
  std::vector<std::int64_t> rule_index, era_index, model_index;
  std::vector<double> stake, payout;
  for (auto* v : {&rule_index, &era_index, &model_index}) v->reserve(rows);
  stake.reserve(rows);
  payout.reserve(rows);
  for (std::size_t r = 0; r < R; ++r) {
    for (std::size_t e = 0; e < E; ++e) {
      for (std::size_t q = 0; q < Q; ++q) {
        quantities[(r * E + e) * Q + q] = c.quantities[e][r * Q + q];
      }
      const std::size_t m = c.models[e].size();
      for (std::size_t j = 0; j < m; ++j) {
        rule_index.push_back(static_cast<std::int64_t>(r));
        era_index.push_back(static_cast<std::int64_t>(e));
        model_index.push_back(c.models[e][j]);
        stake.push_back(c.stakes[e][r * m + j]);
        payout.push_back(c.payouts[e][r * m + j]);
      }
    }
  }
  const auto n = static_cast<py::ssize_t>(rows);
  py::dict d = header_dict(h);
  d["era_quantities"] = to_numpy(
      std::move(quantities),
      {static_cast<py::ssize_t>(R), static_cast<py::ssize_t>(E), static_cast<py::ssize_t>(Q)});
  d["store_mm_corr"] = to_numpy(std::move(store_mm_corr), {static_cast<py::ssize_t>(E)});
  d["rule_index"] = to_numpy(std::move(rule_index), {n});
  d["era_index"] = to_numpy(std::move(era_index), {n});
  d["model_index"] = to_numpy(std::move(model_index), {n});
  d["stake"] = to_numpy(std::move(stake), {n});
  d["payout"] = to_numpy(std::move(payout), {n});
  return d;
}

// The file's tables as they lie: quantities (R, E, Q), stakes and payouts (R, M, E).
py::dict read_simulation(const std::string& path) {
  std::optional<SimulationFileReader> file;
  std::vector<double> quantities, store_mm_corr, stakes, payouts;
  {
    py::gil_scoped_release release;
    file.emplace(path);
    const SimulationHeader& h = file->header();
    const std::size_t R = h.rules.size(), E = h.eras.size(), Q = kSimQuantityCount;
    quantities.assign(R * E * Q, 0);
    for (std::size_t r = 0; r < R; ++r) {
      for (std::size_t q = 0; q < Q; ++q) {
        const std::vector<double> values = file->era_quantity(r, kSimEraQuantities[q]);
        for (std::size_t e = 0; e < E; ++e) quantities[(r * E + e) * Q + q] = values[e];
      }
      const std::vector<double> s = file->stakes(r), p = file->payouts(r);
      stakes.insert(stakes.end(), s.begin(), s.end());
      payouts.insert(payouts.end(), p.begin(), p.end());
    }
    store_mm_corr = file->store_mm_corr();
  }
  const SimulationHeader& h = file->header();
  const auto R = static_cast<py::ssize_t>(h.rules.size());
  const auto M = static_cast<py::ssize_t>(h.models.size());
  const auto E = static_cast<py::ssize_t>(h.eras.size());
  const auto Q = static_cast<py::ssize_t>(kSimQuantityCount);
  py::dict d = header_dict(h);
  d["era_quantities"] = to_numpy(std::move(quantities), {R, E, Q});
  d["store_mm_corr"] = to_numpy(std::move(store_mm_corr), {E});
  d["stakes"] = to_numpy(std::move(stakes), {R, M, E});
  d["payouts"] = to_numpy(std::move(payouts), {R, M, E});
  return d;
}

}  // namespace

void bind_sim(py::module_& m) {
  m.def("simulate", &simulate, "backscore simulate (see backscore.simulate)", py::arg("store"),
        py::arg("rules"), py::arg("out"), py::arg("target"), py::arg("benchmark"), py::arg("start"),
        py::arg("resolve_lag"), py::arg("flows"), py::arg("payout_params"),
        py::arg("payout_threshold"), py::arg("threads"), py::arg("resume"), py::arg("progress"),
        py::arg("definitions"), py::arg("formula_files"), py::arg("observed_payout"),
        py::arg("backend"), py::arg("device"));
  m.def("read_simulation", &read_simulation, py::arg("path"));
}

}  // namespace backscore::python
