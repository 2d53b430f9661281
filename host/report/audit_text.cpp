// The audit's verdicts and tables: text for the terminal, the CSV files and the report (see
// audit.hpp).
#include "host/report/audit.hpp"

#include <cstdio>

namespace backscore {

int slope_sign(const EraFixedEffectsOls::Fit& f) {
  if (!f.ok) return 0;
  if (f.lo2 > 0) return 1;
  if (f.hi2 < 0) return -1;
  return 0;
}

std::string pair_verdict(const PairCheck& c) {
  char buf[160];
  if (c.comparable == 0) return "not tested: no comparable pairs";
  if (c.violations == 0) {
    std::snprintf(buf, sizeof buf, "holds: 0 of %zu comparable pairs violate it", c.comparable);
  } else {
    std::snprintf(buf, sizeof buf, "VIOLATED in %zu of %zu comparable pairs (%.2f%%)", c.violations,
                  c.comparable, 100.0 * c.rate());
  }
  return buf;
}

std::string slope_verdict(const EraFixedEffectsOls::Fit& f, const std::string& which_eras) {
  char buf[320];
  if (!f.ok) {
    std::snprintf(buf, sizeof buf,
                  "%s: no slope (%zu model-eras in %zu eras: too few, or no "
                  "variation)",
                  which_eras.c_str(), f.n, f.eras);
    return buf;
  }
  const int sign = slope_sign(f);
  const char* meaning = sign > 0   ? "rewards closeness to the meta-model (punishes originality)"
                        : sign < 0 ? "rewards distance from the meta-model (originality)"
                                   : "no significant dependence on the meta-model correlation";
  std::snprintf(buf, sizeof buf, "%s: slope %+.4f [%+.4f, %+.4f] -> %s (%zu model-eras, %zu eras)",
                which_eras.c_str(), f.b2, f.lo2, f.hi2, meaning, f.n, f.eras);
  return buf;
}

std::string burn_verdict(const AuditResult& r) {
  if (!r.burn.ok) return "no burn-era slope";
  switch (slope_sign(r.burn)) {
    case 1:
      return "punishes originality in burn eras";
    case -1:
      return "rewards originality in burn eras";
    default:
      return "no significant burn-era dependence";
  }
}

Table audit_summary_table(std::span<const AuditResult> results, bool csv) {
  Table t{{"formula", "observed", "burn_eras", "a_pairs", "a_violations", "a_rate", "b_pairs",
           "b_violations", "b_rate", "burn_slope", "burn_lo", "burn_hi", "other_slope", "other_lo",
           "other_hi", "burn_verdict"},
          {}};
  auto num = [&](double v, int decimals) { return csv ? csv_number(v) : fixed(v, decimals); };
  for (const AuditResult& r : results) {
    t.rows.push_back({r.formula, std::to_string(r.observed), std::to_string(r.burn_eras),
                      std::to_string(r.originality.comparable),
                      std::to_string(r.originality.violations), num(r.originality.rate(), 4),
                      std::to_string(r.relative.comparable), std::to_string(r.relative.violations),
                      num(r.relative.rate(), 4), num(r.burn.b2, 4), num(r.burn.lo2, 4),
                      num(r.burn.hi2, 4), num(r.other.b2, 4), num(r.other.lo2, 4),
                      num(r.other.hi2, 4), burn_verdict(r)});
  }
  return t;
}

Table violations_table(const AuditResult& r, const PairCheck& c,
                       const std::vector<std::string>& models, const std::vector<std::string>& eras,
                       bool csv) {
  Table t{{"era", "model", "corr", "xcorr", r.formula, "vs_model", "vs_corr", "vs_xcorr",
           "vs_" + r.formula, "shortfall"},
          {}};
  auto num = [&](double v, int decimals) { return csv ? csv_number(v) : fixed(v, decimals); };
  for (const Violation& v : c.worst) {
    t.rows.push_back({eras[v.era], models[v.should.model], num(v.should.corr, 5),
                      num(v.should.xcorr, 4), num(v.should.score, 5), models[v.other.model],
                      num(v.other.corr, 5), num(v.other.xcorr, 4), num(v.other.score, 5),
                      num(v.shortfall, 5)});
  }
  return t;
}

std::vector<std::string> burn_punishment_lines(std::span<const AuditResult> results) {
  std::vector<std::string> lines;
  if (results.size() < 2 || slope_sign(results[0].burn) <= 0) return lines;
  const std::string& first = results[0].formula;
  for (std::size_t k = 1; k < results.size(); ++k) {
    const AuditResult& r = results[k];
    std::string line = r.formula + ": ";
    if (!r.burn.ok) {
      line += "cannot tell whether it removes " + first + "'s burn-era punishment (no slope)";
    } else if (slope_sign(r.burn) > 0) {
      line += "does NOT remove " + first + "'s burn-era punishment (it " + burn_verdict(r) + ")";
    } else {
      line += "removes " + first + "'s burn-era punishment (" + burn_verdict(r) + ")";
    }
    lines.push_back(line);
  }
  return lines;
}

}  // namespace backscore
