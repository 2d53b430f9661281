#!/usr/bin/env bash
# CPU benchmark (issue 3): backscore's CPU backend against numerai-tools era by era, both as whole
# processes on the same machine and the same store, plus backscore's peak memory for 100 vs 400
# eras. Prints the figures recorded in bench/RESULTS.md.
#
#   bench/cpu_bench.sh [MODELS] [ERAS] [STOCKS] [NT_TIME_LIMIT_S]
#
# Defaults: 500 models x 100 eras x 5,000 stocks, 20 features, all formulas with --top-bottom 200.
# numerai-tools is slow: it runs until NT_TIME_LIMIT_S (default 600 s) and its rate is over the
# eras it finished (rates are per prediction, so the comparison stays fair).
set -euo pipefail
cd "$(dirname "$0")/.."
models=${1:-500} eras=${2:-100} stocks=${3:-5000} nt_limit=${4:-600}
source bench/common.sh
store="$work/h${models}x${eras}x${stocks}.h5"
[ -f "$store" ] || "$bin" synth --models "$models" --eras "$eras" --stocks "$stocks" --features 20 \
  --seed 7 --out "$store"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "== backscore run (CPU backend, all formulas, --top-bottom 200)"
/usr/bin/time -f "backscore wall %e s, peak RSS %M KiB" "$bin" run "$store" --formulas all \
  --top-bottom 200 --out "$work/scores.h5" --quiet
echo "== numerai-tools 0.7.2 era by era (time limit ${nt_limit}s)"
/usr/bin/time -f "numerai-tools wall %e s, peak RSS %M KiB" "$venv/bin/python" bench/nt_rescore.py \
  "$store" --formulas all --top-bottom 200 --time-limit "$nt_limit"

echo "== backscore peak memory: 100 vs 400 eras (200 models x 2,000 stocks)"
for e in 100 400; do
  s="$work/mem${e}.h5"
  [ -f "$s" ] || "$bin" synth --models 200 --eras "$e" --stocks 2000 --seed 3 --out "$s"
  /usr/bin/time -f "$e eras: wall %e s, peak RSS %M KiB" "$bin" run "$s" --formulas all \
    --csv "$work/mem$e.csv" --quiet > /dev/null
done
