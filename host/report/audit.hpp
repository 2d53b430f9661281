// `backscore audit`: the incentive properties of MOTIVATION.md checked era by era on a scored
// history. Definitions (docs/FORMULAS.md, "Audit quantities"):
//
// - xcorr of a model-era: its correlation with the meta-model, the Spearman correlation (Pearson
//   of the tie-kept ranks) of the predictions and the meta-model on the ids the model submitted.
// - mm_corr of an era: the meta-model's own score under the corr formula (--corr-formula,
//   corr_v1 by default), computed by the scoring engine with the meta-model as the predictions on
//   all of the era's ids. A burn era has mm_corr < 0 (NaN counts as not burn).
// - corr of a model-era: its score under the corr formula, read from the scores file, or, when
//   the file has no such column, computed by the engine from the store in the same pass (the
//   model's predictions on the ids it submitted, numerai-tools' 20% rule, as `run` scores it).
//
// Both pair properties compare models within one era, over the model-eras where the score, corr
// and xcorr are all finite:
//  (a) originality: every pair with |corr_i - corr_j| < corr_tol and xcorr_i != xcorr_j. The
//      pair violates when the model with the lower xcorr scores strictly lower.
//  (b) relative performance: every pair with |xcorr_i - xcorr_j| < xcorr_tol and corr_i !=
//      corr_j. Within one era mm_corr is one number, so a larger corr - mm_corr is a larger
//      corr; the pair violates when the model with the higher corr scores strictly lower.
// Pairs are found by sorting an era's models on the key and scanning each model's window of
// later neighbours: O(n log n + pairs), never the other n^2 pairs.
// Slope: score ~ corr + xcorr + era fixed effects (OLS), burn eras apart from the others, with
// standard errors clustered by era and 95% t intervals on (eras - 1) degrees of freedom.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "host/report/churn.hpp"
#include "host/report/compare.hpp"
#include "io/scores_file.hpp"
#include "io/store.hpp"

namespace backscore {

struct AuditOptions {
  std::string corr_formula = "corr_v1";  // the CORR held fixed (corr_v1 or corr)
  double corr_tol = 0.002;
  double xcorr_tol = 0.02;
  std::size_t worst = 10;   // violations kept per property, worst first
  std::size_t batch = 256;  // prediction columns read at once
};

// The formula-independent quantities, computed from the store once and shared by the audit of
// every formula (and by the report's plots). Aligned with the scores file's tables.
struct AuditQuantities {
  std::string corr_formula;
  // The corr formula's scores, models x eras: the scores file's column, or computed from the
  // store when the file has none (corr_from_store).
  ScoreMatrix corr;
  bool corr_from_store = false;
  std::size_t n_models = 0, n_eras = 0;
  std::vector<double> xcorr;      // models x eras; NaN = not submitted or fewer than 2 ids
  std::vector<double> meta_corr;  // per era: mm_corr
  std::size_t model_eras = 0;     // submitted model-eras (store) of the scores file's models
  bool burn(std::size_t era) const { return meta_corr[era] < 0; }
  std::size_t burn_eras() const;
};

// Streams the store era by era (predictions in batches of o.batch columns, xcorr and, when the
// scores file lacks the corr formula, each model-era's corr on all cores). `churn`, when given,
// is fed the same pass (churn.hpp), sparing a second read of the predictions.
// Throws InputError when the store has no meta-model, the corr formula is not corr_v1 or corr
// (an OptionError on "corr_formula"),
// the scores file's target is not in the store, or an era of the scores file is not in it.
AuditQuantities audit_quantities(const ScoresFileReader& scores, StoreReader& store,
                                 const AuditOptions& o, ChurnTracker* churn = nullptr);

// One scored model-era.
struct AuditObservation {
  std::size_t model = 0;  // row of the scores file's model table
  double corr = 0, xcorr = 0, score = 0;
};

struct Violation {
  std::size_t era = 0;  // column of the scores file's era table
  // `should` ought to score at least as much as `other` (less correlated with the meta-model
  // for (a), higher corr for (b)) but scores less by `shortfall` > 0.
  AuditObservation should, other;
  double shortfall = 0;
};

struct PairCheck {
  std::size_t comparable = 0, violations = 0;
  std::vector<Violation> worst;  // largest shortfall first (ties: era, then models)
  double rate() const {
    return comparable ? static_cast<double>(violations) / static_cast<double>(comparable)
                      : std::numeric_limits<double>::quiet_NaN();
  }
};

// OLS of y on (x1, x2) with one intercept per era (the era fixed effects: each era's
// observations are centered on the era's means), standard errors clustered by era (CR1:
// V = G/(G-1) (N-1)/(N-2) A^-1 (sum_g s_g s_g^T) A^-1, A = the centered cross-products, s_g =
// era g's score vector X_g^T u_g) and 95% intervals with the t quantile on G-1 degrees of
// freedom. Eras with fewer than 2 observations carry no within-era information and are left out
// of N and G. Keeps 6 numbers per era.
class EraFixedEffectsOls {
 public:
  void add_era(std::span<const AuditObservation> obs);  // x1 = corr, x2 = xcorr, y = score
  struct Fit {
    std::size_t n = 0, eras = 0;  // observations and eras used
    bool ok = false;  // at least 2 eras, 4 observations, regressors not collinear within eras
    double b1 = std::numeric_limits<double>::quiet_NaN();  // coefficient of corr
    double b2 = b1;                                        // coefficient of xcorr
    double se1 = b1, se2 = b1;                             // era-clustered standard errors
    double lo2 = b1, hi2 = b1;                             // 95% interval of b2
  };
  Fit fit() const;

