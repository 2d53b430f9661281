// The steps of `run` shared by its one-process and era-sharded drivers (see run_job.hpp).
#include "host/cli/run_job.hpp"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

#include "core/error.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/era/formulas.hpp"
#include "host/lang/select.hpp"
#include "host/run/backend.hpp"
#include "io/hdf5.hpp"
#include "io/name_list.hpp"
#include "version.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

// --gpu-memory in MiB: 16 TiB, far above any device, and far from overflowing in bytes.
constexpr std::uint64_t kMaxGpuMemoryMib = std::uint64_t{1} << 24;

// run --timings: where the time went, per era (see StageSeconds).
void print_timings(const RunStats& stats, double output_seconds, int ranks) {
  const StageSeconds& t = stats.times;
  const double eras = static_cast<double>(std::max<std::size_t>(stats.eras, 1));
  auto line = [&](const char* what, double seconds, const char* note) {
    std::fprintf(stderr, "  %-36s %10.3f s %10.4f s/era  %s\n", what, seconds, seconds / eras,
                 note);
  };
  // Several ranks: each phase is summed over them (rank-seconds), the wall is the job's.
  std::fprintf(
      stderr, "backscore run: timings (%zu eras, %.2f s wall%s)\n", stats.eras, stats.seconds,
      ranks > 1 ? (", phases summed over " + std::to_string(ranks) + " ranks").c_str() : "");
  line("read (I/O thread)", t.read, "HDF5: era headers, prediction batches");
  line("era stages (prefetch threads)", t.era_stages, "targets, meta-model ranks, factorizations");
  line("  of which factorizations", t.factorization, "LAPACK QR of [features, 1] (fnc), mmc2's");
  line("wait for a batch (scoring thread)", t.wait_batches, "the reader was behind");
  line("wait for era stages (scoring thread)", t.wait_stages, "the era's stages were not ready");
  line("fnc inputs (all threads, wall)", t.fnc_inputs, "ranks of complete columns for fnc");
  line("fnc products (all threads, wall)", t.fnc_products, "residuals by BLAS GEMM");
  line("subset stages (all threads, wall)", t.subset_stages,
       "models with ids missing: own ranks, targets, projectors");
  line("subset products (all threads, wall)", t.subset_products,
       "their fnc residuals by BLAS GEMM");
  line("columns (all threads, wall)", t.columns, "every formula per column");
  line("  ranks (thread-seconds)", t.ranks, "sorts, percentiles, gaussianization");
  const double rest = stats.seconds - t.wait_batches - t.wait_stages - t.fnc_inputs -
                      t.fnc_products - t.subset_stages - t.subset_products - t.columns;
  if (ranks == 1) line("rest of the scoring thread", rest, "journal, the backend's own work");
  line("outputs from the journal", output_seconds, "scores file, CSV, summary (after the eras)");
}

std::size_t find_era(const StoreReader& store, const std::string& text, const char* which) {
  const auto& eras = store.eras();
  if (auto it = std::find(eras.begin(), eras.end(), text); it != eras.end()) {
    return static_cast<std::size_t>(it - eras.begin());
  }
  throw InputError("--eras: " + std::string(which) + " era '" + text + "' is not in " +
                   store.path().string());
}

std::string fingerprint_of(const RunArgs& a, const StoreReader& store, const RunOptions& o) {
  std::ostringstream f;
  f << "backscore " << kVersion << "\nstore " << fs::absolute(store.path()).string() << " "
    << store_file_stamp(store.path()) << "\nformulas";
  for (const auto& s : o.formulas) f << " " << s.name();
  if (o.plan) f << "\n" << o.plan->fingerprint();
  // The backends agree to ~1e-12, not bit for bit: a journal continues only on the same one. On
  // the GPU the last bits also depend on the device and on the device batches' sizes (cuBLAS picks
  // its GEMM kernel by size), which --batch, --gpu-memory and --gpu-streams decide (with
  // --gpu-memory 0 also the device's free memory, when that is what limits a batch: not recorded).
  f << "\nbackend " << (o.backend == Backend::cuda ? "cuda" : "cpu");
  if (o.backend == Backend::cuda) {
    f << " " << describe_cuda_device(o.device) << " batch " << o.batch_models << " gpu-memory "
      << o.gpu_memory << " gpu-streams " << o.gpu_streams;
  }
  f << "\ntarget " << a.target << "\nbenchmark " << o.benchmark << "\neras " << o.first_era << " "
    << o.end_era << "\nmodels";
  for (std::size_t i = 0; i < o.model_selected.size(); ++i) {
    if (o.model_selected[i]) f << " " << i;
  }
  return f.str();
}

