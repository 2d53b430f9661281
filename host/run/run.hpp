// The era loop: the BatchReader's I/O thread streams eras and batches of model columns out of the
// store while the previous batch is scored by the run's backend (backend.hpp): the CPU's
// ColumnScorer on OpenMP threads, or the GPU for the built-ins of every column that has all the
// era's ids and the CPU for the rest. Memory is bounded by a few prediction batches plus one era's
// per-stock vectors (and on the device by the GPU memory cap), never by the history.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "host/era/formulas.hpp"
#include "host/lang/plan.hpp"
#include "host/run/journal.hpp"
#include "io/store.hpp"

namespace backscore {

enum class Backend {
  cpu,   // every model on the CPU (OpenMP)
  cuda,  // built-ins of the models that submitted every id on the GPU (host/run/cuda/); models
         // with missing ids and defined formulas on the CPU, as with `cpu`
};

inline constexpr int kMaxGpuStreams = 8;  // cuda::kMaxStreams (asserted in cuda/factory.cpp)

// Test seams: what a test can inject into a run (the executable never sets them).
struct RunSeams {
  // Called by the scoring threads before each selected column (era index, column of the era); a
  // test throws here to check that an error inside the parallel loop ends the run cleanly.
  std::function<void(std::size_t era, std::size_t column)> before_column;
  // Called by the CLI after each era is journaled, with the count so far (a test kills the
  // process here to check --resume).
  std::function<void(std::size_t eras_journaled)> after_journaled_era;
  // Called where an era's shared stages are built (a prefetch thread, or the scoring thread),
  // with the era's store index: a test throws here to check such an error ends the run cleanly.
  std::function<void(std::size_t era)> before_stages;
};

struct RunOptions {
  // The output columns, in order: built-ins (scored by score_model) and defined formulas (scored
  // by `plan`, which must then hold a formula of each defined name, bound to the store).
  std::vector<FormulaSpec> formulas;
  std::shared_ptr<const lang::Plan> plan;
  std::size_t target = 0;     // index into schema.targets
  std::size_t benchmark = 0;  // index into schema.benchmarks (bmc)
  std::size_t first_era = 0;  // eras [first_era, end_era) of the store
  std::size_t end_era = std::numeric_limits<std::size_t>::max();
  std::vector<char> model_selected;  // empty: every model; else one flag per schema model
  int threads = 0;                   // 0: OpenMP's default
  std::size_t batch_models = 256;    // prediction columns per read
  int read_threads = 1;              // threads reading a batch's chunks from the store at once
  bool progress = false;             // eras done, predictions/s and ETA on stderr
  Backend backend = Backend::cpu;
  int device = 0;              // cuda: the device index
  std::size_t gpu_memory = 0;  // cuda: device memory cap in bytes (0 = 90% of what is free)
  int gpu_streams = 2;         // cuda: streams (lanes) of the scorer, 1..kMaxGpuStreams
  // Eras whose shared stages (targets, meta-model ranks, the factorization of the features) are
  // built ahead on worker threads while earlier eras are scored (StagePrefetch); 0: each era's
  // are built on the scoring thread when it is reached; -1: min(threads, 4), 0 with one thread.
  int prefetch_eras = -1;
  RunSeams seams;
};

// Where a run's time went (run --timings). Phases of the scoring thread are wall seconds (each
// phase keeps all the OpenMP threads busy); the others are seconds of their own thread(s).
struct StageSeconds {
  double read = 0;            // I/O thread: HDF5 reads of era headers and prediction batches
  double era_stages = 0;      // the eras' shared stages (prefetch workers, or inline)
  double factorization = 0;   //   of which least-squares factorizations (fnc's, mmc2's)
  double wait_batches = 0;    // scoring thread: waiting for the reader's next batch
  double wait_stages = 0;     // scoring thread: waiting for (or building) an era's stages
  double fnc_inputs = 0;      // wall: ranks of a batch's complete columns for fnc
  double fnc_products = 0;    // wall: their residuals by matrix products (BLAS)
  double subset_stages = 0;   // wall: the own-subset stages of models with missing ids
  double subset_products = 0; // wall: their fnc residuals by matrix products (BLAS)
  double columns = 0;         // wall: scoring the columns (every formula, subset models)
  double ranks = 0;           // thread-seconds ranking predictions (within the two above)
};

struct RunStats {
  std::size_t eras = 0;           // eras scored in this run (not resumed ones)
  std::size_t model_eras = 0;     // submitted (model, era) pairs scored or skipped
  std::size_t skipped = 0;        // model-eras missing more than 20% of the era's ids
  std::size_t subset_models = 0;  // model-eras scored on their own subset of ids
  // Of those, the ones whose fnc projector was factorized afresh on the subset (not derived from
  // the era's factorization: LeastSquaresProjector::derive_subset judged it unsafe).
  std::size_t fnc_fallbacks = 0;
  std::size_t predictions = 0;  // prediction values read
  // Per output formula: scored model-eras whose score is undefined (NaN). Counted for defined
  // formulas only (division by zero, a reduction over too few values...); 0 for built-ins.
  std::vector<std::size_t> undefined;
  double seconds = 0;
  StageSeconds times;
  std::size_t gpu_model_eras = 0;    // cuda: model-eras whose built-ins were scored on the GPU
  std::size_t gpu_peak_bytes = 0;    // cuda: the most device memory held at once
  std::size_t gpu_batch_models = 0;  // cuda: the largest device batch (models) of the run
  std::size_t gpu_streams = 0;       // cuda: the most streams one scorer call used
};

// Scores eras in order, skipping those in `done`; calls on_era on the calling thread for each.
// The store is read on the reader's I/O thread only, while run_eras runs. Throws InputError for
// bad input in an era and for a CUDA run on a build without CUDA, ResourceLimitError when an era
// does not fit the GPU memory cap; an error on any thread ends the run with the reader stopped.
RunStats run_eras(StoreReader& store, const RunOptions& options,
                  std::span<const std::uint64_t> done,
                  const std::function<void(const EraScores&)>& on_era);

}  // namespace backscore
