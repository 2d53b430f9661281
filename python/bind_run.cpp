// backscore._backscore.run and .read_scores: `backscore run`'s own steps (host/cli/run_job.hpp:
// prepare_run, score_journaled, run_eras), so the scores are the CLI's to the bit, and the scores
// file's reader (io/scores_file.hpp).
#include <Python.h>

#include <mutex>
#include <optional>
#include <string>

#include "host/cli/run_job.hpp"
#include "io/scores_file.hpp"
#include "python/bindings.hpp"

namespace backscore::python {
namespace {

// One run at a time per process: a run without outputs keeps its journal in the temporary
// directory under the process id, and its threads already use every core.
std::mutex run_mutex;

py::dict run(const std::string& store, const std::optional<std::string>& formulas, int top_bottom,
             const std::vector<std::string>& definitions, const std::vector<std::string>& files,
             const std::string& out, const std::string& csv, const std::string& eras,
             const std::string& models_file, const std::vector<std::string>& models,
             const std::string& target,
             const std::string& benchmark, int threads, const std::string& backend,
             std::size_t batch, int device, const py::object& progress) {
  cli::RunArgs a;
  a.store = store;
  if (formulas) a.formulas.formulas = *formulas;
  a.formulas.formulas_given = formulas.has_value();  // else every built-in and definition
  a.formulas.top_bottom = top_bottom;
  a.formulas.definitions = definitions;
  a.formulas.files = files;
  a.out_h5 = out;
  a.out_csv = csv;
  a.eras = eras;
  a.models_file = models_file;
  a.model_names = models;
  a.target = target;
  a.benchmark = benchmark;
  a.threads = threads;
  a.backend = backend;
  a.batch = batch;
  a.device = device;
  a.quiet = true;  // the progress is the Python callback's

  std::vector<EraScores> collected;
  std::optional<py::error_already_set> interrupted;  // a KeyboardInterrupt, or the callback's
  std::vector<std::string> formula_names;
  std::vector<std::string> era_names, model_names;
  {
    py::gil_scoped_release release;
    const std::lock_guard<std::mutex> lock(run_mutex);
    cli::PreparedRun prepared = cli::prepare_run(a, {}, /*writes_outputs=*/true);
    const std::size_t total = prepared.out.eras.size();
    try {
      cli::score_journaled(prepared, a, "", [&](cli::RunJournal& journal) {
        return run_eras(prepared.store, prepared.options, journal.finished(),
                        [&](const EraScores& era) {
                          journal.append(era);
                          collected.push_back(era);
                          py::gil_scoped_acquire gil;
                          try {
                            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                            if (!progress.is_none()) progress(collected.size(), total);
                          } catch (py::error_already_set& e) {
                            interrupted.emplace(std::move(e));
                            throw std::runtime_error("interrupted");
                          }
                        });
      });
    } catch (const std::exception&) {
      if (!interrupted) throw;
    }
    for (const FormulaSpec& f : prepared.options.formulas) formula_names.push_back(f.name());
    era_names = prepared.store.eras();
    model_names = prepared.store.schema().models;
  }
  if (interrupted) throw std::move(*interrupted);

  std::size_t rows = 0;
  for (const EraScores& e : collected) rows += e.models.size();
  const std::size_t k = formula_names.size();
  std::vector<std::int64_t> era_index, model_index;
  std::vector<double> scores;
  era_index.reserve(rows);
  model_index.reserve(rows);
  scores.reserve(rows * k);
  for (const EraScores& e : collected) {
    for (std::int32_t model : e.models) {
      era_index.push_back(static_cast<std::int64_t>(e.era));
      model_index.push_back(model);
    }
    scores.insert(scores.end(), e.scores.begin(), e.scores.end());
  }
  const auto n = static_cast<py::ssize_t>(rows);
  py::dict d;
  d["formulas"] = to_list(formula_names);
  d["eras"] = to_list(era_names);
  d["models"] = to_list(model_names);
  d["era_index"] = to_numpy(std::move(era_index), {n});
  d["model_index"] = to_numpy(std::move(model_index), {n});
  d["scores"] = to_numpy(std::move(scores), {n, static_cast<py::ssize_t>(k)});
  return d;
}

py::dict read_scores(const std::string& path) {
  const ScoresFileReader file(path);
  const auto m = static_cast<py::ssize_t>(file.models().size());
  const auto e = static_cast<py::ssize_t>(file.eras().size());
  py::dict matrices;
  for (const std::string& f : file.formulas()) matrices[py::str(f)] = to_numpy(file.read_matrix(f), {m, e});
  py::dict attributes;
  for (const char* name : {"program", "store", "target", "benchmark"}) {
    attributes[name] = file.attribute(name);
  }
  py::dict definitions;
  for (const std::string& f : file.formulas()) definitions[py::str(f)] = file.definition(f);
  py::dict d;
  d["models"] = to_list(file.models());
  d["eras"] = to_list(file.eras());
  d["formulas"] = to_list(file.formulas());
  d["scores"] = matrices;
  d["attributes"] = attributes;
  d["definitions"] = definitions;
  return d;
}

}  // namespace

void bind_run(py::module_& m) {
  m.def("run", &run, "backscore run (see backscore.run)", py::arg("store"), py::arg("formulas"),
        py::arg("top_bottom"), py::arg("definitions"), py::arg("formula_files"), py::arg("out"),
        py::arg("csv"), py::arg("eras"), py::arg("models_file"), py::arg("models"), py::arg("target"),
        py::arg("benchmark"), py::arg("threads"), py::arg("backend"), py::arg("batch"),
        py::arg("device"), py::arg("progress"));
  m.def("read_scores", &read_scores, py::arg("path"));
}

}  // namespace backscore::python
