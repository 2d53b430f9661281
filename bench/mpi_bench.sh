#!/usr/bin/env bash
# Era-sharded runs (issue 14): strong scaling of `backscore-mpi run` on this machine, 1 and 2
# ranks x 1 and 2 threads, against the one-process `backscore run` with the same threads, and the
# bytes the ranks send to rank 0 against the bytes they read. One run of this script, one
# machine; each configuration is the median of REPEATS runs (default 3). Every run's outputs are
# compared with the first one's (cmp): a scaling figure of a run that wrote other bytes is void.
#
#   BENCH_WORK=/tmp/mb bench/mpi_bench.sh [REPEATS]
#
# Store: `synth --models 600 --eras 40 --stocks 3000 --features 300 --feature-group-size 10
# --missing-ids 0.05 --seed 3`; job: every built-in (fnc neutralizes each era to 300 features).
# Ranks are launched with --bind-to none (OpenMPI binds each rank to one core by default when
# there are 2 ranks or fewer, which would put a rank's threads on one core).
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
work=${BENCH_WORK:-/tmp/backscore-bench}
mkdir -p "$work"
[ -x build/backscore-mpi ] || scripts/build.sh
bin=$PWD/build/backscore
mpi_bin=$PWD/build/backscore-mpi
mpirun=(mpirun -q --oversubscribe --bind-to none)
[ "$(id -u)" -eq 0 ] && mpirun+=(--allow-run-as-root)
store="$work/mpi_bench.h5"
[ -f "$store" ] || "$bin" synth --models 600 --eras 40 --stocks 3000 --features 300 \
  --feature-group-size 10 --missing-ids 0.05 --seed 3 --out "$store" --quiet
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "commit $(git rev-parse --short HEAD), $(date -u '+%Y-%m-%d %H:%M UTC'), $(mpirun --version | head -1)"
job=(--formulas all --quiet --timings)

# One configuration: RANKS (0: one process, backscore run) x THREADS, REPEATS times; prints the
# median wall (launch included) and the median of the job's own seconds (its era loop).
measure() {
  local ranks=$1 threads=$2 walls=() loops=() out="$work/mb_${1}_${2}.h5"
  for ((k = 0; k < repeats; ++k)); do
    rm -f "$out"
    local t0 t1 err
    t0=$(date +%s.%N)
    if ((ranks == 0)); then
      err=$("$bin" run "$store" "${job[@]}" --threads "$threads" --out "$out" 2>&1 >/dev/null)
    else
      err=$("${mpirun[@]}" -n "$ranks" "$mpi_bin" run "$store" "${job[@]}" --threads "$threads" \
        --out "$out" 2>&1 >/dev/null)
    fi
    t1=$(date +%s.%N)
    walls+=("$(echo "$t1 - $t0" | bc)")
    loops+=("$(echo "$err" | sed -n 's/.*on their own id subset, \([0-9.]*\) s,.*/\1/p')")
    if [ -f "$work/mb_reference.h5" ]; then
      cmp -s "$out" "$work/mb_reference.h5" || { echo "DIFFERENT BYTES: $ranks x $threads" >&2; exit 1; }
    else
      cp "$out" "$work/mb_reference.h5"
      echo "$err" | grep -E 'eras, .* model-eras' >"$work/mb_summary.txt"
      echo "$err" | grep -E '^  ' >"$work/mb_timings.txt"
    fi
  done
  local wall loop
  wall=$(printf '%s\n' "${walls[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  loop=$(printf '%s\n' "${loops[@]}" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')
  printf '%-26s %8s %10.2f %10.2f   walls: %s\n' \
    "$( ((ranks == 0)) && echo "backscore run" || echo "backscore-mpi, $ranks rank(s)")" \
    "$threads" "$wall" "$loop" "${walls[*]}"
}

rm -f "$work/mb_reference.h5"
printf '%-26s %8s %10s %10s\n' configuration threads wall_s job_s
measure 0 1
measure 0 2
measure 1 1
measure 2 1
measure 1 2
measure 2 2

# Bytes to rank 0: one journal record per era, 24 + m x (4 + 8 x formulas) bytes (m scored
# models), against the store's bytes, which the ranks read (predictions, ids, targets, features).
summary=$(cat "$work/mb_summary.txt")
eras=$(echo "$summary" | sed -n 's/^backscore run: \([0-9]*\) eras.*/\1/p')
model_eras=$(echo "$summary" | sed -n 's/.* eras, \([0-9]*\) model-eras.*/\1/p')
formulas=7  # --formulas all: the 7 built-ins
store_bytes=$(stat -c %s "$store")
awk -v e="$eras" -v me="$model_eras" -v f="$formulas" -v s="$store_bytes" 'BEGIN {
  sent = 24 * e + me * (4 + 8 * f);
  printf "bytes to rank 0: %.0f per era (%d eras, %d model-eras, %d formulas); store read: %.0f per era; ratio %.4f%%\n",
    sent / e, e, me, f, s / e, 100 * sent / s }'
echo "one-process timings at 1 thread (the first run):"
cat "$work/mb_timings.txt"