// The run's journal (host/run/journal.hpp) sits beside its first output; without outputs, in the
// temporary directory, where no --resume can find it.
fs::path journal_path(const RunArgs& a) {
  if (!a.out_h5.empty()) return fs::path(a.out_h5).concat(".partial");
  if (!a.out_csv.empty()) return fs::path(a.out_csv).concat(".partial");
  return fs::temp_directory_path() / ("backscore-run-" + std::to_string(::getpid()) + ".partial");
}

// Before anything is read: no output (nor the journal) may replace an input or another output,
// and every output must be writable, so a typo costs one line, not hours of scoring.
void check_paths(const RunArgs& a, const fs::path& journal) {
  std::vector<NamedPath> inputs{{"the store", a.store}};
  if (!a.models_file.empty()) inputs.push_back({"--models", a.models_file});
  for (const std::string& f : a.formulas.files) inputs.push_back({"--formula-file", f});
  std::vector<NamedPath> outputs{{"--out", a.out_h5}, {"--csv", a.out_csv}};
  if (!a.out_h5.empty() || !a.out_csv.empty()) {
    outputs.push_back(
        {"the journal of " + std::string(a.out_h5.empty() ? "--csv" : "--out"), journal});
  }
  refuse_aliased_outputs(inputs, outputs);
  if (!a.out_h5.empty()) check_output_file({"--out", a.out_h5});
  if (!a.out_csv.empty()) check_output_file({"--csv", a.out_csv});
}

// Rethrows the error in flight with `note` added to its one line, as the same kind of error (so
// app.cpp gives it the same exit status).
[[noreturn]] void rethrow_with_note(const std::string& note) {
  try {
    throw;
  } catch (const InputError& e) {
    throw InputError(e.what() + note);
  } catch (const ResourceLimitError& e) {
    throw ResourceLimitError(e.what() + note);
  } catch (const h5::Hdf5Error& e) {
    throw h5::Hdf5Error(e.what() + note);
  } catch (const std::bad_alloc&) {
    throw ResourceLimitError("out of memory" + note);
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what() + note);
  }
}

}  // namespace

std::string store_file_stamp(const std::filesystem::path& path) {
  std::error_code ec;
  std::ostringstream s;
  s << fs::file_size(path, ec) << " " << fs::last_write_time(path, ec).time_since_epoch().count();
  return s.str();
}

// --backend auto takes CUDA when a device is there (once the CUDA backend is proven on a device,
// kCudaBackendProven; until then the CPU, saying why); --backend cuda without one is refused with
// the reason (exit 2), as is a device index that does not exist.
BackendChoice choose_backend(const std::string& requested, int device, bool proven) {
  if (requested == "cpu") return {Backend::cpu, "cpu (requested)"};
  const CudaDevices devices = query_cuda_devices();
  if (!devices.built) {
    if (requested == "cuda") throw InputError("--backend cuda: " + devices.why_none);
    return {Backend::cpu, "cpu (built without CUDA)"};
  }
  if (devices.count == 0) {
    if (requested == "cuda") {
      throw InputError("--backend cuda: no usable CUDA device (" + devices.why_none + ")");
    }
    return {Backend::cpu, "cpu (no CUDA device: " + devices.why_none + ")"};
  }
  if (requested == "auto" && !proven) {
    return {Backend::cpu,
            "cpu (auto: the CUDA backend has not yet passed its GPU tests on a device; "
            "--backend cuda runs it)"};
  }
  if (device < 0 || device >= devices.count) {
    throw InputError("--device " + std::to_string(device) + ": this machine has " +
                     std::to_string(devices.count) + " CUDA device(s), 0.." +
                     std::to_string(devices.count - 1));
  }
  return {Backend::cuda, "cuda (" + std::string(requested == "cuda" ? "requested" : "auto") +
                             ", device " + std::to_string(device) + ": " +
                             describe_cuda_device(device) + ")"};
}

