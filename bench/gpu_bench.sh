#!/usr/bin/env bash
# GPU benchmark (issue 4), on a machine with a CUDA device:
#   - kernel-only predictions/s of CudaEraScorer on synthetic eras held in memory,
#   - the pinned host-to-device copy bandwidth of the same machine in predictions/s (4 bytes each),
#   - end to end, HDF5 store to scores file: `backscore run --backend cuda` and `--backend cpu`
#     on the same synthetic store, and the ratio end-to-end / copy bandwidth.
#   BIN_DIR=gpu-carry/bin bench/gpu_bench.sh [STOCKS=5000] [MODELS=2000] [ERAS=100] [FEATURES=20]
# BIN_DIR holds backscore and backscore_gpu_bench (scripts/gpu-carry.sh builds them; default
# build-gpu). Prints the figures; record them in bench/RESULTS.md with date, GPU and command.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN_DIR:-build-gpu}
STOCKS=${1:-5000} MODELS=${2:-2000} ERAS=${3:-100} FEATURES=${4:-20}
WORK=${BENCH_WORK:-/tmp/backscore-gpu-bench}
mkdir -p "$WORK"
FORMULAS=all

echo "== kernel-only and copy bandwidth (synthetic eras in memory)"
"$BIN/backscore_gpu_bench" "$STOCKS" "$MODELS" 10 "$FEATURES" "$FORMULAS" | tee "$WORK/kernel.txt"

STORE=$WORK/h${MODELS}x${ERAS}x${STOCKS}.h5
if [[ ! -f $STORE ]]; then
  echo "== synthesizing $STORE"
  "$BIN/backscore" synth --models "$MODELS" --eras "$ERAS" --stocks "$STOCKS" \
    --features "$FEATURES" --seed 7 --out "$STORE" --quiet
fi
# Submitted prediction cells of the store (synth models join and leave: not MODELS x ERAS x STOCKS).
cells=$("$BIN/backscore" inspect "$STORE" | sed -n 's/^missing ids.*(\([0-9]*\) of \([0-9]*\)).*/\2/p')
echo "store: $STORE, $cells submitted predictions"

# run_backend LABEL BACKEND [run options...]: one timed run, HDF5 store to scores file.
run_backend() {
  local label=$1 backend=$2 t0 t1
  shift 2
  rm -f "$WORK/scores_$label.h5"
  t0=$(date +%s.%N)
  "$BIN/backscore" run "$STORE" --formulas "$FORMULAS" --backend "$backend" "$@" \
    --out "$WORK/scores_$label.h5" --quiet 2> "$WORK/run_$label.txt" > /dev/null
  t1=$(date +%s.%N)
  cat "$WORK/run_$label.txt"
  awk -v b="$label" -v t0="$t0" -v t1="$t1" -v p="$cells" \
    'BEGIN { t = t1 - t0; printf "%s end-to-end: %.2f s, %.4g predictions/s\n", b, t, p / t }'
}
echo "== end to end (HDF5 store -> scores file, all formulas)"
run_backend cuda cuda | tee "$WORK/e2e_cuda.txt"  # the defaults: --batch 1024, --gpu-streams 2
run_backend cpu cpu | tee "$WORK/e2e_cpu.txt"
echo "== cuda end to end, other --batch / --gpu-streams"
for batch in 256 1024 4096; do
  for streams in 1 2 4; do
    [[ $batch == 1024 && $streams == 2 ]] && continue
    run_backend "cuda_b${batch}_s${streams}" cuda --batch "$batch" --gpu-streams "$streams" |
      grep end-to-end
  done
done
copy=$(sed -n 's/^host-to-device pinned copy: \([0-9.e+]*\) predictions.*/\1/p' "$WORK/kernel.txt")
e2e=$(sed -n 's/^cuda end-to-end: .*s, \([0-9.e+]*\) predictions.*/\1/p' "$WORK/e2e_cuda.txt")
awk -v e="$e2e" -v c="$copy" 'BEGIN { if (c > 0) printf "end-to-end / copy bandwidth: %.3f\n", e / c }'
