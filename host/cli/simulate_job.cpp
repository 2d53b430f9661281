// `simulate` as steps (simulate_job.hpp): what cmd_simulate.cpp and the Python module share.
#include "host/cli/simulate_job.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.hpp"
#include "host/cli/errors.hpp"
#include "host/cli/formula_options.hpp"
#include "host/cli/option_bounds.hpp"
#include "host/cli/output_paths.hpp"
#include "host/cli/run_job.hpp"
#include "host/run/backend.hpp"
#include "host/run/sim_journal.hpp"
#include "io/csv.hpp"
#include "io/pending_file.hpp"
#include "version.hpp"

namespace backscore::cli {
namespace fs = std::filesystem;
namespace {

bool valid_rule_name(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// NAME=EXPR, or a preset's name alone (then also its name in the outputs).
// One rule or preset (a preset's parameters from --payout-param), with its pf threshold.
SimRule parse_rule(const SimulateArgs& a, const std::string& name, const std::string& expr,
                   const std::vector<PayoutParam>& params) {
  PayoutRule rule = with_flags({{"payout_params", "--payout-param"}}, [&] {
    return PayoutRule::parse(
        expr, PayoutRule::preset(expr).empty() ? std::vector<PayoutParam>{} : params);
  });
  SimRule r{name, std::move(rule)};
  r.threshold = a.payout_threshold > 0 ? a.payout_threshold : r.rule.default_threshold();
  return r;
}

std::vector<SimRule> parse_rules(const SimulateArgs& a) {
  std::vector<PayoutParam> params;
  for (const std::string& p : a.payout_params) params.push_back(parse_payout_param(p));
  std::vector<SimRule> rules;
  for (const std::string& text : a.rules) {
    const std::size_t eq = text.find('=');
    std::string name = eq == std::string::npos ? text : text.substr(0, eq);
    std::string expr = eq == std::string::npos ? text : text.substr(eq + 1);
    if (eq == std::string::npos && PayoutRule::preset(text).empty()) {
      throw InputError("--rule '" + text + "': write NAME=EXPR, or a preset's name (" +
                       payout_preset_list() + ")");
    }
    if (!valid_rule_name(name)) {
      throw InputError("--rule '" + text +
                       "': the name must be 1-64 letters, digits, '_', '-' or '.'");
    }
    for (const SimRule& r : rules) {
      if (r.name == name) throw InputError("--rule: the name '" + name + "' is given twice");
    }
    rules.push_back(parse_rule(a, name, expr, params));
  }
  return rules;
}

std::string fingerprint_of(const SimulateArgs& a, const StoreReader& store,
                           const SimulationOptions& o, Backend backend) {
  std::ostringstream f;
  f << "backscore " << kVersion << " simulate\nstore " << fs::absolute(store.path()).string() << " "
    << store_file_stamp(store.path()) << "\ntarget " << o.target << " benchmark " << o.benchmark
    << "\neras " << o.first_era << " " << o.end_era << "\nlag " << o.resolve_lag << " flows "
    << a.flows;
  for (const SimRule& r : o.rules) {
    f << "\nrule " << r.name << " = " << r.rule.text() << " threshold " << r.threshold;
  }
  if (o.observed_payout) {
    f << "\nobserved payout " << o.observed_payout->rule.text() << " threshold "
      << o.observed_payout->threshold;
  }
  if (o.plan) f << "\n" << o.plan->fingerprint();
  // CPU and GPU agree to ~1e-12, not bit for bit: a journal continues only on the backend (and
  // the GPU options) that began it, as run's does.
  f << "\nbackend " << (backend == Backend::cuda ? "cuda" : "cpu");
  if (backend == Backend::cuda) {
    f << " " << describe_cuda_device(a.device) << " gpu-memory " << a.gpu_memory_mib
      << " gpu-streams " << a.gpu_streams;
  }
  return f.str();
}

// Writes the simulation file and the CSV tables from the journal, each under a temporary name
// until all are complete; returns each rule's summary.
std::vector<SimRuleSummary> write_outputs(const SimulateArgs& a, const SimJournal& journal,
                                          const SimulationHeader& h,
                                          const std::vector<std::size_t>& eras,
                                          const SimulateHooks& hooks) {
  const std::size_t R = h.rules.size();
  std::unique_ptr<PendingFile> h5_file, eras_file, stakes_file;
  std::unique_ptr<SimulationFileWriter> writer;
  std::ofstream eras_csv, stakes_csv;
  if (!a.out_h5.empty()) {
    h5_file = std::make_unique<PendingFile>(a.out_h5);
    writer = std::make_unique<SimulationFileWriter>(h5_file->path(), h);
  }
  if (!a.csv_dir.empty()) {
    fs::create_directories(a.csv_dir);
    eras_file = std::make_unique<PendingFile>(fs::path(a.csv_dir) / "eras.csv");
    stakes_file = std::make_unique<PendingFile>(fs::path(a.csv_dir) / "stakes.csv");
    eras_csv.open(eras_file->path(), std::ios::binary);
    stakes_csv.open(stakes_file->path(), std::ios::binary);
    std::string head = "rule,era";
    for (std::string_view q : kSimEraQuantities) (head += ',') += q;
    eras_csv << head << ",store_mm_corr\n";
    stakes_csv << "rule,model,era,stake,payout\n";
  }
  std::size_t column = 0;
  std::string line;
  std::vector<SimRuleSummary> summary(R);
  auto quantity = [](const SimEra& e, std::size_t r, std::string_view name) {
    return e.quantities[r * kSimQuantityCount + sim_quantity_index(name)];
  };
  journal.read([&](const SimEra& e) {
    for (std::size_t r = 0; r < R; ++r) {
      SimRuleSummary& s = summary[r];
      const double mm = quantity(e, r, "mm_corr"), x = quantity(e, r, "mean_xcorr");
      if (std::isfinite(mm)) {
        s.mm_corr += mm;
        s.effective += quantity(e, r, "effective_models");
        ++s.eras;
        if (column >= eras.size() / 2) {  // the last E - floor(E/2) eras, as the report
          s.mm_corr_late += mm;
          ++s.late_eras;
        }
      }
      if (std::isfinite(x)) {
        s.xcorr += x;
        ++s.xcorr_eras;
      }
      s.paid += quantity(e, r, "paid");
      s.final_stake = quantity(e, r, "total_stake");
    }
    if (hooks.output_era) hooks.output_era(column, e);
    if (writer) {
      writer->write_era(column, e.models, e.stakes, e.payouts, e.quantities, e.store_mm_corr);
    }
    if (eras_file) {
      const std::string& era = h.eras[column];
      for (std::size_t r = 0; r < R; ++r) {
        line.clear();
        append_csv_field(line, h.rules[r]);
        line += ',';
        append_csv_field(line, era);
        for (std::size_t q = 0; q < kSimQuantityCount; ++q) {
          line += ',';
          append_csv_number(line, e.quantities[r * kSimQuantityCount + q]);
        }
        line += ',';
        append_csv_number(line, e.store_mm_corr);
        eras_csv << line << '\n';
        const std::size_t m = e.models.size();
        for (std::size_t j = 0; j < m; ++j) {
          line.clear();
          append_csv_field(line, h.rules[r]);
          line += ',';
          append_csv_field(line, h.models[static_cast<std::size_t>(e.models[j])]);
          line += ',';
          append_csv_field(line, era);
          line += ',';
          append_csv_number(line, e.stakes[r * m + j]);
          line += ',';
          append_csv_number(line, e.payouts[r * m + j]);
          stakes_csv << line << '\n';
        }
      }
    }
    ++column;
  });
  if (column != eras.size()) throw std::logic_error("simulate: the journal misses eras");
  if (writer) writer->close();
  for (std::ofstream* f : {&eras_csv, &stakes_csv}) {
    if (f->is_open()) {
      f->close();
      if (!*f) throw InputError("cannot write the CSV tables in " + a.csv_dir);
    }
  }
  for (PendingFile* p : {h5_file.get(), eras_file.get(), stakes_file.get()}) {
    if (p != nullptr) p->commit();
  }
  return summary;
}

void print_summary(const SimulationHeader& h, const std::vector<SimRuleSummary>& summary) {
  auto mean = [](double sum, std::size_t n) { return n > 0 ? sum / static_cast<double>(n) : NAN; };
  std::printf("%-16s %12s %16s %16s %11s %14s %14s\n", "rule", "mm_corr", "mm_corr_2nd_half",
              "effective_models", "mean_xcorr", "final_stake", "paid");
  for (std::size_t r = 0; r < summary.size(); ++r) {
    const SimRuleSummary& s = summary[r];
    std::printf("%-16s %12.5f %16.5f %16.2f %11.4f %14.1f %14.1f\n", h.rules[r].c_str(),
                mean(s.mm_corr, s.eras), mean(s.mm_corr_late, s.late_eras),
                mean(s.effective, s.eras), mean(s.xcorr, s.xcorr_eras), s.final_stake, s.paid);
  }
}

}  // namespace

CLI::Validator resolve_lag_bounds() { return whole_number(1, 520); }

CLI::Validator simulate_threads_bounds() {
  return whole_number(1, static_cast<std::uint64_t>(max_threads()), max_threads_why());
}

CLI::Validator flows_choices() { return CLI::IsMember({"none", "observed"}); }

void check_value(const std::string& flag, const CLI::Validator& check, const std::string& value) {
  std::string text = value;
  const std::string why = check(text);
  if (!why.empty()) throw InputError(flag + ": " + why);  // CLI11's ValidationError's line
}

fs::path simulate_journal_path(const SimulateArgs& a) {
  if (!a.out_h5.empty()) return fs::path(a.out_h5).concat(".partial");
  if (!a.csv_dir.empty()) return fs::path(a.csv_dir).concat(".partial");
  return fs::temp_directory_path() /
         ("backscore-simulate-" + std::to_string(::getpid()) + ".partial");
}

SimulateResult simulate_journaled(const SimulateArgs& a, const RunSeams& seams,
                                  const SimulateHooks& hooks) {
  const bool beside_output = !a.out_h5.empty() || !a.csv_dir.empty();
  if (a.resume && !beside_output) {
    throw InputError("--resume needs --out or --csv (the simulation's journal sits beside it)");
  }
  const fs::path journal_path = simulate_journal_path(a);
  std::vector<NamedPath> inputs{{"the store", a.store}};
  for (const std::string& f : a.formula_files) inputs.push_back({"--formula-file", f});
  refuse_aliased_outputs(inputs,
                         {{"--out", a.out_h5},
                          {"--csv", a.csv_dir},
                          {"the journal", journal_path},
                          {"the journal's checkpoint", SimJournal::checkpoint_path(journal_path)}});
  if (!a.out_h5.empty()) check_output_file({"--out", a.out_h5});
  if (!a.csv_dir.empty()) check_output_dir({"--csv", a.csv_dir});

  StoreReader store(a.store);
  const StoreSchema& schema = store.schema();
  SimulationOptions o;
  o.rules = parse_rules(a);
  if (!a.observed_payout.empty()) {
    std::vector<PayoutParam> params;
    for (const std::string& p : a.payout_params) params.push_back(parse_payout_param(p));
    o.observed_payout = parse_rule(a, "observed-payout", a.observed_payout, params);
  }
  const TargetChoice chosen = choose_target(schema, a.target, a.benchmark);
  o.target = chosen.target;
  o.benchmark = chosen.benchmark;
  if (!a.start.empty()) {
    const auto e = std::find(store.eras().begin(), store.eras().end(), a.start);
    if (e == store.eras().end()) {
      throw InputError("--start: the store has no era '" + a.start + "'");
    }
    o.first_era = static_cast<std::size_t>(e - store.eras().begin());
  }
  o.end_era = store.eras().size();
  o.resolve_lag = a.resolve_lag;
  o.flows = a.flows == "observed" ? SimFlows::observed : SimFlows::none;
  o.threads = a.threads;
  o.progress = !a.quiet;
  const BackendChoice backend = choose_backend(a.backend, a.device, kCudaSimulateProven);
  o.before_column = seams.before_column;
  // Definitions the rules name (--formula, --formula-file), compiled against the store with the
  // meta-model simulate rebuilds.
  StoreSchema with_meta = schema;
  with_meta.has_meta_model = true;
  FormulaArgs formula_args;
  formula_args.definitions = a.definitions;
  formula_args.files = a.formula_files;
  const std::vector<lang::Definition> defs = read_formula_definitions(formula_args);
  if (!defs.empty()) {
    std::vector<std::string> outputs;
    for (const SimRule& r : o.rules) {
      for (const std::string& name : r.rule.names()) {
        const bool defined = std::any_of(defs.begin(), defs.end(),
                                         [&](const lang::Definition& d) { return d.name == name; });
        if (defined && std::find(outputs.begin(), outputs.end(), name) == outputs.end()) {
          outputs.push_back(name);
        }
      }
    }
    const lang::Binding binding{&with_meta, o.target, o.benchmark};
    o.plan = with_flags(
        {{"definitions", "--formula"}, {"files", "--formula-file"}, {"formulas", "--rule"}},
        [&] { return std::make_shared<const lang::Plan>(lang::compile(defs, outputs, binding)); });
  }
  Simulator check(schema, o);  // the rules against the store, before any era is read
  // The device after the check: simulate_eras's Simulator builds it (its scorers' streams and
  // handles), once.
  if (backend.backend == Backend::cuda) {
    o.device = cuda_sim_device(a.device, a.gpu_memory_mib << 20, a.gpu_streams);
  }

  SimulateResult result;
  result.backend = backend.note;
  SimulationHeader& h = result.header;
  h.store = fs::absolute(store.path()).string();
  h.target = a.target;
  h.flows = a.flows;
  h.resolve_lag = static_cast<std::int64_t>(o.resolve_lag);
  for (const SimRule& r : o.rules) {
    h.rules.push_back(r.name);
    h.rule_texts.push_back(r.rule.text());
  }
  h.models = schema.models;
  std::vector<std::size_t> eras;
  for (std::size_t e = o.first_era; e < o.end_era; ++e) {
    eras.push_back(e);
    h.eras.push_back(store.eras()[e]);
  }

  SimState state = SimState::start(o.rules.size(), schema.models.size(), o.resolve_lag, o.first_era,
                                   o.observed_payout.has_value());
  SimJournal journal(journal_path, fingerprint_of(a, store, o, backend.backend), o.rules.size(),
                     a.resume, state);
  if (!a.quiet) {
    std::fprintf(
        stderr, "backscore simulate: %s, %zu rule(s), %zu eras, %zu models, lag %zu, flows %s%s\n",
        backend.note.c_str(), o.rules.size(), eras.size(), schema.models.size(), o.resolve_lag,
        a.flows.c_str(),
        a.resume ? (", resuming after " + std::to_string(journal.eras()) + " eras").c_str() : "");
  }
  const std::size_t resumed = journal.eras();
  std::size_t appended = 0;
  bool journal_failed = false;
  try {
    result.stats = simulate_eras(store, o, state, [&](const SimEra& e, const SimState& s) {
      journal_failed = true;
      journal.append(e, s);
      journal_failed = false;
      ++appended;
      if (seams.after_journaled_era) seams.after_journaled_era(appended);
      if (hooks.journaled) hooks.journaled(resumed + appended, eras.size());
    });
    result.summary = write_outputs(a, journal, h, eras, hooks);
  } catch (const SimulationInterrupted&) {
    // Stopped between eras, every journaled era whole: resumable, as a killed process is.
    if (!beside_output) journal.remove();
    throw;
  } catch (...) {
    // Bad input in an era or a bug: a --resume would meet it again, so nothing is kept. The
    // journal's or the outputs' own I/O (a full disk): kept for --resume (when one can find it).
    const CapturedError e = capture_error(std::current_exception());
    if (!beside_output ||
        (!journal_failed && e.kind != ErrorKind::hdf5 && e.kind != ErrorKind::out_of_memory &&
         !(e.kind == ErrorKind::input && e.what.rfind("cannot write", 0) == 0))) {
      journal.remove();
    }
    throw;
  }
  journal.remove();
  return result;
}

void print_simulate_report(const SimulateArgs& a, const SimulateResult& result) {
  // The summary: each rule's meta-model and stakes, from the outputs' own numbers.
  print_summary(result.header, result.summary);
  const SimStats& stats = result.stats;
  std::printf("backscore simulate: %zu eras (%zu this run, %.2f s), %zu model-eras, %zu skipped",
              result.header.eras.size(), stats.eras, stats.seconds, stats.model_eras,
              stats.skipped);
  if (stats.device_model_eras > 0) {
    std::printf(", %zu on the GPU (peak %.1f MiB, batches of up to %zu models)",
                stats.device_model_eras,
                static_cast<double>(stats.device_peak_bytes) / (1024.0 * 1024.0),
                stats.device_batch_models);
  }
  std::printf("\n");
  if (a.timings) {
    std::fprintf(stderr,
                 "backscore simulate: timings (wall s): read %.3f, waiting for stages built ahead "
                 "%.3f, ranks and shared formulas %.3f, meta-models %.3f, rules' era stages %.3f, "
                 "rules' scores %.3f, journal %.3f\n",
                 stats.read, stats.wait_stages, stats.shared, stats.meta_models, stats.rule_stages,
                 stats.rule_scores, stats.after_era);
  }
}

}  // namespace backscore::cli
