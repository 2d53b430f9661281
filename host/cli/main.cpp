// Entry point. All state, CUDA state included, is created inside run_cli, never globally.
#include "host/cli/commands.hpp"
#include "io/hdf5.hpp"

int main(int argc, char** argv) {
  // HDF5 prints nothing, ever, on the main thread: errors are backscore's one line (exit 2), and
  // HDF5's library-close handler runs on this thread at exit (io/hdf5.hpp, silence_errors).
  backscore::h5::silence_errors();
  return backscore::cli::run_cli(argc, argv);
}
