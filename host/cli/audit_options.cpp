#include "host/cli/audit_options.hpp"

#include <cmath>
#include <cstdlib>
#include <string>

#include "host/cli/option_bounds.hpp"

namespace backscore::cli {

void add_audit_options(CLI::App* cmd, AuditOptions& o) {
  const CLI::Validator positive(
      [](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !(v > 0) || !std::isfinite(v)) {
          return "'" + text + "' is not a positive number";
        }
        return "";
      },
      "POSITIVE");
  cmd->add_option("--corr-formula", o.corr_formula,
                  "The CORR held fixed and scored for the meta-model (corr_v1 or corr; read from "
                  "the scores file, or computed from the store when the file lacks it), e.g. "
                  "--corr-formula corr")
      ->capture_default_str();
  cmd->add_option("--corr-tol", o.corr_tol,
                  "Audit (a): models within this corr of each other count as equally "
                  "correlated with the target, e.g. --corr-tol 0.001")
      ->check(positive)
      ->capture_default_str();
  cmd->add_option("--xcorr-tol", o.xcorr_tol,
                  "Audit (b): models within this xcorr of each other count as equally "
                  "correlated with the meta-model, e.g. --xcorr-tol 0.05")
      ->check(positive)
      ->capture_default_str();
  cmd->add_option("--worst", o.worst,
                  "Worst violations listed per formula and property, e.g. --worst 20")
      ->check(whole_number(0, 1'000'000))
      ->capture_default_str();
}

}  // namespace backscore::cli
