// The run's outputs from its journal (see score_output.hpp; layouts in docs/FORMAT.md).
#include "host/run/score_output.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "core/error.hpp"
#include "host/run/journal.hpp"
#include "io/csv.hpp"
#include "io/hdf5.hpp"
#include "io/pending_file.hpp"
#include "io/scores_file.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;

// The scores file's header for this run.
ScoresFileHeader scores_header(const StoreReader& store, const ScoreOutputSpec& spec) {
  ScoresFileHeader h;
  h.store = fs::absolute(store.path()).string();
  h.target = spec.target;
  h.benchmark = spec.benchmark;
  h.models = store.schema().models;
  for (std::size_t e : spec.eras) h.eras.push_back(store.eras()[e]);
  for (const auto& f : spec.formulas) {
    h.formulas.push_back(f.name());
    h.definitions.push_back(f.definition());
  }
  return h;
}

// Streaming mean/variance in a fixed order (Welford), so summaries are deterministic.
struct Accumulator {
  std::size_t n = 0;
  double mean = 0, m2 = 0;
  void add(double x) {
    ++n;
    const double d = x - mean;
    mean += d / static_cast<double>(n);
    m2 += d * (x - mean);
  }
  double std_pop() const { return n > 0 ? std::sqrt(m2 / static_cast<double>(n)) : 0; }
};

}  // namespace

std::vector<FormulaSummary> write_score_outputs(const StoreReader& store,
                                                const ScoreOutputSpec& spec,
                                                const fs::path& journal,
                                                const std::string& fingerprint) {
  const std::size_t n_formulas = spec.formulas.size();
  h5::SilenceHdf5 silence;
  std::optional<PendingFile> h5_tmp, csv_tmp;  // declared first: removed after their writers
  std::unique_ptr<ScoresFileWriter> h5_out;
  std::FILE* csv = nullptr;
  struct CsvCloser {
    std::FILE*& f;
    ~CsvCloser() {
      if (f) std::fclose(f);
    }
  } csv_closer{csv};

  if (spec.h5) {
    h5_tmp.emplace(*spec.h5);
    try {
      h5_out = std::make_unique<ScoresFileWriter>(h5_tmp->path(), scores_header(store, spec));
    } catch (const h5::Hdf5Error& e) {
      throw InputError("cannot write " + spec.h5->string() + ": " + e.what());
    }
  }
  if (spec.csv) {
    csv_tmp.emplace(*spec.csv);
    csv = std::fopen(csv_tmp->path().c_str(), "wb");
    if (!csv) throw InputError("cannot write " + spec.csv->string() + ": " + std::strerror(errno));
    std::vector<std::string> header = {"model", "era"};
    for (const auto& f : spec.formulas) header.push_back(f.name());
    std::string text;
    append_csv_record(text, header);
    std::fwrite(text.data(), 1, text.size(), csv);
  }

  // The records come in store order (read_journal orders them, whatever order the eras were
  // finished in: an era-sharded run journals them as its ranks finish them).
  std::size_t next = 0;
  std::vector<Accumulator> all(n_formulas), era_means(n_formulas);
  std::vector<std::size_t> positive(n_formulas, 0);
  std::string line;

  read_journal(journal, fingerprint, n_formulas, spec.eras, [&](const EraScores& rec) {
    if (next >= spec.eras.size() || rec.era != spec.eras[next]) {
      throw std::logic_error("journal records out of order");
    }
    if (h5_out) h5_out->write_era(next, rec.models, rec.scores);
    ++next;
    std::vector<Accumulator> era_acc(n_formulas);
    for (std::size_t j = 0; j < rec.models.size(); ++j) {
      // Names are quoted as RFC 4180 wants (io/csv.hpp): a model or era name may hold a comma,
      // a quote or a line break.
      line.clear();
      append_csv_field(line, store.schema().models[rec.models[j]]);
      line += ',';
      append_csv_field(line, store.eras()[rec.era]);
      for (std::size_t f = 0; f < n_formulas; ++f) {
        const double v = rec.scores[j * n_formulas + f];
        line += ',';
        append_csv_number(line, v);
        if (std::isfinite(v)) {
          all[f].add(v);
          era_acc[f].add(v);
          positive[f] += v > 0;
        }
      }
      line += '\n';
      if (csv) std::fwrite(line.data(), 1, line.size(), csv);
    }
    for (std::size_t f = 0; f < n_formulas; ++f) {
      if (era_acc[f].n > 0) era_means[f].add(era_acc[f].mean);
    }
  });
  if (next != spec.eras.size()) {
    throw std::logic_error("journal misses era " + store.eras()[spec.eras[next]]);
  }

  if (h5_out) {
    try {
      h5_out->close();
    } catch (const h5::Hdf5Error& e) {
      throw InputError("cannot write " + spec.h5->string() + ": " + e.what());
    }
  }
  if (csv) {
    const bool ok = std::fflush(csv) == 0 && std::ferror(csv) == 0;
    std::fclose(csv);
    csv = nullptr;
    if (!ok) throw InputError("cannot write " + spec.csv->string());
  }
  if (h5_tmp) h5_tmp->commit();
  if (csv_tmp) csv_tmp->commit();

  std::vector<FormulaSummary> summary(n_formulas);
  for (std::size_t f = 0; f < n_formulas; ++f) {
    summary[f].name = spec.formulas[f].name();
    summary[f].scored = all[f].n;
    summary[f].mean = all[f].mean;
    summary[f].std = all[f].std_pop();
    const double sd = era_means[f].std_pop();
    summary[f].era_sharpe = sd > 0 ? era_means[f].mean / sd : std::nan("");
    summary[f].positive =
        all[f].n > 0 ? static_cast<double>(positive[f]) / static_cast<double>(all[f].n) : 0;
  }
  return summary;
}

}  // namespace backscore
