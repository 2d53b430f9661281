// Scores file and CSV writers (see score_output.hpp; layout in docs/FORMAT.md).
#include "host/run/score_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <system_error>

#include "host/run/journal.hpp"
#include "io/hdf5.hpp"
#include "core/error.hpp"
#include "version.hpp"

namespace backscore {
namespace {

namespace fs = std::filesystem;

fs::path temp_name(const fs::path& final_path) {
  fs::path t = final_path;
  t += ".tmp-" + std::to_string(::getpid());
  return t;
}

void rename_into_place(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec)
    throw InputError("cannot rename " + from.string() + " to " + to.string() + ": " + ec.message());
}

// Removes a temporary file unless released (on success it has been renamed).
struct TempFile {
  fs::path path;
  bool released = false;
  ~TempFile() {
    if (!released) {
      std::error_code ec;
      fs::remove(path, ec);
    }
  }
};

class ScoresH5 {
 public:
  ScoresH5(const fs::path& path, const StoreReader& store, const ScoreOutputSpec& spec)
      : n_models_(store.schema().models.size()) {
    file_ = h5::create_file(path.string());
    const hid_t root = file_.get();
    h5::write_attribute(root, "format", std::string("backscore-scores"));
    h5::write_attribute(root, "version", std::int64_t{1});
    h5::write_attribute(root, "program", std::string("backscore ") + kVersion);
    h5::write_attribute(root, "store", fs::absolute(store.path()).string());
    h5::write_attribute(root, "target", spec.target);
    h5::write_attribute(root, "benchmark", spec.benchmark);
    h5::write_strings(root, "models", store.schema().models);
    std::vector<std::string> era_names;
    for (std::size_t e : spec.eras) era_names.push_back(store.eras()[e]);
    h5::write_strings(root, "eras", era_names);
    std::vector<std::string> names;
    for (const auto& f : spec.formulas) names.push_back(f.name());
    h5::write_strings(root, "formulas", names);
    h5::Hid scores = h5::create_group(root, "scores");
    const hsize_t dims[2] = {n_models_, spec.eras.size()};
    const hsize_t chunk[2] = {std::clamp<hsize_t>(n_models_, 1, 4096),
                              std::clamp<hsize_t>(spec.eras.size(), 1, 16)};
    for (const auto& f : spec.formulas) {
      h5::Hid dcpl = h5::dataset_creation_properties(f.name());
      const double nan = std::nan("");
      if (H5Pset_chunk(dcpl.get(), 2, chunk) < 0 ||
          H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &nan) < 0 ||
          H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC) < 0) {
        throw h5::Hdf5Error("dataset creation properties failed for 'scores/" + f.name() + "'");
      }
      h5::Hid space(H5Screate_simple(2, dims, nullptr));
      // A chunk cache that holds one column of chunks (twice, for slack): eras are written one
      // column at a time, and a chunk is complete once its 16 eras are; a larger cache would
      // keep every chunk of the history in memory until the file closes.
      const hsize_t column_chunks = (n_models_ + chunk[0] - 1) / chunk[0];
      const std::size_t cache_bytes =
          static_cast<std::size_t>(2 * column_chunks * chunk[0] * chunk[1] * sizeof(double));
      h5::Hid dapl(H5Pcreate(H5P_DATASET_ACCESS));
      H5Pset_chunk_cache(dapl.get(), 521, cache_bytes, 1.0);
      hid_t ds = H5Dcreate2(scores.get(), f.name().c_str(), H5T_IEEE_F64LE, space.get(),
                            H5P_DEFAULT, dcpl.get(), dapl.get());
      if (ds < 0) throw h5::Hdf5Error("H5Dcreate2 failed for 'scores/" + f.name() + "'");
      datasets_.emplace_back(ds);
      h5::write_attribute(ds, "definition", f.definition());
    }
  }

  void write_era(std::size_t column, const EraScores& era, std::size_t n_formulas) {
    if (era.models.empty()) return;
    const std::size_t m = era.models.size();
    std::vector<hsize_t> coords(2 * m);
    for (std::size_t j = 0; j < m; ++j) {
      coords[2 * j] = static_cast<hsize_t>(era.models[j]);
      coords[2 * j + 1] = column;
    }
    std::vector<double> values(m);
    const hsize_t mem_dims[1] = {m};
    h5::Hid mem(H5Screate_simple(1, mem_dims, nullptr));
    for (std::size_t f = 0; f < n_formulas; ++f) {
      for (std::size_t j = 0; j < m; ++j) values[j] = era.scores[j * n_formulas + f];
      h5::Hid space(H5Dget_space(datasets_[f].get()));
      if (H5Sselect_elements(space.get(), H5S_SELECT_SET, m, coords.data()) < 0 ||
          H5Dwrite(datasets_[f].get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT,
                   values.data()) < 0) {
        throw h5::Hdf5Error("H5Dwrite failed for a scores column");
      }
    }
  }

  void close() {
    datasets_.clear();
    if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) throw h5::Hdf5Error("H5Fflush failed");
    file_.reset();
  }

 private:
  hsize_t n_models_;
  h5::Hid file_;
  std::vector<h5::Hid> datasets_;
};

