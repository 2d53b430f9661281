// Era-sharded runs (backscore-mpi, host/mpi/): how a run's eras are split among ranks, balanced
// by a cost model of the work, and how each rank's RunStats travel to the rank that reports
// them. Nothing here knows MPI: the split and the stats' bytes are plain functions, tested alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "host/run/run.hpp"

namespace backscore {

// What the work of an era depends on, read from its datasets' dimensions (StoreReader::n_stocks,
// n_submitted) without reading the data.
struct EraShape {
  std::size_t stocks = 0;
  std::size_t submitted = 0;  // prediction columns read (selected or not: all are read)
};

// The work of an era, in units of one floating-point operation of the era's LAPACK QR:
//   stocks x submitted x kPerPrediction            read, rank and score every column
// + 2 x stocks x features^2                        the era's QR of [features, 1] (fnc, or a
//                                                  defined formula neutralizing to features)
// + kProducts x stocks x features x submitted      every column's residual (4 flops of GEMM each,
//                                                  which runs ~2.7x the QR's rate)
// Only the ratios matter: eras are compared with each other, never with a clock. Calibrated with
// `run --timings --threads 1` on the 2-core machine (bench/RESULTS.md, "Era-sharded runs").
struct EraCostModel {
  static constexpr double kPerPrediction = 750;
  static constexpr double kProducts = 1.5;
  std::size_t features = 0;  // 0 when nothing in the run neutralizes to the features

  double cost(const EraShape& era) const;
};

// Splits eras 0..costs.size()-1 (positions in the run's era list, in store order) into `parts`
// contiguous ranges, one per rank, so that the most expensive range is as cheap as any contiguous
// split allows (the bottleneck is found by bisection, each range filled greedily up to it).
// Contiguous ranges keep each rank's reads sequential in the store. Returns parts + 1 boundaries:
// rank r takes positions [bounds[r], bounds[r + 1]); trailing ranks may get none (more ranks than
// eras). Deterministic: the same costs and parts give the same split.
std::vector<std::size_t> split_eras(std::span<const double> costs, std::size_t parts);

// Adds a rank's stats into the job's: counts, predictions and thread-seconds add up, device
// figures take the maximum, the wall seconds are the longest rank's.
void merge_run_stats(RunStats& into, const RunStats& from);

// RunStats as bytes (native byte order: the ranks of a job run one build on like machines) and
// back; decode throws std::invalid_argument for bytes of the wrong length.
std::vector<unsigned char> encode_run_stats(const RunStats& stats);
RunStats decode_run_stats(std::span<const unsigned char> bytes);

}  // namespace backscore
