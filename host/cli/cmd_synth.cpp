// `backscore synth`: write a synthetic tournament history (host/synth/synth.hpp) to a store.
#include <cstdio>
#include <memory>
#include <string>

#include "host/cli/commands.hpp"
#include "host/synth/synth.hpp"
#include "core/error.hpp"

namespace backscore::cli {
namespace {

struct SynthArgs {
  SynthOptions options;
  std::string out;
  bool quiet = false;
};

void synth(SynthArgs& a) {
  a.options.out = a.out;
  a.options.progress = !a.quiet;
  const SynthSummary s = with_flags({{"models", "--models"},
                                     {"eras", "--eras"},
                                     {"stocks", "--stocks"},
                                     {"burn_fraction", "--burn-fraction"},
                                     {"out", "--out"}},
                                    [&] { return synthesize(a.options); });
  const double cells = s.predictions > 0 ? static_cast<double>(s.predictions) : 1.0;
  const double rate = s.seconds > 0 ? static_cast<double>(s.predictions) / s.seconds : 0.0;
  std::fprintf(stderr,
               "backscore synth: wrote %s: %zu eras, %zu models, %zu model-eras, %zu predictions "
               "(%.2f%% missing, %zu model-eras unscorable), %zu burn eras, meta-model corr < 0 "
               "in %zu eras, %.2f s, %.3g predictions/s\n",
               a.out.c_str(), s.eras, s.models, s.model_eras, s.predictions,
               100.0 * static_cast<double>(s.missing) / cells, s.unscorable, s.burn_eras,
               s.negative_meta, s.seconds, rate);
}

}  // namespace

void add_synth(CLI::App& app) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Write a realistic synthetic tournament history to a store (same --seed, same data).");
  cmd->footer(
      "Example:\n  backscore synth --models 1000 --eras 200 --stocks 5000 --features 20 "
      "--seed 7 --out history.h5\n"
      "Models mix a shared crowd signal with their own; in burn eras the crowd, and with it the "
      "stake-weighted meta-model, is anti-correlated with the target. The model of the data is "
      "described at the top of host/synth/synth.cpp.");
  SynthOptions& o = a->options;
  cmd->add_option("--models", o.models,
                  "Models in the model table; they join and leave, so on average ~57% of them "
                  "submit in an era, e.g. --models 1000")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--eras", o.eras, "Eras of history (era0001, era0002, ...), e.g. --eras 200")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--stocks", o.stocks,
                  "Mean stocks per era; each era has this many +-20%, drawn from a slowly "
                  "changing universe, e.g. --stocks 5000")
      ->check(CLI::Range(std::size_t{10}, std::size_t{10'000'000}))
      ->capture_default_str();
  cmd->add_option("--features", o.features,
                  "Integer features 0..4 (f000, f001, ...) correlated with the target, "
                  "e.g. --features 20")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--burn-fraction", o.burn_fraction,
                  "Probability that an era is a burn era, where the meta-model is "
                  "anti-correlated with the target, e.g. --burn-fraction 0.3")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed,
                  "Random seed: the same options and seed give the same store, whatever the "
                  "thread count, e.g. --seed 7")
      ->capture_default_str();
  cmd->add_option("--out", a->out, "The store (HDF5) to write, e.g. --out history.h5")->required();
  cmd->add_flag("--quiet", a->quiet, "No progress line on stderr");
  cmd->callback([a] { synth(*a); });
}

}  // namespace backscore::cli
