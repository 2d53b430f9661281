#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with gpu-carry/ (scripts/gpu-carry.sh) beside
# it: the GPU tests, compute-sanitizer (memcheck on the scorer, factorizer and simulate tests,
# racecheck, synccheck and initcheck on a chosen few), the GPU benchmark and simulate's, in one
# device command of at most ~9 minutes (each step has its own time limit: 150 + 100 + 3 x 35 +
# 100 + 60 s). Every log is written to ${OUT:-gpu-results}/ as the step runs, so a command cut
# short still returns what was done. Steps: all (default), tests, sanitizer, bench, simbench.
# SANITIZER_TOOLS (default memcheck racecheck synccheck initcheck) and SANITIZER_FILTER
# (memcheck's gtest filter) narrow the sanitizer step.
#   scripts/gpu-on-device.sh [all|tests|sanitizer|bench|simbench]
set -uo pipefail
cd "$(dirname "$0")/.."
step=${1:-all}
out=${OUT:-gpu-results}
mkdir -p "$out"
bin=$PWD/gpu-carry/bin
export LD_LIBRARY_PATH=$PWD/gpu-carry/lib:/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
export BACKSCORE_BINARY=$bin/backscore BACKSCORE_SEAM_RUNNER=$bin/backscore_seam_runner
export PATH=/usr/local/cuda/bin:$PATH
status=0
{
  echo "commit built: $(cat gpu-carry/COMMIT)"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nvcc --version | tail -1
} | tee "$out/device.txt"

# A step's time limit in seconds; a step past it is stopped and the run goes on (status 1).
limited() {
  local seconds=$1
  shift
  timeout --kill-after=10 "$seconds" "$@"
  local rc=$?
  ((rc == 124 || rc == 137)) && echo "(stopped after ${seconds} s)"
  return $rc
}

if [[ $step == all || $step == tests ]]; then
  echo "== GPU tests"
  limited 150 "$bin/backscore_gpu_tests" --gtest_output=xml:"$out/gpu_tests.xml" \
    >"$out/gpu_tests.txt" 2>&1 || status=1
  tail -30 "$out/gpu_tests.txt"
fi
if [[ $step == all || $step == sanitizer ]]; then
  # memcheck on the scorer's small tests and the factorizer; the other tools (slower, and about
  # races and synchronization) on a few tests that cover every kernel and stream path.
  few='CudaEraScorer.TinyEraOf7:CudaEraScorer.Era500AllFormulas:CudaEraScorer.Era9000SegmentedSort:CudaEraScorer.StreamCountsAgreeBitForBit:FncFactorizer.KeepsTheCpusColumns:SimBackend.MetaModelSumsAndXcorrEqualTheCpus'
  for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck initcheck}; do
    filter=$few
    limit=35
    if [[ $tool == memcheck ]]; then
      filter=${SANITIZER_FILTER:-CudaEraScorer.*:FncFactorizer.*:SimBackend.*}
      limit=100
    fi
    echo "== compute-sanitizer --tool $tool ($filter)"
    limited "$limit" compute-sanitizer --tool "$tool" --error-exitcode 3 \
      "$bin/backscore_gpu_tests" --gtest_filter="$filter" >"$out/sanitizer_$tool.txt" 2>&1 ||
      status=1
    tail -15 "$out/sanitizer_$tool.txt"
  done
fi
if [[ $step == all || $step == bench ]]; then
  echo "== benchmark"
  export BIN_DIR=$bin
  limited 100 bench/gpu_bench.sh >"$out/bench.txt" 2>&1 || status=1
  tail -30 "$out/bench.txt"
fi
if [[ $step == all || $step == simbench ]]; then
  echo "== simulate benchmark"
  export BIN_DIR=$bin
  limited 60 bench/gpu_sim_bench.sh 1 >"$out/sim_bench.txt" 2>&1 || status=1
  tail -10 "$out/sim_bench.txt"
fi
exit $status
