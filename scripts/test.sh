#!/usr/bin/env bash
# The whole test suite: install dependencies, build, run every test (GPU tests are skipped, and
# counted, without a device; the numerai-tools oracle installs its pinned version from PyPI).
# Then the same tests again under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan,
# CUDA off), and a short run of each fuzz target (build-fuzz: clang's libFuzzer, with the same
# sanitizers). Any sanitizer report, in a test or in a process a test starts, fails the script.
# BACKSCORE_SANITIZERS=0 scripts/test.sh runs the first part only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 1200
[ "${BACKSCORE_SANITIZERS:-1}" = 0 ] && exit 0

# -O1: a quick compile and sanitized code not much slower than -O3; -g for the reports' lines.
sanitized=(-G Ninja -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g"
           "-DCMAKE_C_FLAGS_DEBUG=-O1 -g" -DBACKSCORE_CUDA=OFF)
cmake -S . -B build-asan "${sanitized[@]}" -DBACKSCORE_SANITIZE=ON >/dev/null
cmake --build build-asan
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz "${sanitized[@]}" -DBACKSCORE_TESTS=OFF \
  -DBACKSCORE_FUZZ=ON >/dev/null
cmake --build build-fuzz --target backscore_fuzzers

# Every sanitizer report goes to a file under $reports (the tests start the backscore binary as a
# child process and some check only its exit status): the run fails if there is any.
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
export ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
# HDF5's own allocations for a damaged store are not leaks of ours (tests/lsan.supp says why);
# print_suppressions=0: a process that only used the suppression writes no report file.
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
# Not run under the sanitizers, each for its reason:
# - oracle_numerai_tools: it does run under them (it passed, 2026-11-30: 141 s, 88 CPU-s, most of
#   it the venv's pip install and numerai-tools in Python, which are not instrumented); left out
#   only for CI's 20-minute budget. The backscore binary's end-to-end runs are covered under the
#   sanitizers by the CLI tests (run, import, compare, audit, report). Drop it from the list to
#   run it.
# - ImportStream.PeakMemoryDoesNotGrowWithTheEras, Synth.MemoryDoesNotGrowWithEras,
#   Store.StreamingMemoryDoesNotGrowWithEras, Simulation.MemoryDoesNotGrowWithEras: they bound the growth of a child's peak RSS with the
#   number of eras, and ASan's quarantine keeps freed memory (up to 256 MB) out of reuse, so under
#   ASan the peak grows with the bytes freed (import: 84 MB for 2 eras, 138 MB for 20; synth: 92 MB
#   for 4, 186 MB for 40). They run, unsanitized, in the first part (with CUDA, whose libraries
#   make the peak noisier: their allowances are a quarter of what holding the history would add).
excluded='^(oracle_numerai_tools|ImportStream\.PeakMemoryDoesNotGrowWithTheEras|Synth\.MemoryDoesNotGrowWithEras|Store\.StreamingMemoryDoesNotGrowWithEras|Simulation\.MemoryDoesNotGrowWithEras)$'
status=0
ctest --test-dir build-asan --output-on-failure -j2 --timeout 1200 -E "$excluded" || status=$?
# The fuzzers print their own reports (and leave the input under build-fuzz/tests/fuzz).
ASAN_OPTIONS= UBSAN_OPTIONS= ctest --test-dir build-fuzz -L fuzz --output-on-failure -j2 ||
  status=$?
if compgen -G "$reports/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  cat "$reports"/* >&2
  status=1
fi
exit "$status"