TargetChoice choose_target(const StoreSchema& schema, const std::string& target,
                           const std::string& benchmark) {
  TargetChoice c;
  const auto t = std::find(schema.targets.begin(), schema.targets.end(), target);
  if (t == schema.targets.end()) {
    throw InputError("--target: the store has no target '" + target + "'");
  }
  c.target = static_cast<std::size_t>(t - schema.targets.begin());
  if (!schema.benchmarks.empty()) {
    c.benchmark_name = benchmark.empty() ? schema.benchmarks.front() : benchmark;
    const auto b = std::find(schema.benchmarks.begin(), schema.benchmarks.end(), c.benchmark_name);
    if (b == schema.benchmarks.end()) {
      throw InputError("--benchmark: the store has no benchmark '" + c.benchmark_name + "'");
    }
    c.benchmark = static_cast<std::size_t>(b - schema.benchmarks.begin());
  } else if (!benchmark.empty()) {
    throw InputError("--benchmark: the store has no benchmark models");
  }
  return c;
}

void add_backend_options(CLI::App* cmd, std::string& backend, int& device,
                         std::size_t& gpu_memory_mib, int& gpu_streams) {
  cmd->add_option("--backend", backend,
                  "cpu, cuda or auto (the CPU until the CUDA backend has passed its GPU tests on "
                  "a device, then CUDA when a device is present; the first line on stderr says "
                  "which and why), e.g. --backend cpu")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--device", device, "CUDA device index for the cuda backend, e.g. --device 1")
      ->check(whole_number(0, 1023))
      ->capture_default_str();
  cmd->add_option("--gpu-memory", gpu_memory_mib,
                  "Cap on the device memory the cuda backend allocates, in MiB (0 = 90% of the "
                  "free memory; at most 16 TiB); eras that do not fit are scored in model "
                  "batches, e.g. --gpu-memory 8192")
      ->check(whole_number(0, kMaxGpuMemoryMib, "16 TiB"))
      ->capture_default_str();
  cmd->add_option("--gpu-streams", gpu_streams,
                  "CUDA streams of the cuda backend, each scoring its own device batches (one "
                  "batch's copies overlap another's kernels), e.g. --gpu-streams 4")
      ->check(whole_number(1, kMaxGpuStreams))
      ->capture_default_str();
}

void add_run_options(CLI::App* cmd, RunArgs& a) {
  cmd->add_option("store", a.store, "The tournament store (HDF5) to score, e.g. history.h5")
      ->required();
  CLI::Option* formulas = add_formula_options(cmd, a.formulas);
  cmd->add_option("--out", a.out_h5,
                  "Scores file (HDF5): per formula a models x eras matrix, "
                  "e.g. --out scores.h5");
  cmd->add_option("--csv", a.out_csv,
                  "Scores as CSV: model,era,<formula>... one row per submitted (model, era), "
                  "e.g. --csv scores.csv");
  cmd->add_option("--eras", a.eras,
                  "Only eras FIRST:LAST (names, inclusive; either side may be empty), "
                  "e.g. --eras era0100:era0200");
  cmd->add_option(
      "--models", a.models_file,
      "Only the models named in FILE (one per line, # comments), e.g. --models top.txt");
  cmd->add_option("--target", a.target, "Target to score against, e.g. --target target_b")
      ->capture_default_str();
  cmd->add_option("--benchmark", a.benchmark,
                  "Benchmark model for bmc (default: the store's first), e.g. --benchmark lgbm");
  cmd->add_option("--threads", a.threads,
                  "CPU threads (default: all cores; at most 64 or 4 x the cores, whichever is "
                  "more), e.g. --threads 8")
      ->check(whole_number(0, static_cast<std::uint64_t>(max_threads()), max_threads_why()));
  cmd->add_option("--batch", a.batch,
                  "Model columns read and scored per batch (bounds memory; default 256 on the "
                  "CPU, 1024 on cuda; at most 1048576), e.g. --batch 512")
      ->check(whole_number(1, kMaxBatch));
  add_backend_options(cmd, a.backend, a.device, a.gpu_memory_mib, a.gpu_streams);
  cmd->add_option("--prefetch-eras", a.prefetch_eras,
                  "Eras whose shared stages (the factorization of the features above all) are "
                  "built ahead on their own threads while earlier eras are scored; 0 builds "
                  "each when reached (default: min(threads, 4), 0 with one thread). Each era "
                  "ahead holds its header and factorization in memory (~300 MB at 2,376 "
                  "features), e.g. --prefetch-eras 2")
      ->check(whole_number(0, 64));
  cmd->add_flag("--timings", a.timings,
                "After the run, where its time went (reading, era stages, factorizations, fnc "
                "products, columns, ranks) on stderr");
  cmd->add_flag("--resume", a.resume,
                "Continue a killed run with the same arguments without recomputing finished eras");
  cmd->add_flag("--quiet", a.quiet, "No progress line on stderr");
  CLI::Option* device = cmd->get_option("--device");
  cmd->parse_complete_callback([&a, formulas, device] {
    a.formulas.formulas_given = formulas->count() > 0;
    a.device_given = device->count() > 0;
  });
}

