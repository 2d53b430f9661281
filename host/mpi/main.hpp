// backscore-mpi's command line, callable with test seams (tests/seam_runner.cpp builds an MPI
// variant that kills rank 0 after N journaled eras).
#pragma once

#include "host/run/run.hpp"

namespace backscore::mpi {

// MPI_Init, parse, run, MPI_Finalize; the process's exit status (the same on every rank: 0, 2
// for bad input or usage with one line on rank 0's stderr, 1 for internal errors).
int main_of_rank(int argc, char** argv, const RunSeams& seams);

}  // namespace backscore::mpi
