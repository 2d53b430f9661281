#!/usr/bin/env bash
# The main job on built-in default data: synthesize a history with burn eras, inspect it, and
# rescore every model in every era under every built-in formula.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
mkdir -p out
./build/backscore synth --models 300 --eras 60 --stocks 3000 --features 20 --burn-fraction 0.3 \
  --seed 2020 --out out/history.h5
./build/backscore inspect out/history.h5
./build/backscore run out/history.h5 --formulas all --top-bottom 200 --out out/scores.h5 \
  --csv out/scores.csv
echo "scores: out/scores.h5 and out/scores.csv"