PreparedRun prepare_run(const RunArgs& a, const RunSeams& seams, bool writes_outputs) {
  const fs::path journal = journal_path(a);
  const bool beside_output = !a.out_h5.empty() || !a.out_csv.empty();
  if (a.resume && !beside_output) {
    throw InputError("--resume needs --out or --csv (the run's journal sits beside it)");
  }
  if (writes_outputs) check_paths(a, journal);
  BackendChoice backend = choose_backend(a.backend, a.device);
  // Language errors first, before the store is opened; then against the store's schema.
  const std::vector<lang::Definition> definitions = read_formula_definitions(a.formulas);
  if (!definitions.empty()) lang::compile(definitions, {}, lang::Binding{});
  PreparedRun p{journal, beside_output, std::move(backend), StoreReader(a.store), {}, {}, {}};
  const StoreReader& store = p.store;
  const StoreSchema& schema = store.schema();
  RunOptions& o = p.options;
  o.seams = seams;
  o.threads = a.threads;
  // The GPU wants wider calls: each score_full_columns call has fixed costs (kernel launches, a
  // synchronization, the host's NaN scan) that a wider batch spreads over more predictions.
  o.batch_models = a.batch > 0 ? a.batch : p.backend.backend == Backend::cuda ? 1024 : 256;
  // The GPU consumes predictions as fast as the store delivers them: read each batch's chunks on
  // several threads. The CPU backend's cores are busy scoring; one reader keeps up with them.
  o.read_threads = p.backend.backend == Backend::cuda
                       ? static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 8u))
                       : 1;
  o.progress = !a.quiet;
  o.backend = p.backend.backend;
  o.device = a.device;
  o.gpu_memory = static_cast<std::size_t>(a.gpu_memory_mib) << 20;
  o.gpu_streams = a.gpu_streams;
  o.prefetch_eras = a.prefetch_eras;

  const TargetChoice chosen = choose_target(schema, a.target, a.benchmark);
  o.target = chosen.target;
  o.benchmark = chosen.benchmark;
  const std::string& benchmark_name = chosen.benchmark_name;
  {
    lang::FormulaSelection sel = select_formula_columns(
        a.formulas, definitions, lang::Binding{&schema, o.target, o.benchmark});
    o.formulas = std::move(sel.specs);
    o.plan = std::move(sel.plan);
  }

  if (!a.eras.empty()) {
    const auto colon = a.eras.find(':');
    if (colon == std::string::npos) throw InputError("--eras: expected FIRST:LAST");
    const std::string first = a.eras.substr(0, colon), last = a.eras.substr(colon + 1);
    o.first_era = first.empty() ? 0 : find_era(store, first, "first");
    o.end_era = last.empty() ? store.eras().size() : find_era(store, last, "last") + 1;
    if (o.end_era <= o.first_era) throw InputError("--eras: the last era comes before the first");
  } else {
    o.end_era = store.eras().size();
  }
  // --models (a file) and models= (names, the Python API): the union of both.
  if (!a.models_file.empty() || !a.model_names.empty()) {
    o.model_selected.assign(schema.models.size(), 0);
  }
  auto select_model = [&](const std::string& name, const auto& unknown) {
    auto it = std::find(schema.models.begin(), schema.models.end(), name);
    if (it == schema.models.end()) throw InputError(unknown());
    o.model_selected[static_cast<std::size_t>(it - schema.models.begin())] = 1;
  };
  if (!a.models_file.empty()) {
    std::vector<NameLine> names;
    try {
      names = read_name_file(a.models_file);
    } catch (const InputError& e) {
      throw InputError(std::string("--models: ") + e.what());
    }
    for (const NameLine& m : names) {
      select_model(m.name, [&] {
        return a.models_file + ":" + std::to_string(m.line) + ": unknown model '" + m.name + "'";
      });
    }
  }
  for (const std::string& name : a.model_names) {
    select_model(name, [&] { return "models: the store has no model '" + name + "'"; });
  }

  ScoreOutputSpec& out = p.out;
  if (!a.out_h5.empty()) out.h5 = fs::path(a.out_h5);
  if (!a.out_csv.empty()) out.csv = fs::path(a.out_csv);
  out.formulas = o.formulas;
  for (std::size_t e = o.first_era; e < o.end_era; ++e) out.eras.push_back(e);
  out.target = a.target;
  out.benchmark = benchmark_name;
  p.fingerprint = fingerprint_of(a, store, o);
  return p;
}

