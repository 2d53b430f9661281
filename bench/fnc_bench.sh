#!/usr/bin/env bash
# fnc at Numerai's sizes (issue 12, benchmark 1): seconds per era of feature-neutral correlation
# for 5,000 stocks x F features x ~1,000 models, backscore against numerai-tools' fastest honest
# use (one feature_neutral_corr call on all the era's complete columns: bench/nt_rescore.py) and
# against the bound (bench/la_bound.py: LAPACK's factorization of the era's matrix plus the two
# GEMMs at the dgemm rate measured in the same run). One run of this script, one machine.
#
#   bench/fnc_bench.sh [FEATURES...]        (default: 20 705 2376)
#
# Stores: `synth --preset numerai` (1,000 models, ~750 submitting in each of the first eras;
# features in correlated groups with exact duplicates and per-era constants) with --features F
# and BENCH_ERAS eras (default 6: backscore builds the eras' stages ahead, so the first era's
# factorization is the only one not overlapped; its per-era figure includes it). numerai-tools
# runs on the first NT_ERAS of them (default 2; its cost per era does not depend on the history).
set -euo pipefail
cd "$(dirname "$0")/.."
features=("$@")
[ $# -eq 0 ] && features=(20 705 2376)
eras=${BENCH_ERAS:-6}
nt_eras=${NT_ERAS:-2}
source bench/common.sh
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
  "commit $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)"
printf '%-9s %-12s %14s %14s %14s %14s %10s %10s %10s\n' features model-eras backscore_s/era \
  numerai_tools_s/era bound_s/era tight_s/era vs_nt vs_bound vs_tight
for f in "${features[@]}"; do
  store="$work/fnc_${f}_e${eras}.h5"
  [ -f "$store" ] || "$bin" synth --preset numerai --eras "$eras" --features "$f" --seed 1 \
    --out "$store" --quiet 2>/dev/null
  bs=$("$bin" run "$store" --formulas fnc --quiet 2>&1 >/dev/null | grep -o ' [0-9.]* s, ' | tr -dc '0-9.')
  me=$("$bin" inspect "$store" | awk '/^submissions/ {print $(NF-1)}')
  nt=$("$venv/bin/python" bench/nt_rescore.py "$store" --formulas fnc --max-eras "$nt_eras" |
    sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
  ne=$((nt_eras < eras ? nt_eras : eras))
  k=$((me / eras))
  line=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$venv/bin/python" bench/la_bound.py \
    --stocks 5000 --features "$f" --models "$k" | grep '^RESULT')
  bound=$(echo "$line" | sed -n 's/.* seconds=\([0-9.]*\).*/\1/p')
  tight=$(echo "$line" | sed -n 's/.*tight_seconds=\([0-9.]*\).*/\1/p')
  awk -v f="$f" -v me="$me" -v e="$eras" -v ne="$ne" -v bs="$bs" -v nt="$nt" -v b="$bound" \
    -v t="$tight" 'BEGIN {
    printf "%-9s %-12s %14.3f %14.3f %14.3f %14.3f %9.2fx %9.2fx %9.2fx\n", f, me, bs / e, nt / ne,
      b, t, (nt / ne) / (bs / e), (bs / e) / b, (bs / e) / t }'
done
