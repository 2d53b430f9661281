#!/usr/bin/env bash
# Runs on a GPU machine, from the repository root, with gpu-carry/ (scripts/gpu-carry.sh) beside
# it: the GPU tests, compute-sanitizer memcheck and racecheck on them, and the GPU benchmark.
# Logs go to ${OUT:-gpu-results}/. Steps: all (default), tests, sanitizer, bench. The sanitizer
# step takes SANITIZER_TOOLS (default memcheck racecheck synccheck initcheck) and SANITIZER_FILTER
# (a gtest filter, default CudaEraScorer.*).
#   scripts/gpu-on-device.sh [all|tests|sanitizer|bench]
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

if [[ $step == all || $step == tests ]]; then
  echo "== GPU tests"
  "$bin/backscore_gpu_tests" --gtest_output=xml:"$out/gpu_tests.xml" 2>&1 | tee "$out/gpu_tests.txt"
  ((${PIPESTATUS[0]} == 0)) || status=1
fi
if [[ $step == all || $step == sanitizer ]]; then
  # The scorer and device factorizer tests (the run tests fork the CLI; the sanitizer follows
  # them too but slowly).
  # SANITIZER_TOOLS / SANITIZER_FILTER narrow it when a tool is too slow for one device call.
  for tool in ${SANITIZER_TOOLS:-memcheck racecheck synccheck initcheck}; do
    echo "== compute-sanitizer --tool $tool"
    compute-sanitizer --tool "$tool" --error-exitcode 3 "$bin/backscore_gpu_tests" \
      --gtest_filter="${SANITIZER_FILTER:-CudaEraScorer.*:FncFactorizer.*}" 2>&1 | tail -40 |
      tee "$out/sanitizer_$tool.txt"
    ((${PIPESTATUS[0]} == 0)) || status=1
  done
fi
if [[ $step == all || $step == bench ]]; then
  echo "== benchmark"
  BIN_DIR=$bin bench/gpu_bench.sh 2>&1 | tee "$out/bench.txt"
  ((${PIPESTATUS[0]} == 0)) || status=1
fi
exit $status
