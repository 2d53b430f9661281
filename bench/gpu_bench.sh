#!/usr/bin/env bash
# GPU benchmark (issue 4): kernel-only predictions/s of CudaEraScorer, the pinned host-to-device
# copy bandwidth in predictions/s (4 bytes each), and end to end (`backscore run --backend cuda`,
# when the binary has it) on a synthetic store, with the CPU backend on the same store.
#   bench/gpu_bench.sh [BUILD_DIR=build-cuda] [STOCKS=5000] [MODELS=2000] [ERAS=100] [FEATURES=20]
# Needs a CUDA device. Prints the figures; record them in bench/RESULTS.md with date, GPU, command.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-cuda}; STOCKS=${2:-5000}; MODELS=${3:-2000}; ERAS=${4:-100}; FEATURES=${5:-20}

cmake -S . -B "$BUILD" -G Ninja -DBACKSCORE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DBACKSCORE_GPU_BENCH=ON >/dev/null
ninja -C "$BUILD" backscore backscore_gpu_bench

echo "== kernel-only and copy bandwidth (synthetic era in memory, 10 repetitions)"
"$BUILD/backscore_gpu_bench" "$STOCKS" "$MODELS" 10 "$FEATURES" all | tee /tmp/gpu_bench_kernel.txt

STORE=${STORE:-/tmp/gpu_bench_store.h5}
if [[ ! -f "$STORE" ]]; then
  echo "== synthesizing $STORE"
  "$BUILD/backscore" synth --models "$MODELS" --eras "$ERAS" --stocks "$STOCKS" \
    --features "$FEATURES" --out "$STORE" --quiet
fi
FORMULAS=corr_v1,corr,mmc,mmc2,mmc2_burnflip,fnc
run_backend() {
  local backend=$1 out=/tmp/gpu_bench_$1.h5
  rm -f "$out"
  local t0 t1
  t0=$(date +%s.%N)
  "$BUILD/backscore" run "$STORE" --formulas "$FORMULAS" --backend "$backend" --out "$out" >&2
  t1=$(date +%s.%N)
  python3 -c "import sys; t=$t1-$t0; p=$STOCKS*$MODELS*$ERAS; print(f'$backend end-to-end: {t:.2f} s, {p/t:.3g} predictions/s')"
}
if "$BUILD/backscore" run --help 2>&1 | grep -q -- "--backend"; then
  echo "== end to end on $STORE"
  run_backend cuda | tee /tmp/gpu_bench_e2e.txt
  run_backend cpu
  copy=$(sed -n 's/^host-to-device pinned copy: \([0-9.e+]*\) predictions.*/\1/p' /tmp/gpu_bench_kernel.txt)
  e2e=$(sed -n 's/^cuda end-to-end: .*s, \([0-9.e+]*\) predictions.*/\1/p' /tmp/gpu_bench_e2e.txt)
  python3 -c "print(f'end-to-end / copy bandwidth: {float(\"$e2e\")/float(\"$copy\"):.3f}')"
else
  echo "(backscore run has no --backend yet: end-to-end skipped)"
fi
