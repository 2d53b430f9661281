// `backscore import-numerai`: Numerai's parquet files into a store. Reading parquet needs Arrow,
// which Debian ships for Python (pyarrow from PyPI) but not for C++, so this subcommand hands the
// whole command line over to the Python package (python/backscore/numerai.py), which reads the
// files with pyarrow and writes the store through the same C++ StoreWriter (the binding). The
// process is replaced (exec), so the exit status and the one-line errors are the Python side's,
// which keeps the CLI's contract. docs/ARCHITECTURE.md ("The Python module") says why.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "host/cli/commands.hpp"

namespace backscore::cli {
namespace {

namespace fs = std::filesystem;

#ifdef BACKSCORE_PYTHON_INTERPRETER
constexpr const char* kDefaultPython = BACKSCORE_PYTHON_INTERPRETER;
#else
constexpr const char* kDefaultPython = "";
#endif

// Run by the interpreter with the command's arguments: a missing package or dependency is one
// line and exit 2, like every other bad setup.
constexpr const char* kBootstrap =
    "import sys\n"
    "try:\n"
    "    from backscore.numerai import main\n"
    "except ImportError as e:\n"
    "    print('backscore: error: import-numerai: cannot import the Python package backscore "
    "with ' + sys.executable + ': ' + str(e) + ' (pip install . in the source tree, or give "
    "--python with an interpreter that has it)', file=sys.stderr)\n"
    "    sys.exit(2)\n"
    "sys.exit(main(sys.argv[1:]))\n";

[[noreturn]] void hand_over(const std::string& python, const std::vector<std::string>& args) {
  const std::string interpreter = python.empty() ? kDefaultPython : python;
  if (interpreter.empty()) {
    throw InputError(
        "import-numerai: this backscore was built without its Python module (BACKSCORE_PYTHON "
        "off: install python3-dev and pybind11-dev and rebuild), or give --python with an "
        "interpreter that has the package backscore (pip install .)");
  }
  // In the build tree the package sits beside the executable (build/python/backscore/).
  std::error_code ec;
  const fs::path package = fs::read_symlink("/proc/self/exe", ec).parent_path() / "python";
  if (!ec && fs::exists(package / "backscore" / "__init__.py", ec)) {
    const char* old = std::getenv("PYTHONPATH");
    const std::string path = package.string() + (old && *old ? ":" + std::string(old) : "");
    ::setenv("PYTHONPATH", path.c_str(), 1);
  }
  std::vector<std::string> words{interpreter, "-c", kBootstrap};
  words.insert(words.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  ::execvp(argv[0], argv.data());
  throw InputError("--python: cannot run " + interpreter + ": " + std::strerror(errno));
}

}  // namespace

void add_import_numerai(CLI::App& app) {
  auto python = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "import-numerai",
      "Build a store from Numerai's parquet files (run by the Python package: "
      "backscore import-numerai --help lists its options).");
  // Everything but --python goes to the Python side, --help included (its options live there).
  cmd->set_help_flag();
  cmd->prefix_command();
  cmd->add_option("--python", *python,
                  "The Python interpreter to run it with (it needs the package backscore, "
                  "pyarrow and pandas; default: the one backscore was built for), given first, "
                  "e.g. --python ~/venv/bin/python");
  cmd->callback([cmd, python] { hand_over(*python, cmd->remaining()); });
}

}  // namespace backscore::cli
