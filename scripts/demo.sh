#!/usr/bin/env bash
# The main job on built-in default data: synthesize a history with burn eras (and Numerai
# Signals' neutralizers and sample weights), inspect it, rescore every model in every era under
# every built-in formula (the classic ones and the Signals ones), compare the 2020 MMC2 with today's MMC
# under today's payout rule (classic-2024 pays 0.5 corr + 2 mmc: the candidate mmc2 is paid in
# mmc's place), audit the incentive properties, simulate what stakes and the meta-model would have
# become under today's rule, MMC2 and the burn-flip, and write the HTML report (out/report.html),
# whose summary sets the 2020 burn-flip proposal against today's MMC.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
mkdir -p out
bs=./build/backscore
$bs synth --models 300 --eras 60 --stocks 3000 --features 20 --burn-fraction 0.3 --seed 2020 \
  --neutralizers 8 --sample-weights --out out/history.h5
$bs inspect out/history.h5
$bs run out/history.h5 --formulas all --top-bottom 200 --out out/scores.h5 --csv out/scores.csv
$bs compare out/scores.h5 --baseline mmc --candidate mmc2 --store out/history.h5 \
  --payout classic-2024 --out-dir out/compare
$bs audit out/scores.h5 --store out/history.h5 --formula mmc2,mmc2_burnflip,mmc --worst 3 \
  --out-dir out/audit
$bs simulate out/history.h5 --rule numerai2024 \
  --rule "mmc2=clip(pf*(0.5*corr + 2*mmc2), -0.05, 0.05)" \
  --rule "burnflip=clip(pf*(0.5*corr + 2*mmc2_burnflip), -0.05, 0.05)" \
  --out out/simulation.h5 --csv out/simulation
$bs report out/scores.h5 --store out/history.h5 --payout classic-2024 --baseline mmc \
  --candidate mmc2_burnflip --simulation out/simulation.h5 --out out/report.html
echo "scores: out/scores.h5, out/scores.csv; tables: out/compare/, out/audit/;" \
  "simulation: out/simulation.h5, out/simulation/; report: out/report.html"
