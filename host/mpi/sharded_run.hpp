// `backscore-mpi run`: the run of cmd_run.cpp with its eras split among the ranks of an MPI job
// (docs/ARCHITECTURE.md, "Scaling past one machine"). Every rank prepares the same job from the
// same command line and scores a contiguous range of the eras left to score, balanced by the
// cost model of host/run/era_shards.hpp; rank 0 also journals every era's scores as they arrive
// and, at the end, writes the outputs from the journal in store order, so the scores file and
// CSV are the bytes one process writes, for any number of ranks. Errors: the first rank to fail
// stops the others at their next era, and rank 0 prints that rank's one line (exit 2, or 1 for
// an internal error); the journal is kept or removed as in one process.
#pragma once

#include "host/cli/run_job.hpp"
#include "host/mpi/world.hpp"

namespace backscore::mpi {

// Runs the job on this rank; returns the rank's exit status (the same on every rank).
int run_sharded(const World& world, cli::RunArgs args, const RunSeams& seams);

}  // namespace backscore::mpi
