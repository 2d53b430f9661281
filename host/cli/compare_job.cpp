// The steps of `compare` shared by the CLI and the Python module (see compare_job.hpp).
#include "host/cli/compare_job.hpp"

#include "core/error.hpp"
#include "host/report/churn.hpp"
#include "io/store.hpp"

namespace backscore::cli {

std::unique_ptr<CompareJob> run_compare(const CompareArgs& a) {
  // Parse the rule first: a typo should not wait for the scores to load.
  std::optional<PayoutRule> rule;
  if (!a.store.empty() || a.payout_given || !a.payout_params.empty() ||
      !std::isnan(a.payout_threshold)) {
    std::vector<PayoutParam> params;
    for (const std::string& p : a.payout_params) params.push_back(parse_payout_param(p));
    rule = PayoutRule::parse(a.payout, params);
    if (!std::isnan(a.payout_threshold) && !rule->uses_payout_factor()) {
      throw InputError("--payout-threshold: the payout rule '" + rule->text() +
                       "' does not use pf, the payout factor");
    }
    if (a.store.empty()) {
      throw InputError(rule->uses_payout_factor()
                           ? "--payout: the rule '" + rule->text() +
                                 "' uses pf, the payout factor, which needs --store (each era's "
                                 "total stake at risk)"
                           : std::string("--payout needs --store (the stakes live in the store)"));
    }
  }
  auto job = std::make_unique<CompareJob>(a.scores);
  const ScoresFileReader& file = job->file;
  job->base = load_scores(file, a.baseline, "baseline");
  job->cand = load_scores(file, a.candidate, "candidate");
  job->extras.eras_per_year = a.eras_per_year;
  if (file.has_formula(kMaxFeatureCorrColumn)) {
    job->extras.max_feature_exposure =
        mean_by_model(load_scores(file, kMaxFeatureCorrColumn, "formulas"));
  }
  job->rule = std::move(rule);
  if (job->rule) {
    check_rule_formulas(*job->rule, file, true);
    StoreReader store(a.store);
    job->payout = load_payout(*job->rule, store, file, &job->base, a.payout_threshold);
    job->extras.churn = model_churn(file, store);
  }
  job->result = compare(job->base, job->cand, job->rule ? &job->payout.input : nullptr);
  job->listed = listed_models(job->result);
  return job;
}

std::vector<NamedTable> compare_csv_tables(const CompareJob& job) {
  const std::vector<std::string>& models = job.file.models();
  std::vector<NamedTable> tables;
  tables.push_back(
      {"models.csv", model_stats_table(job.result, models, job.listed, true, job.extras)});
  tables.push_back({"eras.csv", era_agreement_table(job.result, job.file.eras())});
  tables.push_back({"leaderboard.csv", leaderboard_table(job.result, models, job.listed)});
  if (job.result.payouts) {
    tables.push_back({"payouts.csv", payout_table(job.result, models, job.listed)});
  }
  return tables;
}

}  // namespace backscore::cli
