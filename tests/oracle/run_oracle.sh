#!/usr/bin/env bash
# End-to-end oracle test: backscore's scores against numerai-tools 0.7.2 on random histories.
#
#   run_oracle.sh BACKSCORE_BINARY WORKDIR
#
# Creates (or reuses) WORKDIR/venv with numerai-tools==0.7.2, checks the oracle on the toy era,
# then for each seed: generates a history, imports it with the binary, scores it with
# `backscore run --formulas all --top-bottom K`, computes the expected scores with numerai-tools
# and compares (tests/oracle/compare_scores.py, tolerance ORACLE_TOL, default 1e-9).
# Then a history with 300 rank-deficient features (duplicated, constant and linearly dependent
# columns): every formula, and fnc written with the formula language's neutralize().
# Then a history with sample weights, neutralizers and stakes: numerai-tools 0.7.2's Signals
# formulas (neutral_corr, neutral_mmc, alpha, mpc) and max_feature_corr; on that history,
# `backscore simulate` against the same loop written with numerai-tools (oracle_simulate.py).
# Also: --threads 1 and --threads 3 must write byte-identical CSVs; the batched numerai-tools
# path of bench/nt_rescore.py must agree with the per-model oracle (and, when h5py installs,
# nt_rescore.py reading the real store must too).
# Exit 0 = pass, 77 = skipped (no Python >= 3.11 or PyPI unreachable), anything else = failure.
# ORACLE_PYTHON=/path/to/python uses an existing interpreter that already has numerai-tools
# 0.7.2 instead of the venv (offline development).
set -euo pipefail