void RunJournal::append(const EraScores& era) {
  failed_writing_ = true;  // until the write has succeeded
  writer_.append(era);
  failed_writing_ = false;
  ++appended_;
  if (seams_.after_journaled_era) seams_.after_journaled_era(appended_);
}

std::string run_first_line(const PreparedRun& run, int threads, const std::string& extra) {
  char line[512];
  std::snprintf(line, sizeof line,
                "backscore run: %sbackend %s, %d threads%s, %zu formulas, %zu eras", extra.c_str(),
                run.backend.note.c_str(), threads > 0 ? threads : omp_get_max_threads(),
                extra.empty() ? "" : " per rank", run.options.formulas.size(), run.out.eras.size());
  return line;
}

JournaledRun score_journaled(PreparedRun& run, const RunArgs& a, const std::string& first_line,
                             const std::function<RunStats(RunJournal&)>& score) {
  JournaledRun result;
  {
    // Opening the journal refuses another job's, or a damaged header, and leaves it as it is.
    JournalWriter writer(run.journal, run.fingerprint, run.options.formulas.size(), a.resume);
    RunJournal journal(writer, run.options.seams);
    if (!first_line.empty()) std::fprintf(stderr, "%s\n", first_line.c_str());
    if (a.resume) {
      std::fprintf(stderr, "backscore run: resuming, %zu eras already scored\n",
                   writer.finished_eras().size());
      if (!writer.damage().empty()) {
        std::fprintf(stderr, "backscore run: %s\n", writer.damage().c_str());
      }
    }
    // From here a failure either keeps the journal for --resume (writing the journal or the
    // outputs failed, or memory ran out: every journaled era is whole and checksummed), or
    // removes it (bad input in an era, the GPU memory cap, an internal or GPU error: a resume
    // would stop there again, or the fixed job's fingerprint would not match the journal).
    bool scored = false;
    try {
      try {
        result.stats = score(journal);
      } catch (const ResourceLimitError& e) {  // the one limit a run has: the GPU memory cap
        if (journal.failed_writing()) throw;
        throw ResourceLimitError(std::string("--gpu-memory: ") + e.what());
      }
      scored = true;  // every era is journaled: only the outputs are left to write
      writer.close();
      const auto t0 = std::chrono::steady_clock::now();
      result.summary = write_score_outputs(run.store, run.out, run.journal, run.fingerprint);
      result.output_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    } catch (const std::bad_alloc&) {
      if (!run.beside_output) {
        std::error_code ec;
        fs::remove(run.journal, ec);
        throw;
      }
      rethrow_with_note(" (the journal " + run.journal.string() +
                        " is kept: free memory, or give fewer --threads, and run the same command "
                        "with --resume to continue without rescoring finished eras)");
    } catch (...) {
      if ((scored || journal.failed_writing()) && run.beside_output) {
        rethrow_with_note(" (the journal " + run.journal.string() +
                          " is kept: fix this and run the same command with --resume to "
                          "continue without rescoring finished eras)");
      }
      std::error_code ec;
      fs::remove(run.journal, ec);
      if (!run.beside_output) throw;
      rethrow_with_note(
          " (no output written, and no journal kept: --resume could not get past this)");
    }
  }
  std::error_code ec;
  fs::remove(run.journal, ec);
  return result;
}

