#!/usr/bin/env bash
# simulate on the GPU (issue 17), on a machine with a CUDA device: `backscore simulate
# --backend cuda` against `--backend cpu` with the same three rules on the same store, and
# `backscore run --backend cuda` of the formulas they read, each the median of REPEATS runs, in
# one run of this script. The question: what the feedback loop costs on the device (each rule
# re-scores the era's complete columns against its own meta-model) and what the GPU gains over
# the CPU's cores.
#   BIN_DIR=gpu-carry/bin bench/gpu_sim_bench.sh [REPEATS=3] [STOCKS=5000] [MODELS=2000] [ERAS=10]
# Store: `synth --models MODELS --eras ERAS --stocks STOCKS --missing-ids 0.05 --seed 5`.
# Rules: numerai2024, the same with mmc2 and with mmc2_burnflip (bench/sim_bench.sh's).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN_DIR:-build-gpu}
repeats=${1:-3} stocks=${2:-5000} models=${3:-2000} eras=${4:-10}
work=${BENCH_WORK:-/tmp/backscore-gpu-bench}
mkdir -p "$work"
store="$work/sim_${stocks}_${models}_${eras}.h5"
[ -f "$store" ] || "$BIN/backscore" synth --models "$models" --eras "$eras" --stocks "$stocks" \
  --missing-ids 0.05 --seed 5 --out "$store" --quiet
echo "== $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader), $(nproc) cores," \
  "commit $(cat gpu-carry/COMMIT 2>/dev/null || git rev-parse --short HEAD)," \
  "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "== store: $stocks stocks, $models models, $eras eras; median of $repeats"
rules=(--rule numerai2024
  --rule "mmc2=clip(pf*(0.5*corr + 2*mmc2), -0.05, 0.05)"
  --rule "burnflip=clip(pf*(0.5*corr + 2*mmc2_burnflip), -0.05, 0.05)")
median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
measure() {  # measure LABEL command...: the median wall seconds, the last run's stdout kept
  local label=$1 walls=() t0 t1
  shift
  for ((k = 0; k < repeats; ++k)); do
    rm -rf "$work/gsb_out.h5" "$work/gsb_csv"
    t0=$(date +%s.%N)
    "$@" > "$work/gsb_$label.txt" 2>&1
    t1=$(date +%s.%N)
    walls+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${walls[@]}" | median
}
run_cuda=$(measure run_cuda "$BIN/backscore" run "$store" --formulas corr,mmc,mmc2,mmc2_burnflip \
  --backend cuda --out "$work/gsb_out.h5" --quiet)
sim_cuda=$(measure sim_cuda "$BIN/backscore" simulate "$store" "${rules[@]}" --backend cuda \
  --out "$work/gsb_out.h5" --quiet)
grep "model-eras" "$work/gsb_sim_cuda.txt" || cat "$work/gsb_sim_cuda.txt"
sim_cpu=$(measure sim_cpu "$BIN/backscore" simulate "$store" "${rules[@]}" --backend cpu \
  --out "$work/gsb_out.h5" --quiet)
echo "run --backend cuda (corr, mmc, mmc2, mmc2_burnflip): $run_cuda s"
echo "simulate 3 rules --backend cuda: $sim_cuda s"
echo "simulate 3 rules --backend cpu:  $sim_cpu s"
awk -v g="$sim_cuda" -v c="$sim_cpu" -v r="$run_cuda" \
  'BEGIN { printf "simulate cpu / cuda: %.2fx; simulate cuda / run cuda: %.2f\n", c / g, g / r }'