 private:
  struct Moments {
    double s11, s12, s22, s1y, s2y, syy;
  };
  std::vector<Moments> eras_;
  std::size_t n_ = 0;
};

// Student t quantile for probability 0.975 (two-sided 95%): exact to 9 digits for df <= 30
// (table), the Cornish-Fisher expansion above (error < 1e-5).
double t_quantile_975(double df);

struct AuditResult {
  std::string formula;
  std::size_t eras = 0, burn_eras = 0;
  std::size_t model_eras = 0;  // submitted model-eras in the audited eras
  std::size_t observed = 0;    // of those, with finite score, corr and xcorr
  PairCheck originality, relative;
  EraFixedEffectsOls::Fit burn, other;
};

// The two pair checks of one era, accumulated into `result` (obs in any order).
void check_era(std::size_t era, std::span<const AuditObservation> obs, const AuditOptions& o,
               AuditResult& result);

// The audit of one formula's scores; `corr` is the corr formula's scores (q.corr). Same shapes
// as q.
AuditResult audit_formula(const ScoreMatrix& score, const ScoreMatrix& corr,
                          const AuditQuantities& q, const AuditOptions& o);

// xcorr of one model-era: spearman(meta_model, predictions) on the ids with a prediction.
double xcorr_of(std::span<const double> meta_model, std::span<const float> predictions,
                RankWork& work);

// The burn-era verdict on the xcorr slope: 1 = the formula rewards closeness to the meta-model
// (punishes originality; interval above 0), -1 = rewards originality (interval below 0), 0 = no
// significant dependence or no fit.
int slope_sign(const EraFixedEffectsOls::Fit& f);

// The audit's tables, shared by the terminal (csv = false: fixed decimals), the CSV files and the
// report (csv = true: 17 significant digits, "" for NaN).
// One row per formula: pair checks, slopes and the burn-era verdict.
Table audit_summary_table(std::span<const AuditResult> results, bool csv);
// The worst violations of one property (c = r.originality or r.relative).
Table violations_table(const AuditResult& r, const PairCheck& c,
                       const std::vector<std::string>& models, const std::vector<std::string>& eras,
                       bool csv);
// One line per formula after the first, when the first shows the burn-era punishment (positive
// slope in burn eras): whether that formula removes it. Empty otherwise.
std::vector<std::string> burn_punishment_lines(std::span<const AuditResult> results);
// "punishes originality in burn eras" / "no significant burn-era dependence" / "rewards
// originality in burn eras" / "no burn-era slope".
std::string burn_verdict(const AuditResult& r);

// "holds: 0 of 340 comparable pairs violate it" / "VIOLATED in 12 of 340 comparable pairs
// (3.53%)" / "not tested: no comparable pairs".
std::string pair_verdict(const PairCheck& c);
// "burn eras: slope +0.41 [0.35, 0.47] -> rewards closeness to the meta-model (punishes
// originality)" and the like.
std::string slope_verdict(const EraFixedEffectsOls::Fit& f, const std::string& which_eras);

}  // namespace backscore
