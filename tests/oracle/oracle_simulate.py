#!/usr/bin/env python3
"""`backscore simulate` recomputed with numerai-tools 0.7.2 and compared (the simulation oracle).

  oracle_simulate.py --universe U.csv --predictions P.csv --stakes S.csv --actual DIR
                     --rule 'clip(pf*(0.5*corr + 2*mmc), -0.05, 0.05)' --threshold T --lag L

DIR holds backscore's `simulate --csv DIR --flows observed` output for one rule. The loop of
docs/FORMULAS.md ("Simulation") written with numerai-tools' own pieces: each era the meta-model is
numerai-tools' stake_weight of the submitted models' gaussian(tie_kept_rank(...)) columns (NaN on
the ids a model did not submit) with the simulated stakes (every model weighing 1 when none is
staked, where stake_weight would divide by 0), every model is scored by the oracle's per-model
numerai-tools calls against that meta-model (nt_formulas.score_model_era), paid
clip(pf*(a*corr + b*mmc), lo, hi) with pf = min(1, T / total simulated stake), NaN paying 0, and
the payout joins the stake L eras later; flows are the observed stake changes, scaled. Compares
every stake and payout (stakes.csv) and the meta-model's numerai_corr (eras.csv) to --tol.
Exit 0 when they agree.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nt_formulas as ntf  # noqa: E402
from oracle_scores import read_predictions, read_universe  # noqa: E402
from numerai_tools import scoring as nt  # noqa: E402

# clip(pf*(A*corr + B*mmc), LO, HI) (classic) or clip(pf*(A*alpha + B*mpc), LO, HI) (Signals: mpc
# over the era's complete models weighted by the simulated stakes, nt_formulas.mpc_era)
RULE = re.compile(r"clip\(pf\*\(([0-9.]+)\*(corr|alpha) \+ ([0-9.]+)\*(mmc|mpc)\), "
                  r"(-?[0-9.]+), ([0-9.]+)\)")


def simulate(eras, preds, stakes, order, a, b, lo, hi, threshold, lag, signals=False):
    by_era = dict(tuple(preds.groupby("era", sort=False)))
    stake: dict[str, float] = {}
    last_observed: dict[str, float] = {}
    pending = [dict() for _ in range(lag)]
    out_stakes, out_mm = {}, {}
    era_of = {e.name: e for e in eras}
    for t, name in enumerate(order):
        era = era_of[name]
        slot = t % lag
        for m, amount in pending[slot].items():
            stake[m] = max(0.0, stake[m] + amount)
        pending[slot] = {}
        p = by_era.get(name)
        wide = p.pivot(index="id", columns="model", values="prediction").reindex(era.target.index)
        models = sorted(wide.columns)
        observed = stakes.get(name, pd.Series(dtype=float)).reindex(models).fillna(0.0)
        for m in models:
            o = float(observed[m])
            if m not in last_observed:
                stake[m] = o
            else:
                prev = last_observed[m]
                flow = o - prev
                s = stake[m]
                stake[m] = max(0.0, s + flow * (s / prev) if prev > 0 else s + flow)
            last_observed[m] = o
        w = pd.Series({m: stake[m] for m in models})
        gauss = pd.DataFrame(index=era.target.index)
        for m in models:
            col = wide[m].dropna()
            if len(col) == 0:
                gauss[m] = np.nan
                continue
            g = nt.gaussian(nt.tie_kept_rank(col.to_frame()))[m]
            gauss[m] = g.reindex(era.target.index)
        total = float(w.sum())
        weights = w if total > 0 else pd.Series(1.0, index=models)
        meta = nt.stake_weight(gauss[models], weights).rename("meta_model")
        rebuilt = ntf.EraData(name=name, target=era.target, meta_model=meta, benchmark=None,
                              features=None, neutralizers=era.neutralizers,
                              sample_weights=era.sample_weights)
        names = ["alpha", "mpc"] if signals else ["corr", "mmc"]
        if signals:
            mpc = ntf.mpc_era(rebuilt, wide[models], w)
        out_mm[name] = ntf.score_model_era(rebuilt, meta, 0, ["corr"])["corr"]
        pf = min(1.0, threshold / total) if total > 0 else 1.0
        for m in models:
            s = ntf.score_model_era(rebuilt, wide[m], 0, names[:1] if signals else names)
            if signals:
                s["mpc"] = mpc[m]
            v = pf * (a * s[names[0]] + b * s[names[1]])
            payout = min(hi, max(lo, v)) if math.isfinite(v) else 0.0
            out_stakes[(m, name)] = (float(w[m]), payout)
            pending[slot][m] = pending[slot].get(m, 0.0) + float(w[m]) * payout
    return out_stakes, out_mm


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--universe", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--stakes", required=True)
    ap.add_argument("--actual", required=True, help="backscore simulate --csv DIR")
    ap.add_argument("--rule", required=True)
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--lag", type=int, required=True)
    ap.add_argument("--tol", type=float, default=1e-9)
    args = ap.parse_args()
    match = RULE.fullmatch(args.rule)
    assert match, f"the oracle simulates rules of the form {RULE.pattern}"
    a, first, b, second, lo, hi = match.groups()
    signals = first == "alpha"
    assert (second == "mpc") == signals, "alpha goes with mpc, corr with mmc"
    a, b, lo, hi = float(a), float(b), float(lo), float(hi)
    eras = read_universe(args.universe)
    preds = read_predictions([args.predictions])
    st = pd.read_csv(args.stakes, dtype={"model": str, "era": str, "stake": float})
    stakes = {name: g.set_index("model")["stake"] for name, g in st.groupby("era")}
    actual_eras = pd.read_csv(os.path.join(args.actual, "eras.csv"), dtype={"era": str})
    actual = pd.read_csv(os.path.join(args.actual, "stakes.csv"), dtype={"model": str, "era": str})
    order = list(pd.unique(actual_eras["era"]))
    expected, mm = simulate(eras, preds, stakes, order, a, b, lo, hi, args.threshold, args.lag,
                            signals)

    worst, failures = 0.0, 0
    if len(actual) != len(expected):
        print(f"oracle_simulate: {len(actual)} model-eras in stakes.csv, expected {len(expected)}")
        failures += 1
    for row in actual.itertuples():
        want = expected.get((row.model, row.era))
        if want is None:
            print(f"oracle_simulate: unexpected model-era {row.model} {row.era}")
            failures += 1
            continue
        for got, exp, what in ((row.stake, want[0], "stake"), (row.payout, want[1], "payout")):
            err = abs(got - exp) / max(1.0, abs(exp))
            worst = max(worst, err)
            if not err <= args.tol:
                failures += 1
                if failures <= 10:
                    print(f"oracle_simulate: {row.model} {row.era} {what}: {got!r} != {exp!r}")
    for row in actual_eras.itertuples():
        exp, got = mm[row.era], row.mm_corr
        if math.isnan(exp) != math.isnan(got) or (not math.isnan(exp) and abs(got - exp) > args.tol):
            failures += 1
            print(f"oracle_simulate: {row.era} mm_corr: {got!r} != {exp!r}")
        elif not math.isnan(exp):
            worst = max(worst, abs(got - exp))
    paid = sum(1 for v in expected.values() if v[1] != 0)
    print(f"oracle_simulate: {len(expected)} model-eras ({paid} paid), {len(order)} eras, "
          f"worst difference {worst:.3g} (tolerance {args.tol:g})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
