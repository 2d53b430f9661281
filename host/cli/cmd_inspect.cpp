// `backscore inspect`: what a store holds, read era by era (memory bounded by one era batch).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <numeric>

#include "host/cli/commands.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/era/era_context.hpp"
#include "host/era/formulas.hpp"
#include "io/store.hpp"

namespace backscore::cli {
namespace {

struct InspectArgs {
  std::string store;
  std::size_t batch = 256;
};

struct MinMedMax {
  std::vector<double> values;
  void add(double v) { values.push_back(v); }
  std::string str(const char* fmt = "%.0f") const {
    if (values.empty()) return "-";
    std::vector<double> v = values;
    std::sort(v.begin(), v.end());
    const double med =
        v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
    char buf[128];
    std::string f = std::string("min ") + fmt + ", median " + fmt + ", max " + fmt;
    std::snprintf(buf, sizeof buf, f.c_str(), v.front(), med, v.back());
    return buf;
  }
};

std::string join(const std::vector<std::string>& names) {
  if (names.empty()) return "(none)";
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

void inspect(const InspectArgs& a) {
  StoreReader store(a.store);
  const StoreSchema& s = store.schema();
  const std::size_t n_eras = store.eras().size();
  MinMedMax stocks, submissions, meta_corr;
  std::size_t model_eras = 0, cells = 0, missing = 0, burn = 0;
  std::vector<float> block;
  ModelScratch scratch;
  const FormulaSpec corr_v1{Builtin::corr_v1, 0};
  for (std::size_t e = 0; e < n_eras; ++e) {
    const Era era = store.read_era(e);
    const std::size_t n = era.n_stocks(), m = era.n_submitted();
    stocks.add(static_cast<double>(n));
    submissions.add(static_cast<double>(m));
    model_eras += m;
    for (std::size_t first = 0; first < m; first += a.batch) {
      const std::size_t count = std::min(a.batch, m - first);
      block.resize(count * n);
      store.read_predictions(e, first, count, block);
      cells += block.size();
      missing += static_cast<std::size_t>(
          std::count_if(block.begin(), block.end(), [](float x) { return std::isnan(x); }));
    }
    if (s.has_meta_model && n > 1) {
      // The meta-model's CORR (v1, as in the 2020 burn-era debate) scored like any model.
      EraContext ctx(era, {}, ContextNeeds{}, 0, 0);
      double c = std::nan("");
      score_model(ctx, era.meta_model, std::span(&corr_v1, 1), std::span(&c, 1), scratch);
      if (std::isfinite(c)) {
        meta_corr.add(c);
        burn += c < 0;
      }
    }
  }
  std::printf("store        %s (%s v%d)\n", store.path().c_str(), kStoreFormat, store.version());
  std::printf("eras         %zu", n_eras);
  if (n_eras > 0)
    std::printf(" (%s .. %s)", store.eras().front().c_str(), store.eras().back().c_str());
  std::printf("\nstocks/era   %s\n", stocks.str().c_str());
  std::printf("models       %zu\n", s.models.size());
  std::printf("submissions  %s per era, %zu model-eras\n", submissions.str().c_str(), model_eras);
  std::printf("missing ids  %.4f%% of submitted predictions (%zu of %zu)\n",
              cells ? 100.0 * static_cast<double>(missing) / static_cast<double>(cells) : 0.0,
              missing, cells);
  std::printf("targets      %s\n", join(s.targets).c_str());
  std::printf("meta-model   %s\n", s.has_meta_model ? "yes" : "no");
  std::printf("stakes       %s\n", s.has_stakes ? "yes" : "no");
  std::printf("weights      %s\n", s.has_sample_weights ? "yes (sample weights per stock)" : "no");
  std::printf("benchmarks   %s\n", join(s.benchmarks).c_str());
  std::printf("features     %zu%s\n", s.features.size(),
              s.features.empty()
                  ? ""
                  : (" (" + s.features.front() + " .. " + s.features.back() + ")").c_str());
  std::printf("neutralizers %zu%s\n", s.neutralizers.size(),
              s.neutralizers.empty()
                  ? ""
                  : (" (" + s.neutralizers.front() + " .. " + s.neutralizers.back() + ")").c_str());
  if (s.has_meta_model && !meta_corr.values.empty()) {
    const auto& v = meta_corr.values;
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    std::printf("meta-model corr_v1 per era: mean %.4f, %s\n", mean, meta_corr.str("%.4f").c_str());
    std::printf("burn eras    %zu of %zu (%.1f%%) with meta-model corr_v1 < 0\n", burn, v.size(),
                100.0 * static_cast<double>(burn) / static_cast<double>(v.size()));
  }
}

}  // namespace

void add_inspect(CLI::App& app) {
  auto a = std::make_shared<InspectArgs>();
  CLI::App* cmd = app.add_subcommand("inspect", "Summarize what a store holds.");
  cmd->footer("Example:\n  backscore inspect history.h5");
  cmd->add_option("store", a->store, "The tournament store (HDF5), e.g. history.h5")->required();
  cmd->add_option("--batch", a->batch, "Model columns read at a time, e.g. --batch 512")
      ->check(whole_number(1, kMaxBatch))
      ->capture_default_str();
  cmd->callback([a] { inspect(*a); });
}

}  // namespace backscore::cli
