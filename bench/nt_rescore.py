#!/usr/bin/env python3
"""CPU benchmark baseline: rescore a backscore store with numerai-tools, as a user would.

  nt_rescore.py STORE [--formulas all|corr,mmc,...] [--top-bottom K] [--max-eras N]
                [--time-limit SECONDS] [--target NAME] [--benchmark NAME] [--scores-csv OUT]

Reads the store (docs/FORMAT.md) era by era with h5py and scores every model with numerai-tools
0.7.2: one numerai_corr / correlation_contribution / feature_neutral_corr call on a DataFrame of
all the era's complete prediction columns, per-column calls for columns with missing ids, loops
for corr_v1 and the MMC2 family (tests/oracle/nt_formulas.py, shared with the oracle test, so the
numbers are the ones backscore is checked against). Writes nothing but timing unless
--scores-csv is given (a check, not part of the timed work).

Prints predictions/s counted the way `backscore run` counts them (models x stocks per era, NaN
included, over the wall time including HDF5 reads) and a final machine-readable line
`RESULT key=value ...`. --max-eras / --time-limit stop early; the rate is over what was done.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import h5py
import numpy as np
import pandas as pd

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
import nt_formulas as ntf  # noqa: E402


def names(ds) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in ds[()]]


class Store:
    def __init__(self, path: str, target: str, benchmark: str | None):
        self.f = h5py.File(path, "r")
        fmt = self.f.attrs.get("format")
        fmt = fmt.decode() if isinstance(fmt, bytes) else fmt
        if fmt != "backscore-store" or int(self.f.attrs.get("version", -1)) not in (1, 2):
            raise SystemExit(f"{path}: not a backscore-store file of version 1 or 2")
        self.models = names(self.f["models/names"])
        self.eras = names(self.f["eras/names"])
        self.targets = names(self.f["schema/targets"])
        self.benchmarks = names(self.f["schema/benchmarks"]) if "schema/benchmarks" in self.f else []
        self.features = names(self.f["schema/features"]) if "schema/features" in self.f else []
        self.neutralizers = (names(self.f["schema/neutralizers"])
                             if "schema/neutralizers" in self.f else [])
        self.has_weights = bool(int(self.f.attrs.get("has_sample_weights", 0)))
        self.has_stakes = bool(int(self.f.attrs.get("has_stakes", 0)))
        if not int(self.f.attrs.get("has_meta_model", 0)):
            raise SystemExit(f"{path}: no meta_model; mmc/mmc2 need one")
        if target not in self.targets:
            raise SystemExit(f"{path}: no target {target!r} (has {self.targets})")
        self.target_row = self.targets.index(target)
        self.bench_row = None
        if self.benchmarks:
            b = benchmark or self.benchmarks[0]
            if b not in self.benchmarks:
                raise SystemExit(f"{path}: no benchmark {b!r} (has {self.benchmarks})")
            self.bench_row = self.benchmarks.index(b)

    def era(self, e: int) -> tuple[ntf.EraData, pd.DataFrame]:
        g = self.f[f"eras/{e:06d}"]
        ids = pd.Index(names(g["ids"]), name="id")
        data = ntf.EraData(
            name=self.eras[e],
            target=pd.Series(g["targets"][self.target_row], index=ids, name="target"),
            meta_model=pd.Series(g["meta_model"][()], index=ids, name="meta_model"),
            benchmark=(pd.Series(g["benchmarks"][self.bench_row], index=ids, name="benchmark")
                       if self.bench_row is not None else None),
            features=(pd.DataFrame(g["features"][()].T.astype(np.float64), index=ids,
                                   columns=self.features) if self.features else None),
            neutralizers=(pd.DataFrame(g["neutralizers"][()].T, index=ids,
                                       columns=self.neutralizers) if self.neutralizers else None),
            sample_weights=(pd.Series(g["sample_weights"][()], index=ids, name="sample_weight")
                            if self.has_weights else None),
        )
        model_idx = g["models"][()]
        columns = [self.models[i] for i in model_idx]
        preds = pd.DataFrame(g["predictions"][()].T.astype(np.float64), index=ids, columns=columns)
        stakes = pd.Series(g["stakes"][()], index=columns) if self.has_stakes else None
        return data, preds, stakes


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--formulas", default="all",
                    help=f"'all' or a comma list of {', '.join(ntf.BASE_FORMULAS)}")
    ap.add_argument("--top-bottom", type=int, default=0,
                    help=f"also the _tbK variants of {', '.join(ntf.TOP_BOTTOM_FORMULAS)}")
    ap.add_argument("--max-eras", type=int, default=0, help="stop after this many eras (0 = all)")
    ap.add_argument("--time-limit", type=float, default=0, help="stop after the era that passes this many seconds")
    ap.add_argument("--target", default="target")
    ap.add_argument("--benchmark", default=None, help="benchmark for bmc (default: the store's first)")
    ap.add_argument("--scores-csv", help="also write the scores (model,era,<formula>...) here, untimed")
    a = ap.parse_args()

    store = Store(a.store, a.target, a.benchmark)
    known = ntf.BASE_FORMULAS + ntf.SIGNALS_FORMULAS + ntf.DIAGNOSTICS
    signals = bool(store.neutralizers)
    base = ntf.BASE_FORMULAS + (
        [f for f in ntf.SIGNALS_FORMULAS if store.has_weights or f in ("neutral_corr", "neutral_mmc")]
        if signals else []) if a.formulas == "all" else [f.strip() for f in a.formulas.split(",")]
    unknown = [f for f in base if f not in known]
    if unknown:
        ap.error(f"unknown formulas {unknown}; known: {known}")
    if store.bench_row is None:
        base = [f for f in base if f != "bmc"]
    if not store.features:
        base = [f for f in base if f != "fnc"]
    cols = list(base)
    if a.top_bottom > 0:
        cols += [f"{f}_tb{a.top_bottom}" for f in
                 ntf.TOP_BOTTOM_FORMULAS + ntf.SIGNALS_TOP_BOTTOM + ntf.DIAGNOSTICS if f in base]

    n_eras = len(store.eras) if a.max_eras <= 0 else min(a.max_eras, len(store.eras))
    predictions = model_eras = eras_done = 0
    read_s = score_s = 0.0
    results = []
    t0 = time.perf_counter()
    for e in range(n_eras):
        t = time.perf_counter()
        era, preds, stakes = store.era(e)
        read_s += time.perf_counter() - t
        t = time.perf_counter()
        scores = ntf.score_era_batched(era, preds, a.top_bottom, cols, stakes)
        score_s += time.perf_counter() - t
        predictions += preds.size
        model_eras += preds.shape[1]
        eras_done += 1
        if a.scores_csv:
            results.append(scores.assign(era=era.name))
        if a.time_limit > 0 and time.perf_counter() - t0 > a.time_limit:
            break
    wall = time.perf_counter() - t0

    rate = predictions / wall if wall > 0 else 0.0
    print(f"nt_rescore: {eras_done}/{len(store.eras)} eras, {model_eras} model-eras, "
          f"{predictions} predictions, {len(cols)} formulas ({','.join(cols)}): "
          f"{wall:.2f} s (read {read_s:.2f} s, score {score_s:.2f} s), "
          f"{rate:.4g} predictions/s, {model_eras / wall if wall > 0 else 0:.4g} model-eras/s")
    print(f"RESULT tool=numerai-tools eras={eras_done} model_eras={model_eras} "
          f"predictions={predictions} formulas={len(cols)} seconds={wall:.6f} "
          f"predictions_per_s={rate:.6g}")

    if a.scores_csv:
        with open(a.scores_csv, "w") as f:
            f.write(",".join(["model", "era"] + cols) + "\n")
            for df in results:
                for model, row in df.iterrows():
                    cells = ["" if math.isnan(row[c]) else f"{row[c]:.17g}" for c in cols]
                    f.write(",".join([model, row["era"]] + cells) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
