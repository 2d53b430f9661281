// backscore._backscore.compare and .audit: `backscore compare` and `backscore audit`'s own steps
// (host/cli/compare_job.hpp, audit_job.hpp), returning the tables they write with --out-dir.
#include <string>

#include "core/error.hpp"
#include "host/cli/audit_job.hpp"
#include "host/cli/compare_job.hpp"
#include "python/bindings.hpp"

namespace backscore::python {
namespace {

// {name: (header, rows)}, cells as the CSV files hold them (17 significant digits, "" for NaN).
py::dict tables_of(const std::vector<cli::NamedTable>& tables) {
  py::dict d;
  for (const cli::NamedTable& t : tables) {
    std::string name = t.name.substr(0, t.name.size() - 4);  // without ".csv"
    d[py::str(name)] = py::make_tuple(t.table.header, t.table.rows);
  }
  return d;
}

py::dict compare(const std::string& scores, const std::string& baseline,
                 const std::string& candidate, const std::string& store,
                 const std::optional<std::string>& payout,
                 const std::vector<std::string>& payout_params, double payout_threshold,
                 double eras_per_year) {
  cli::CompareArgs a;
  a.scores = scores;
  a.baseline = baseline;
  a.candidate = candidate;
  a.store = store;
  if (payout) a.payout = *payout;
  a.payout_given = payout.has_value();
  a.payout_params = payout_params;
  a.payout_threshold = payout_threshold;
  a.eras_per_year = eras_per_year;
  std::vector<cli::NamedTable> tables;
  {
    py::gil_scoped_release release;
    // The CLI's flags in the messages, as `backscore compare` prints them.
    with_flags({{"baseline", "--baseline"},
                {"candidate", "--candidate"},
                {"payout", "--payout"},
                {"payout_params", "--payout-param"}},
               [&] { tables = cli::compare_csv_tables(*cli::run_compare(a)); });
  }
  return tables_of(tables);
}

py::dict audit(const std::string& scores, const std::string& store, const std::string& formulas,
               const std::string& corr_formula, double corr_tol, double xcorr_tol,
               std::size_t worst, std::size_t batch) {
  cli::AuditArgs a;
  a.scores = scores;
  a.store = store;
  a.formulas = formulas;
  a.o.corr_formula = corr_formula;
  a.o.corr_tol = corr_tol;
  a.o.xcorr_tol = xcorr_tol;
  a.o.worst = worst;
  a.o.batch = batch;
  if (!(corr_tol > 0) || !(xcorr_tol > 0)) {
    throw InputError("corr_tol and xcorr_tol must be positive");
  }
  if (batch == 0) throw InputError("batch must be at least 1");
  std::vector<cli::NamedTable> tables;
  {
    py::gil_scoped_release release;
    with_flags({{"formulas", "--formula"}, {"corr_formula", "--corr-formula"}},
               [&] { tables = cli::audit_csv_tables(*cli::run_audit(a)); });
  }
  return tables_of(tables);
}

}  // namespace

void bind_report(py::module_& m) {
  m.def("compare", &compare, py::arg("scores"), py::arg("baseline"), py::arg("candidate"),
        py::arg("store"), py::arg("payout"), py::arg("payout_params"),
        py::arg("payout_threshold"), py::arg("eras_per_year"));
  m.def("audit", &audit, py::arg("scores"), py::arg("store"), py::arg("formulas"),
        py::arg("corr_formula"), py::arg("corr_tol"), py::arg("xcorr_tol"), py::arg("worst"),
        py::arg("batch"));
}

}  // namespace backscore::python
