#!/usr/bin/env bash
# All built-in formulas at Numerai's size (issue 12, benchmarks 2 and 3): seconds per era of
# `run --formulas all --top-bottom 200` at 5,000 stocks x 2,376 features x ~1,000 models, with
# its breakdown (`run --timings`), against numerai-tools on the same store; and the extra cost
# of the models with missing ids: the same store with 7% of model-eras leaving 1-5% of the ids
# out (`synth --missing-ids 0.07`) against none (`--missing-ids 0`). One run, one machine.
#
#   bench/all_bench.sh            (BENCH_ERAS eras, default 3; numerai-tools on NT_ERAS, default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
eras=${BENCH_ERAS:-3}
nt_eras=${NT_ERAS:-1}
source bench/common.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
declare -A secs
for missing in 0 0.07; do
  store="$work/all_2376_e${eras}_m${missing}.h5"
  [ -f "$store" ] || "$bin" synth --preset numerai --eras "$eras" --seed 2 \
    --missing-ids "$missing" --out "$store" --quiet 2>/dev/null
  echo "== backscore run (all formulas, --top-bottom 200), --missing-ids $missing: $store"
  "$bin" inspect "$store" | grep -E '^(submissions|eras)' || true
  log="$work/all_m${missing}.log"
  /usr/bin/time -f "peak RSS %M KiB" "$bin" run "$store" --formulas all --top-bottom 200 \
    --csv "$work/all_m${missing}.csv" --quiet --timings 2> "$log" > /dev/null
  grep -v '^formula' "$log"
  secs[$missing]=$(grep -o ' [0-9.]* s, [0-9.e+]* predictions/s' "$log" | awk '{print $1}')
done
awk -v a="${secs[0]}" -v b="${secs[0.07]}" -v e="$eras" 'BEGIN {
  printf "== per era: complete %.3f s, 7%% with missing ids %.3f s: +%.1f%%\n", a / e, b / e,
    100 * (b - a) / a }'
echo "== numerai-tools 0.7.2 on the first $nt_eras era(s) of the --missing-ids 0.07 store"
"$venv/bin/python" bench/nt_rescore.py "$work/all_2376_e${eras}_m0.07.h5" --formulas all \
  --top-bottom 200 --max-eras "$nt_eras" > "$work/all_nt.log"
cat "$work/all_nt.log"
nt=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/all_nt.log")
awk -v nt="$nt" -v ne="$nt_eras" -v b="${secs[0.07]}" -v e="$eras" 'BEGIN {
  printf "== numerai-tools %.2f s/era, backscore %.3f s/era: %.1fx\n", nt / ne, b / e,
    (nt / ne) / (b / e) }'
