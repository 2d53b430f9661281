// `backscore synth`: write a synthetic tournament history (host/synth/synth.hpp) to a store.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "host/cli/commands.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/synth/synth.hpp"

namespace backscore::cli {
namespace {

struct SynthArgs {
  SynthOptions options;
  std::string out;
  std::string preset;
  bool quiet = false;
};

// --preset: the preset's value for every option not given on the command line.
void apply_preset(SynthArgs& a, const CLI::App& cmd) {
  if (a.preset.empty()) return;
  const SynthOptions p = numerai_preset();  // the only preset; CLI11 checked the name
  SynthOptions& o = a.options;
  auto unless_given = [&](const char* flag, auto& field, const auto& value) {
    if (cmd.count(flag) == 0) field = value;
  };
  unless_given("--models", o.models, p.models);
  unless_given("--eras", o.eras, p.eras);
  unless_given("--stocks", o.stocks, p.stocks);
  unless_given("--features", o.features, p.features);
  unless_given("--feature-group-size", o.feature_group_size, p.feature_group_size);
  unless_given("--duplicate-features", o.duplicate_features, p.duplicate_features);
  unless_given("--constant-features", o.constant_features, p.constant_features);
  unless_given("--burn-fraction", o.burn_fraction, p.burn_fraction);
}

// What synthesize holds at once (host/synth/): the stock pool of the whole history (an id and a
// key per stock, ~48 bytes each) and one era of up to 1.25 x --stocks stocks: the prediction
// matrix (4 bytes per model), the features with their group latents and the store's copy, the
// meta-model's partial sums and the per-stock vectors. An estimate, within a small factor.
struct SynthSize {
  double pool_ids = 0;
  double bytes = 0;
};

SynthSize synth_size(const SynthOptions& o) {
  const double n = 1.25 * static_cast<double>(o.stocks) + 1;
  const double turnover = static_cast<double>(std::max<std::size_t>(1, (o.stocks + 50) / 100));
  SynthSize s;
  s.pool_ids = n + turnover * static_cast<double>(o.eras - 1);
  s.bytes = 48 * s.pool_ids +
            n * (4.0 * static_cast<double>(o.models) + 24.0 * static_cast<double>(o.features) +
                 64 * 8 + 256) +
            64.0 * static_cast<double>(o.models);
  return s;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
  return buf;
}

// Sizes whose history cannot be generated on this machine are refused before the output is
// created: stock ids beyond 32-bit indices, or more memory than the machine has.
void check_size(const SynthOptions& o) {
  const SynthSize s = synth_size(o);
  if (s.pool_ids >= 4294967295.0) {
    throw InputError("synth: --stocks " + std::to_string(o.stocks) + " over --eras " +
                     std::to_string(o.eras) +
                     " draws more than 2^32 stock ids: lower --stocks or --eras");
  }
  const double memory = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) *
                        static_cast<double>(::sysconf(_SC_PAGE_SIZE));
  if (memory > 0 && s.bytes > memory) {
    throw InputError("synth: --models " + std::to_string(o.models) + " x --stocks " +
                     std::to_string(o.stocks) + " x --features " + std::to_string(o.features) +
                     " needs about " + gib(s.bytes) + " of memory, more than this machine's " +
                     gib(memory) + ": lower --models, --stocks or --features");
  }
}

void synth(SynthArgs& a) {
  check_output_file({"--out", a.out});
  check_size(a.options);
  a.options.out = a.out;
  a.options.progress = !a.quiet;
  const SynthSummary s = with_flags({{"models", "--models"},
                                     {"eras", "--eras"},
                                     {"stocks", "--stocks"},
                                     {"burn_fraction", "--burn-fraction"},
                                     {"duplicate_features", "--duplicate-features"},
                                     {"constant_features", "--constant-features"},
                                     {"missing_ids", "--missing-ids"},
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
      "Examples:\n  backscore synth --models 1000 --eras 200 --stocks 5000 --features 20 "
      "--seed 7 --out history.h5\n"
      "  backscore synth --preset numerai --eras 3 --out numerai.h5   # Numerai's size: 5,000 "
      "stocks x 2,376 features x 1,000 models\n"
      "Models mix a shared crowd signal with their own; in burn eras the crowd, and with it the "
      "stake-weighted meta-model, is anti-correlated with the target. The model of the data is "
      "described at the top of host/synth/synth.cpp.");
  SynthOptions& o = a->options;
  cmd->add_option("--models", o.models,
                  "Models in the model table; they join and leave, so on average ~57% of them "
                  "submit in an era, e.g. --models 1000")
      ->check(whole_number(1, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--eras", o.eras, "Eras of history (era0001, era0002, ...), e.g. --eras 200")
      ->check(whole_number(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--stocks", o.stocks,
                  "Mean stocks per era; each era has this many +-20%, drawn from a slowly "
                  "changing universe, e.g. --stocks 5000")
      ->check(whole_number(10, 10'000'000))
      ->capture_default_str();
  cmd->add_option("--features", o.features,
                  "Integer features 0..4 (f000, f001, ...) correlated with the target, "
                  "e.g. --features 20")
      ->check(whole_number(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--feature-group-size", o.feature_group_size,
                  "Features per correlated group (f000-f019 share one group latent, ...); 0: "
                  "independent features, e.g. --feature-group-size 20")
      ->check(whole_number(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--duplicate-features", o.duplicate_features,
                  "Share of features that are exact copies of an earlier feature in every era "
                  "(at least one when > 0), e.g. --duplicate-features 0.01")
      ->check(real_number(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--constant-features", o.constant_features,
                  "Share of features that are constant (2 for every stock) in each era, drawn "
                  "anew per era (at least one when > 0), e.g. --constant-features 0.005")
      ->check(real_number(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--missing-ids", o.missing_ids,
                  "Share of model-eras that leave 1-5% of the era's ids out (scored on their own "
                  "subset, as numerai-tools does); at most 0.2. Another ~2% leave 25-50% out "
                  "(unscorable). E.g. --missing-ids 0.07, or 0 for complete submissions")
      ->check(real_number(0.0, 0.2))
      ->capture_default_str();
  cmd->add_option("--neutralizers", o.neutralizers,
                  "Neutralizer columns per era, as Numerai Signals gives them (intercept, "
                  "factor01, ...: risk-factor-like columns partly shared with the crowd, "
                  "orthonormal under the sample weights); for neutral_corr, neutral_mmc, alpha "
                  "and mpc, e.g. --neutralizers 8")
      ->check(whole_number(0, 1000))
      ->capture_default_str();
  cmd->add_flag("--sample-weights", o.sample_weights,
                "Sample weights per stock (a slowly changing size, mean 1 in each era), as "
                "Numerai Signals gives them; for alpha and mpc");
  cmd->add_option("--preset", a->preset,
                  "Start from a preset; options given on the command line override its values. "
                  "numerai: Numerai's dimensions and feature structure: --models 1000 --eras 20 "
                  "--stocks 5000 --features 2376 --feature-group-size 20 --duplicate-features "
                  "0.01 --constant-features 0.005 (--missing-ids as without a preset), e.g. "
                  "--preset numerai --eras 3")
      ->check(CLI::IsMember({"numerai"}));
  cmd->add_option("--burn-fraction", o.burn_fraction,
                  "Probability that an era is a burn era, where the meta-model is "
                  "anti-correlated with the target, e.g. --burn-fraction 0.3")
      ->check(real_number(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--seed", o.seed,
                  "Random seed: the same options and seed give the same store, whatever the "
                  "thread count, e.g. --seed 7")
      ->check(whole_number(0, UINT64_MAX))
      ->capture_default_str();
  cmd->add_option("--out", a->out, "The store (HDF5) to write, e.g. --out history.h5")->required();
  cmd->add_flag("--quiet", a->quiet, "No progress line on stderr");
  cmd->callback([a, cmd] {
    apply_preset(*a, *cmd);
    synth(*a);
  });
}

}  // namespace backscore::cli
