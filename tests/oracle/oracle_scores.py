#!/usr/bin/env python3
"""Expected backscore scores computed with numerai-tools 0.7.2 (the oracle).

  oracle_scores.py --universe U.csv --predictions P.csv --top-bottom K --out expected.csv
  oracle_scores.py --self-test

Reads the same CSVs `backscore import` reads and writes the CSV `backscore run --csv` writes:
header model,era,<formula>,..., one row per submitted (model, era), 17 significant digits, empty
cell = NaN. Predictions are rounded to float32 first, as the store keeps them.
--batched computes the same scores the way bench/nt_rescore.py does (a consistency check of the
benchmark baseline against the per-model contract).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Dict, List

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt_formulas as ntf  # noqa: E402


def read_universe(path: str) -> List[ntf.EraData]:
    df = pd.read_csv(path, dtype={"era": str, "id": str}, keep_default_na=False)
    bench_cols = [c for c in df.columns if c.startswith("benchmark_")]
    feat_cols = [c for c in df.columns if c.startswith("feature_")]
    neut_cols = [c for c in df.columns if c.startswith("neutralizer_")]
    eras = []
    for name in pd.unique(df["era"]):
        e = df[df["era"] == name].set_index("id").sort_index()
        assert e.index.is_unique, f"duplicate ids in era {name}"
        eras.append(ntf.EraData(
            name=name,
            target=e["target"].astype(float).rename("target"),
            meta_model=e["meta_model"].astype(float).rename("meta_model"),
            benchmark=e[bench_cols[0]].astype(float).rename(bench_cols[0]) if bench_cols else None,
            features=e[feat_cols].astype(float) if feat_cols else None,
            neutralizers=e[neut_cols].astype(float) if neut_cols else None,
            sample_weights=(e["sample_weight"].astype(float).rename("sample_weight")
                            if "sample_weight" in e.columns else None),
        ))
    return eras


def read_predictions(paths: List[str]) -> pd.DataFrame:
    frames = [pd.read_csv(p, dtype={"model": str, "era": str, "id": str, "prediction": float},
                          keep_default_na=False, na_values={"prediction": [""]}) for p in paths]
    df = pd.concat(frames, ignore_index=True)
    # the store keeps predictions as float32
    df["prediction"] = df["prediction"].astype(np.float32).astype(np.float64)
    return df


def fmt(v: float) -> str:
    return "" if math.isnan(v) else f"{v:.17g}"


def write_scores(path: str, rows: List[Dict], cols: List[str]) -> None:
    with open(path, "w") as f:
        f.write(",".join(["model", "era"] + cols) + "\n")
        for r in rows:
            f.write(",".join([r["model"], r["era"]] + [fmt(r[c]) for c in cols]) + "\n")


def oracle(universe: str, predictions: List[str], top_bottom: int, out: str, batched: bool,
           stakes_path: str = "", diagnostics: bool = False) -> int:
    eras = read_universe(universe)
    preds = read_predictions(predictions)
    # The Signals formulas when the history has what they need (neutralizers, sample weights and
    # the stakes mpc weighs the portfolio with).
    signals = bool(stakes_path) and all(
        e.neutralizers is not None and e.sample_weights is not None for e in eras)
    stakes = None
    if stakes_path:
        st = pd.read_csv(stakes_path, dtype={"model": str, "era": str, "stake": float})
        stakes = {name: g.set_index("model")["stake"] for name, g in st.groupby("era")}
    cols = ntf.formula_columns(top_bottom, signals, diagnostics)
    model_order = list(pd.unique(preds["model"]))
    by_era = dict(tuple(preds.groupby("era", sort=False)))
    rows = []
    for era in eras:
        p = by_era.get(era.name)
        if p is None:
            continue
        unknown = set(p["id"]) - set(era.target.index)
        assert not unknown, f"era {era.name}: predictions for ids not in the universe: {sorted(unknown)[:5]}"
        wide = p.pivot(index="id", columns="model", values="prediction").reindex(era.target.index)
        models = [m for m in model_order if m in wide.columns]
        if batched:
            scores = ntf.score_era_batched(era, wide[models], top_bottom)
            for m in models:
                rows.append(dict(model=m, era=era.name, **scores.loc[m].to_dict()))
        else:
            mpc = None
            if "mpc" in cols:
                era_stakes = stakes.get(era.name, pd.Series(dtype=float)).reindex(models).fillna(0.0)
                mpc = ntf.mpc_era(era, wide[models], era_stakes)
            for m in models:
                row = ntf.score_model_era(era, wide[m], top_bottom, cols)
                if mpc is not None:
                    row["mpc"] = mpc[m]
                rows.append(dict(model=m, era=era.name, **row))
    write_scores(out, rows, cols)
    scored = sum(1 for r in rows if not math.isnan(r["corr"]))
    print(f"oracle: {len(rows)} model-eras ({scored} scored) over {len(eras)} eras -> {out}")
    return 0


def self_test() -> int:
    era, models = ntf.toy_era()
    worst = 0.0
    failures = []
    for name, expected in ntf.TOY_EXPECTED.items():
        got = ntf.score_model_era(era, models[name], 0)
        for formula, want in expected.items():
            d = abs(got[formula] - want)
            worst = max(worst, d)
            if not d <= 1e-14:
                failures.append(f"  {name} {formula}: expected {want!r} got {got[formula]!r}")
    # the 20% rule and the 2K > n rule
    m = models["B"].copy()
    m.iloc[:4] = np.nan  # 20% missing: still scored
    if math.isnan(ntf.score_model_era(era, m, 0)["mmc"]):
        failures.append("  20% missing must still be scored")
    m.iloc[4] = np.nan  # 25% missing: not scored
    if not all(math.isnan(v) for v in ntf.score_model_era(era, m, 0).values()):
        failures.append("  25% missing must not be scored")
    got = ntf.score_model_era(era, models["B"], 11)
    if not math.isnan(got["corr_tb11"]) or math.isnan(ntf.score_model_era(era, models["B"], 10)["corr_tb10"]):
        failures.append("  top-bottom K must be NaN exactly when 2K > n")
    # the batched (benchmark) path must agree with the per-model path
    wide = pd.DataFrame(models)
    batched = ntf.score_era_batched(era, wide, 5)
    for name in models:
        per = ntf.score_model_era(era, models[name], 5)
        for c, v in per.items():
            b = batched.loc[name, c]
            if not ((math.isnan(v) and math.isnan(b)) or abs(v - b) <= 1e-15):
                failures.append(f"  batched {name} {c}: {b!r} vs per-model {v!r}")
    if failures:
        print("oracle self-test FAILED:\n" + "\n".join(failures))
        return 1
    print(f"oracle self-test passed (toy era of MOTIVATION.md, worst |diff| {worst:.1e})")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--universe")
    ap.add_argument("--predictions", action="append", default=[])
    ap.add_argument("--top-bottom", type=int, default=0)
    ap.add_argument("--out")
    ap.add_argument("--batched", action="store_true",
                    help="score with the batched numerai-tools calls of bench/nt_rescore.py")
    ap.add_argument("--stakes", default="",
                    help="model,era,stake CSV: with neutralizers and sample weights in the "
                         "universe, also the Signals formulas (neutral_corr, neutral_mmc, alpha, mpc)")
    ap.add_argument("--diagnostics", action="store_true", help="also max_feature_corr")
    ap.add_argument("--self-test", action="store_true")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not (a.universe and a.predictions and a.out):
        ap.error("--universe, --predictions and --out are required (or --self-test)")
    return oracle(a.universe, a.predictions, a.top_bottom, a.out, a.batched, a.stakes,
                  a.diagnostics)


if __name__ == "__main__":
    sys.exit(main())