if [[ $# -ne 2 ]]; then
  echo "usage: $0 BACKSCORE_BINARY WORKDIR" >&2
  exit 2
fi
BIN=$(realpath "$1")
WORK=$(realpath -m "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH="$HERE/../../bench/nt_rescore.py"
TOL=${ORACLE_TOL:-1e-9}
NT_VERSION=0.7.2
# seed:K pairs; K=50 leaves the small eras without top/bottom scores
RUNS=(1:5 2:3 3:50)

[[ -x "$BIN" ]] || { echo "oracle: $BIN is not an executable" >&2; exit 1; }
mkdir -p "$WORK"

skip() {
  echo "oracle: SKIPPED: $*"
  exit 77
}

has_nt() {
  "$1" -c "import importlib.metadata as m, numerai_tools.scoring; \
assert m.version('numerai-tools') == '$NT_VERSION'" 2>/dev/null
}

# --- the Python side ---------------------------------------------------------------------------
if [[ -n "${ORACLE_PYTHON:-}" ]]; then
  PY=$ORACLE_PYTHON
  has_nt "$PY" || { echo "oracle: $PY lacks numerai-tools==$NT_VERSION" >&2; exit 1; }
else
  VENV="$WORK/venv"
  PY="$VENV/bin/python"
  BASE=""
  for cand in python3 python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null &&
       "$cand" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      BASE=$(command -v "$cand")
      break
    fi
  done
  [[ -n "$BASE" ]] || skip "numerai-tools $NT_VERSION needs Python >= 3.11 with the venv module; none found"
  # shellcheck source=../pypi_venv.sh
  source "$HERE/../pypi_venv.sh"
  pypi_venv "$VENV" "$BASE" "$WORK/pip.log" oracle "numerai-tools==$NT_VERSION"
  has_nt "$PY" || { echo "oracle: $PY lacks numerai-tools==$NT_VERSION" >&2; exit 1; }
  # h5py only for the nt_rescore.py cross-check; optional
  "$PY" -c "import h5py" 2>/dev/null ||
    "$PY" -m pip install --disable-pip-version-check --quiet --timeout 30 h5py \
      >>"$WORK/pip.log" 2>&1 ||
    echo "oracle: h5py did not install; the nt_rescore.py store check will be skipped"
fi
echo "oracle: $("$PY" -c 'import sys, numpy, pandas, scipy; print("python", sys.version.split()[0], "numpy", numpy.__version__, "pandas", pandas.__version__, "scipy", scipy.__version__)'), numerai-tools $NT_VERSION"

"$PY" "$HERE/oracle_scores.py" --self-test

# --- the histories -----------------------------------------------------------------------------
failures=0
for run in "${RUNS[@]}"; do
  seed=${run%%:*}
  K=${run##*:}
  dir="$WORK/seed$seed"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "== seed $seed, --top-bottom $K"
  "$PY" "$HERE/gen_random_history.py" --seed "$seed" --out "$dir"
  pred_args=(--predictions "$dir/predictions.csv")
  if [[ $seed == "${RUNS[1]%%:*}" ]]; then
    # repeatable --predictions: the same history split into two files by model
    awk -F, -v a="$dir/predictions_a.csv" -v b="$dir/predictions_b.csv" \
      'NR == 1 { print > a; print > b; next } { print > ($1 < "m_m" ? a : b) }' \
      "$dir/predictions.csv"
    pred_args=(--predictions "$dir/predictions_a.csv" --predictions "$dir/predictions_b.csv")
  fi
  "$BIN" import --universe "$dir/universe.csv" "${pred_args[@]}" --out "$dir/store.h5"
  "$BIN" run "$dir/store.h5" --formulas all --top-bottom "$K" --csv "$dir/actual.csv" --quiet
  "$PY" "$HERE/oracle_scores.py" --universe "$dir/universe.csv" "${pred_args[@]}" \
    --top-bottom "$K" --out "$dir/expected.csv"
  if ! "$PY" "$HERE/compare_scores.py" "$dir/expected.csv" "$dir/actual.csv" --tol "$TOL"; then
    echo "oracle: seed $seed: backscore disagrees with numerai-tools"
    failures=$((failures + 1))
  fi

  if [[ $seed == "${RUNS[0]%%:*}" ]]; then
    # determinism: the thread count must not change a single byte
    "$BIN" run "$dir/store.h5" --formulas all --top-bottom "$K" --backend cpu --threads 1 \
      --csv "$dir/threads1.csv" --quiet
    "$BIN" run "$dir/store.h5" --formulas all --top-bottom "$K" --backend cpu --threads 3 \
      --csv "$dir/threads3.csv" --quiet
    if cmp "$dir/threads1.csv" "$dir/threads3.csv"; then
      echo "oracle: --threads 1 and --threads 3 CSVs are byte-identical"
    else
      echo "oracle: --threads 1 and --threads 3 CSVs differ"
      failures=$((failures + 1))
    fi
    # the benchmark baseline computes the same numbers as the oracle
    "$PY" "$HERE/oracle_scores.py" --batched --universe "$dir/universe.csv" \
      --predictions "$dir/predictions.csv" --top-bottom "$K" --out "$dir/batched.csv"
    if ! "$PY" "$HERE/compare_scores.py" "$dir/expected.csv" "$dir/batched.csv" --tol 1e-12 >/dev/null; then
      echo "oracle: the batched numerai-tools path (bench/nt_rescore.py) disagrees with the oracle"
      failures=$((failures + 1))
    fi
    if "$PY" -c "import h5py" 2>/dev/null; then
      "$PY" "$BENCH" "$dir/store.h5" --top-bottom "$K" --scores-csv "$dir/nt_rescore.csv"
      if ! "$PY" "$HERE/compare_scores.py" "$dir/expected.csv" "$dir/nt_rescore.csv" --tol 1e-12 >/dev/null; then
        echo "oracle: bench/nt_rescore.py on the imported store disagrees with the oracle"
        failures=$((failures + 1))
      fi
    else
      echo "oracle: (no h5py: bench/nt_rescore.py store check skipped)"
    fi
  fi
done

# --- the wide case: 300 features with duplicated, constant and linearly dependent columns ------
# fnc (and every built-in) against numerai-tools, then fnc written in the formula language
# (neutralize(g, features)) against numerai-tools' fnc too.
WIDE_SEED=4
WIDE_FEATURES=300
WIDE_K=50
dir="$WORK/wide"
rm -rf "$dir"
mkdir -p "$dir"
echo "== seed $WIDE_SEED, $WIDE_FEATURES features, --top-bottom $WIDE_K"
"$PY" "$HERE/gen_random_history.py" --seed "$WIDE_SEED" --features "$WIDE_FEATURES" --out "$dir"
"$BIN" import --universe "$dir/universe.csv" --predictions "$dir/predictions.csv" --out "$dir/store.h5"
"$BIN" run "$dir/store.h5" --formulas all --top-bottom "$WIDE_K" --csv "$dir/actual.csv" --quiet
"$PY" "$HERE/oracle_scores.py" --universe "$dir/universe.csv" --predictions "$dir/predictions.csv" \
  --top-bottom "$WIDE_K" --out "$dir/expected.csv"
if ! "$PY" "$HERE/compare_scores.py" "$dir/expected.csv" "$dir/actual.csv" --tol "$TOL"; then
  echo "oracle: $WIDE_FEATURES features: backscore disagrees with numerai-tools"
  failures=$((failures + 1))
fi
"$BIN" run "$dir/store.h5" --formulas fnc_lang,fnc_tb_lang \
  --formula "g = gaussian(rank(pred))" \
  --formula "neutral = neutralize(g, features)" \
  --formula "fn = power(gaussian(rank(neutral / std(neutral))), 1.5)" \
  --formula "corr_target = power(center(target, over=era), 1.5)" \
  --formula "fnc_lang = pearson(corr_target, fn)" \
  --formula "fnc_tb_lang = pearson(corr_target, top_bottom(fn, $WIDE_K))" \
  --csv "$dir/lang.csv" --quiet
sed -i "1s/.*/model,era,fnc,fnc_tb$WIDE_K/" "$dir/lang.csv"
"$PY" - "$dir/expected.csv" "$dir/expected_fnc.csv" "$WIDE_K" <<'PYEOF'
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
d[["model", "era", "fnc", f"fnc_tb{sys.argv[3]}"]].to_csv(sys.argv[2], index=False)
PYEOF
if ! "$PY" "$HERE/compare_scores.py" "$dir/expected_fnc.csv" "$dir/lang.csv" --tol "$TOL"; then
  echo "oracle: $WIDE_FEATURES features: neutralize() in the formula language disagrees with numerai-tools' fnc"
  failures=$((failures + 1))
fi

# --- the Signals formulas: sample weights, neutralizers (collinear: a duplicate and a sum), stakes
# (20% zero); neutral_corr, neutral_mmc (+ top/bottom), alpha, mpc, and max_feature_corr (+ top/
# bottom). Compared on those columns: the classic ones are the histories' above. (This history's
# 7-stock era has fnc residuals tied in exact arithmetic, whose order rounding decides: numerai-
# tools' SVD orders them one way for one model and the other for another.)
SIGNALS_SEED=5
SIGNALS_K=5
dir="$WORK/signals"
rm -rf "$dir"
mkdir -p "$dir"
echo "== seed $SIGNALS_SEED, sample weights, neutralizers and stakes, --top-bottom $SIGNALS_K"
"$PY" "$HERE/gen_random_history.py" --seed "$SIGNALS_SEED" --signals --out "$dir"
"$BIN" import --universe "$dir/universe.csv" --predictions "$dir/predictions.csv" \
  --stakes "$dir/stakes.csv" --out "$dir/store.h5"
"$BIN" run "$dir/store.h5" --formulas all,max_feature_corr --top-bottom "$SIGNALS_K" \
  --csv "$dir/actual.csv" --quiet
"$PY" "$HERE/oracle_scores.py" --universe "$dir/universe.csv" --predictions "$dir/predictions.csv" \
  --stakes "$dir/stakes.csv" --diagnostics --top-bottom "$SIGNALS_K" --out "$dir/expected_all.csv"
"$PY" - "$dir/expected_all.csv" "$dir/expected.csv" <<'PYEOF'
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
keep = [c for c in d.columns if c in ("model", "era") or c.split("_tb")[0] in
        ("neutral_corr", "neutral_mmc", "alpha", "mpc", "max_feature_corr")]
d[keep].to_csv(sys.argv[2], index=False)
PYEOF
if ! "$PY" "$HERE/compare_scores.py" "$dir/expected.csv" "$dir/actual.csv" --tol "$TOL"; then
  echo "oracle: the Signals formulas disagree with numerai-tools"
  failures=$((failures + 1))
fi
# the benchmark's batched numerai-tools calls (bench/nt_rescore.py) compute the same numbers
if "$PY" -c "import h5py" 2>/dev/null; then
  "$PY" "$BENCH" "$dir/store.h5" --formulas neutral_corr,neutral_mmc,alpha,mpc \
    --top-bottom "$SIGNALS_K" --scores-csv "$dir/nt_rescore.csv" >/dev/null
  "$PY" - "$dir/expected.csv" "$dir/expected_nt.csv" <<'PYEOF'
import sys
import pandas as pd
d = pd.read_csv(sys.argv[1], dtype=str, keep_default_na=False)
d[[c for c in d.columns if not c.startswith("max_feature_corr")]].to_csv(sys.argv[2], index=False)
PYEOF
  if ! "$PY" "$HERE/compare_scores.py" "$dir/expected_nt.csv" "$dir/nt_rescore.csv" --tol 1e-12 >/dev/null; then
    echo "oracle: bench/nt_rescore.py's Signals formulas disagree with the oracle"
    failures=$((failures + 1))
  fi
fi

# --- simulate: the stake and meta-model loop recomputed with numerai-tools' stake_weight,
# numerai_corr and correlation_contribution (and alpha, meta_portfolio_contribution with the
# simulated stakes) on the same history (quirky eras, missing ids, zero stakes), pf < 1
# (threshold 500 NMR against ~1,000 staked), lag 2, observed flows.
for SIM_RULE in "clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05)" "clip(pf*(0.3*alpha + 0.8*mpc), -0.017, 0.017)"; do
  rm -rf "$dir/sim"
  "$BIN" simulate "$dir/store.h5" --rule "r=$SIM_RULE" --payout-threshold 500 --resolve-lag 2 \
    --flows observed --csv "$dir/sim" --quiet >/dev/null
  if ! "$PY" "$HERE/oracle_simulate.py" --universe "$dir/universe.csv" \
    --predictions "$dir/predictions.csv" --stakes "$dir/stakes.csv" --actual "$dir/sim" \
    --rule "$SIM_RULE" --threshold 500 --lag 2 --tol "$TOL"; then
    echo "oracle: simulate ($SIM_RULE) disagrees with the loop written with numerai-tools"
    failures=$((failures + 1))
  fi
done

if ((failures > 0)); then
  echo "oracle: FAILED ($failures check(s))"
  exit 1
fi
echo "oracle: PASSED (${#RUNS[@]} histories, a $WIDE_FEATURES-feature one and a Signals one, tolerance $TOL)"
