// Entry point. All state, CUDA state included, is created inside run_cli, never globally.
#include "host/cli/commands.hpp"

int main(int argc, char** argv) { return backscore::cli::run_cli(argc, argv); }
