#!/usr/bin/env bash
# simulate's feedback loop (issue 17): `backscore simulate` with 1, 2 and 3 rules against
# `backscore run` of the formulas those rules read, on the same store, in one run of this script
# on one machine; each figure the median of REPEATS runs (default 3). The question: what the
# loop (rebuilding each rule's meta-model, scoring against it, the stakes) costs per rule; goal:
# 3 rules cost less than 2 separate runs.
#
#   BENCH_WORK=/tmp/sb bench/sim_bench.sh [REPEATS] [STOCKS] [MODELS] [ERAS]
#
# Store: `synth --models MODELS --eras ERAS --stocks STOCKS --missing-ids 0.05 --seed 5`
# (defaults 5000 stocks, 1000 models, 20 eras: Numerai's stocks, a thousand models).
# Rules: numerai2024 = clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05), the same with mmc2 and with
# mmc2_burnflip; the run scores corr, mmc, mmc2, mmc2_burnflip.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
stocks=${2:-5000}
models=${3:-1000}
eras=${4:-20}
work=${BENCH_WORK:-/tmp/backscore-bench}
mkdir -p "$work"
[ -x build/backscore ] || scripts/build.sh
bin=$PWD/build/backscore
store="$work/sim_bench_${stocks}_${models}_${eras}.h5"
[ -f "$store" ] || "$bin" synth --models "$models" --eras "$eras" --stocks "$stocks" \
  --missing-ids 0.05 --seed 5 --out "$store" --quiet
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "== store: $stocks stocks, $models models, $eras eras"
r1=(--rule numerai2024)
r2=("${r1[@]}" --rule "mmc2=clip(pf*(0.5*corr + 2*mmc2), -0.05, 0.05)")
r3=("${r2[@]}" --rule "burnflip=clip(pf*(0.5*corr + 2*mmc2_burnflip), -0.05, 0.05)")

median() { sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# Runs "$@" REPEATS times, prints the median wall seconds.
measure() {
  local walls=()
  for ((k = 0; k < repeats; ++k)); do
    rm -rf "$work/sb_out.h5" "$work/sb_out"
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    t1=$(date +%s.%N)
    walls+=("$(echo "$t1 - $t0" | bc)")
  done
  printf '%s\n' "${walls[@]}" | median
}
run_corr_mmc=$(measure "$bin" run "$store" --formulas corr,mmc --out "$work/sb_out.h5" --quiet)
run_all=$(measure "$bin" run "$store" --formulas corr,mmc,mmc2,mmc2_burnflip --out "$work/sb_out.h5" --quiet)
sim1=$(measure "$bin" simulate "$store" "${r1[@]}" --out "$work/sb_out.h5" --quiet)
sim2=$(measure "$bin" simulate "$store" "${r2[@]}" --out "$work/sb_out.h5" --quiet)
sim3=$(measure "$bin" simulate "$store" "${r3[@]}" --out "$work/sb_out.h5" --quiet)
printf '%-58s %8s\n' "job" "seconds"
printf '%-58s %8.2f\n' "run --formulas corr,mmc" "$run_corr_mmc"
printf '%-58s %8.2f\n' "run --formulas corr,mmc,mmc2,mmc2_burnflip" "$run_all"
printf '%-58s %8.2f\n' "simulate, 1 rule (numerai2024)" "$sim1"
printf '%-58s %8.2f\n' "simulate, 2 rules (+ mmc2)" "$sim2"
printf '%-58s %8.2f\n' "simulate, 3 rules (+ mmc2_burnflip)" "$sim3"
echo "3 rules / (2 x run of corr,mmc,mmc2,mmc2_burnflip): $(echo "scale=3; $sim3 / (2 * $run_all)" | bc)"
echo "per extra rule: $(echo "scale=3; ($sim3 - $sim1) / 2" | bc) s"
