#!/usr/bin/env bash
# Fuzzes the CSV reader/writer, the formula language and the store reader for longer than CI's
# few seconds (tests/fuzz/README.md: the targets, the seed corpora, what they found).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     # default: 300 seconds each of csv formula store
#
# Builds build-fuzz (clang's libFuzzer with AddressSanitizer + UndefinedBehaviorSanitizer, CUDA
# off), then runs each target in turn on one core. The corpus each grows is kept across runs in
# build-fuzz/fuzz-corpus/<target> (the repository's seeds, tests/fuzz/corpus/<target>, are read,
# never written); a crashing, leaking or slow input is saved as build-fuzz/fuzz-<target>-crash-*
# (or -leak-, -timeout-, -oom-) and the script exits non-zero. Reproduce one with
#   build-fuzz/tests/fuzz/fuzz_<target> build-fuzz/fuzz-<target>-crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-300}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(csv formula store)
scripts/install-deps.sh
CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g" "-DCMAKE_C_FLAGS_DEBUG=-O1 -g" -DBACKSCORE_CUDA=OFF \
  -DBACKSCORE_TESTS=OFF -DBACKSCORE_FUZZ=ON >/dev/null
cmake --build build-fuzz --target backscore_fuzzers
# HDF5's own allocations for a damaged file are not leaks of ours (tests/lsan.supp).
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp
status=0
for t in "${targets[@]}"; do
  corpus=build-fuzz/fuzz-corpus/$t
  mkdir -p "$corpus"
  echo "== fuzz_$t: $seconds s" >&2
  build-fuzz/tests/fuzz/fuzz_"$t" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
    -print_final_stats=1 -artifact_prefix=build-fuzz/fuzz-"$t"- "$corpus" tests/fuzz/corpus/"$t" ||
    status=$?
done
exit "$status"
