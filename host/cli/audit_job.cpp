// The steps of `audit` shared by the CLI and the Python module (see audit_job.hpp).
#include "host/cli/audit_job.hpp"

#include "core/error.hpp"
#include "io/name_list.hpp"
#include "io/store.hpp"

namespace backscore::cli {

std::unique_ptr<AuditJob> run_audit(const AuditArgs& a) {
  const std::vector<std::string> names = split_names(a.formulas, "--formula");
  if (names.empty()) throw InputError("--formula: no formula given");
  auto job = std::make_unique<AuditJob>(a.scores);
  // Every name is checked before the (long) pass over the store.
  std::vector<ScoreMatrix> scores;
  for (const std::string& name : names) scores.push_back(load_scores(job->file, name, "formulas"));
  StoreReader store(a.store);
  // The corr held fixed: the file's column, or computed from the store in the same pass.
  job->q = audit_quantities(job->file, store, a.o);
  for (const ScoreMatrix& s : scores) {
    job->results.push_back(audit_formula(s, job->q.corr, job->q, a.o));
  }
  return job;
}

std::vector<NamedTable> audit_csv_tables(const AuditJob& job) {
  const ScoresFileReader& file = job.file;
  Table all{{"formula", "property"}, {}};
  for (const AuditResult& r : job.results) {
    for (int p = 0; p < 2; ++p) {
      const Table t = violations_table(r, p == 0 ? r.originality : r.relative, file.models(),
                                       file.eras(), true);
      if (all.header.size() == 2) {
        for (std::size_t c = 0; c < t.header.size(); ++c) {
          // The score columns are named after the formula; in one file they are "score".
          all.header.push_back(c == 4 ? "score" : c == 8 ? "vs_score" : t.header[c]);
        }
      }
      for (const auto& row : t.rows) {
        std::vector<std::string> line{r.formula, p == 0 ? "a" : "b"};
        line.insert(line.end(), row.begin(), row.end());
        all.rows.push_back(std::move(line));
      }
    }
  }
  return {{"audit_summary.csv", audit_summary_table(job.results, true)},
          {"audit_violations.csv", std::move(all)}};
}

}  // namespace backscore::cli
