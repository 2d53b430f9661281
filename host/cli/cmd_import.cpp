// `backscore import`: a tournament store from CSV files (io/import.hpp, layouts in FORMAT.md).
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/output_paths.hpp"
#include "io/import.hpp"

namespace backscore::cli {
namespace {

struct ImportArgs {
  std::string universe, stakes, out;
  std::vector<std::string> predictions, prediction_dirs;
};

void import(const ImportArgs& a) {
  if (a.predictions.empty() && a.prediction_dirs.empty()) {
    throw InputError("import: give at least one --predictions FILE or --predictions-dir DIR");
  }
  std::vector<NamedPath> inputs{{"--universe", a.universe}, {"--stakes", a.stakes}};
  for (const std::string& p : a.predictions) inputs.push_back({"--predictions", p});
  for (const std::string& d : a.prediction_dirs) inputs.push_back({"--predictions-dir", d});
  refuse_aliased_outputs(inputs, {{"--out", a.out}});
  check_output_file({"--out", a.out});
  ImportOptions o;
  o.universe = a.universe;
  o.predictions.assign(a.predictions.begin(), a.predictions.end());
  o.prediction_dirs.assign(a.prediction_dirs.begin(), a.prediction_dirs.end());
  if (!a.stakes.empty()) o.stakes = a.stakes;
  o.out = a.out;
  const auto start = std::chrono::steady_clock::now();
  const ImportSummary s = with_flags({{"predictions", "--predictions"},
                                      {"prediction_dirs", "--predictions-dir"},
                                      {"out", "--out"}},
                                     [&] { return import_csv(o); });
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "backscore import: wrote %s: %zu eras (%zu-%zu stocks), %zu models, %zu "
               "submissions, %zu predictions (%zu empty), %zu stakes (%zu ignored: no "
               "submission for that model and era), %.2f s\n",
               a.out.c_str(), s.eras, s.min_stocks, s.max_stocks, s.models, s.submissions,
               s.predictions, s.empty_predictions, s.stakes, s.stakes_ignored, seconds);
}

}  // namespace

void add_import(CLI::App& app) {
  auto a = std::make_shared<ImportArgs>();
  CLI::App* cmd = app.add_subcommand("import", "Build a store from CSV files.");
  cmd->footer(
      "Example:\n  backscore import --universe universe.csv --predictions preds.csv "
      "--stakes stakes.csv --out history.h5\n"
      "  backscore import --universe universe.csv --predictions-dir submissions/ --out "
      "history.h5\n"
      "Quoted fields, CRLF line ends and a UTF-8 byte-order mark are accepted. Eras keep the "
      "universe's order of first appearance, models the order in which they first appear in the "
      "prediction files. Any bad row stops the import with FILE:LINE: column 'NAME' (N): what; "
      "no store is written then. The layouts are in docs/FORMAT.md.");
  cmd->add_option("--universe", a->universe,
                  "CSV with one row per era and stock: era,id,target then optional "
                  "target_<name>, meta_model, benchmark_<name>, feature_<name> columns; every "
                  "value finite, e.g. --universe universe.csv")
      ->required();
  cmd->add_option("--predictions", a->predictions,
                  "Long CSV model,era,id,prediction (repeat for several files); an empty "
                  "prediction means the id was not submitted, e.g. --predictions preds.csv")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--predictions-dir", a->prediction_dirs,
                  "Directory of Numerai submission files DIR/<model>/<era>.csv, each with an id "
                  "column and one prediction column (repeatable), e.g. --predictions-dir subs/")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--stakes", a->stakes,
                  "CSV model,era,stake (>= 0); a submission without a row gets 0, e.g. "
                  "--stakes stakes.csv");
  cmd->add_option("--out", a->out, "The store (HDF5) to write, e.g. --out history.h5")->required();
  cmd->callback([a] { import(*a); });
}

}  // namespace backscore::cli