void print_run_report(const PreparedRun& run, const RunArgs& a, const JournaledRun& result) {
  const RunOptions& o = run.options;
  const RunStats& stats = result.stats;
  std::printf("%-22s %10s %12s %12s %10s %9s\n", "formula", "scored", "mean", "std", "sharpe",
              "positive");
  for (const auto& s : result.summary) {
    std::printf("%-22s %10zu %12.6f %12.6f %10.4f %8.1f%%\n", s.name.c_str(), s.scored, s.mean,
                s.std, s.era_sharpe, 100.0 * s.positive);
  }
  if (o.plan) {
    std::string undefined;
    for (std::size_t f = 0; f < o.formulas.size(); ++f) {
      if (!o.formulas[f].is_defined()) continue;
      undefined += (undefined.empty() ? "" : ", ") + o.formulas[f].name() + " " +
                   std::to_string(f < stats.undefined.size() ? stats.undefined[f] : 0);
    }
    std::fprintf(stderr,
                 "backscore run: undefined scores of defined formulas (NaN: division by zero, a "
                 "reduction over too few values, a failed power check): %s\n",
                 undefined.c_str());
  }
  const double rate =
      stats.seconds > 0 ? static_cast<double>(stats.predictions) / stats.seconds : 0;
  std::fprintf(stderr,
               "backscore run: %zu eras, %zu model-eras, %zu scores, %zu skipped (>20%% ids "
               "missing), %zu on their own id subset, %.2f s, %.3g predictions/s\n",
               stats.eras, stats.model_eras, (stats.model_eras - stats.skipped) * o.formulas.size(),
               stats.skipped, stats.subset_models, stats.seconds, rate);
  if (stats.fnc_fallbacks > 0) {
    std::fprintf(stderr,
                 "backscore run: %zu of the model-eras on their own id subset had their fnc "
                 "neutralization factorized afresh (the era's factorization could not be reused "
                 "safely)\n",
                 stats.fnc_fallbacks);
  }
  if (a.timings) print_timings(stats, result.output_seconds, result.ranks);
  if (o.backend == Backend::cuda) {
    std::string cpu_only;
    for (const FormulaSpec& f : o.formulas) {
      if (!f.is_defined() && !builtin_info(f.builtin).on_gpu) {
        cpu_only += (cpu_only.empty() ? "" : ", ") + f.name();
      }
    }
    if (!cpu_only.empty()) {
      std::fprintf(stderr,
                   "backscore run: computed on the CPU for every model (no GPU path yet): %s\n",
                   cpu_only.c_str());
    }
    std::fprintf(
        stderr,
        "backscore run: GPU scored the built-ins of %zu model-eras (the rest on the CPU), "
        "device batches of up to %zu models on %zu streams, peak device memory %.1f MiB%s\n",
        stats.gpu_model_eras, stats.gpu_batch_models, stats.gpu_streams,
        static_cast<double>(stats.gpu_peak_bytes) / (1 << 20),
        o.gpu_memory ? (" (cap " + std::to_string(o.gpu_memory >> 20) + " MiB)").c_str() : "");
  }
}

}  // namespace backscore::cli
