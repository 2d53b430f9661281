// backscore-mpi: `backscore run` with its eras split among the ranks of an MPI job
// (host/mpi/sharded_run.hpp). A separate executable, built when CMake finds MPI, so the backscore
// executable neither needs an MPI library installed nor pays MPI's start-up
// (docs/ARCHITECTURE.md, "Scaling past one machine").
//   mpirun -q -n RANKS backscore-mpi run STORE [the options of backscore run]
#include "host/mpi/main.hpp"
#include "io/hdf5.hpp"

int main(int argc, char** argv) {
  // HDF5 prints nothing, ever: errors are backscore's one line (as in host/cli/main.cpp).
  backscore::h5::silence_errors();
  return backscore::mpi::main_of_rank(argc, argv, {});
}