void append_number(std::string& line, double v) {
  if (std::isnan(v)) return;  // an empty cell: not scored
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  line += buf;
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
  std::optional<TempFile> h5_tmp, csv_tmp;
  std::unique_ptr<ScoresH5> h5_out;
  std::FILE* csv = nullptr;
  struct CsvCloser {
    std::FILE*& f;
    ~CsvCloser() {
      if (f) std::fclose(f);
    }
  } csv_closer{csv};

  if (spec.h5) {
    h5_tmp.emplace(TempFile{temp_name(*spec.h5)});
    try {
      h5_out = std::make_unique<ScoresH5>(h5_tmp->path, store, spec);
    } catch (const h5::Hdf5Error& e) {
      throw InputError("cannot write " + spec.h5->string() + ": " + e.what());
    }
  }
  if (spec.csv) {
    csv_tmp.emplace(TempFile{temp_name(*spec.csv)});
    csv = std::fopen(csv_tmp->path.c_str(), "wb");
    if (!csv) throw InputError("cannot write " + spec.csv->string() + ": " + std::strerror(errno));
    std::string header = "model,era";
    for (const auto& f : spec.formulas) header += "," + f.name();
    header += "\n";
    std::fputs(header.c_str(), csv);
  }

  // Each run scores a prefix of the remaining eras in order, so the journal is era-ascending
  // even across resumes; anything else is a bug.
  std::vector<std::size_t> column_of(store.eras().size(), SIZE_MAX);
  for (std::size_t c = 0; c < spec.eras.size(); ++c) column_of[spec.eras[c]] = c;
  std::size_t next = 0;
  std::vector<Accumulator> all(n_formulas), era_means(n_formulas);
  std::vector<std::size_t> positive(n_formulas, 0);
  std::string line;

  read_journal(journal, fingerprint, n_formulas, [&](const EraScores& rec) {
    if (rec.era >= column_of.size() || column_of[rec.era] != next) {
      throw std::logic_error("journal records out of order");
    }
    if (h5_out) h5_out->write_era(next, rec, n_formulas);
    ++next;
    std::vector<Accumulator> era_acc(n_formulas);
    for (std::size_t j = 0; j < rec.models.size(); ++j) {
      line = store.schema().models[rec.models[j]];
      line += ',';
      line += store.eras()[rec.era];
      for (std::size_t f = 0; f < n_formulas; ++f) {
        const double v = rec.scores[j * n_formulas + f];
        line += ',';
        append_number(line, v);
        if (std::isfinite(v)) {
          all[f].add(v);
          era_acc[f].add(v);
          positive[f] += v > 0;
        }
      }
      line += '\n';
      if (csv) std::fputs(line.c_str(), csv);
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
  if (h5_tmp) {
    rename_into_place(h5_tmp->path, *spec.h5);
    h5_tmp->released = true;
  }
  if (csv_tmp) {
    rename_into_place(csv_tmp->path, *spec.csv);
    csv_tmp->released = true;
  }

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
