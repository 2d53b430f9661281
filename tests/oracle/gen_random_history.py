#!/usr/bin/env python3
"""Random tournament history for the numerai-tools oracle test.

  gen_random_history.py --seed S --out DIR      -> DIR/universe.csv, DIR/predictions.csv

Deterministic in the seed (numpy default_rng). Built to hit the corners where a re-implementation
of numerai-tools goes wrong:
- eras of 7, 23, 40, 150, 1000 and 2500 stocks (7 < 2K for K = 5: top/bottom scores are NaN);
- ids mostly "s00042", plus ids of other lengths and cases ("s42", "s0042", "s100000", "S00042",
  "12345", "t1") so byte order differs from numeric order; rows shuffled within each era;
- targets in {0, .25, .5, .75, 1}; era "era0004" holds centered returns (mmc's x4 branch off);
  era "era0006" is bucketed except one id at 1.25, which m_miss19 does not submit (so mmc's
  "all targets in [0, 1]" test passes for m_miss19 there and fails for everyone else);
- meta-model eras with positive and negative correlation (both mmc2_burnflip branches), heavy
  meta-model ties in one era; two benchmarks; a second target (target_alt) that must be ignored;
- features 0..4 with an exact duplicate, a shifted copy (collinear with the intercept) and a
  column constant within one era;
- models: exact meta-model clone and mirror (1 - p), a constant, heavy ties, integer-valued,
  negative-valued, near clone, missing 5% / 19% / exactly 20% (still scored where n % 5 == 0) /
  25% (never scored) of ids (absent rows and empty cells), and models absent from some eras.
With --features N (the wide case), N more features in eras of 600 to 1500 stocks (more rows than
features, as fnc needs): integer 0..4 columns correlated in groups, exact duplicates, a column
constant in every era (collinear with the intercept), one constant in one era only, and exact
linear combinations (sums and differences) of other features.
Meta-model, benchmark and most prediction values are multiples of 2**-20 in [-1, 2]: exact in
float32, and their shortest decimal parses back exactly. m_round1/m_round2 ("0.37") are not, but
equal decimals stay equal (tied) after the store's float32 rounding.
"""

from __future__ import annotations

import argparse
import math
import os

import numpy as np
import pandas as pd
from scipy import stats

GRID = 2.0**20
ODD_IDS = ["s42", "s0042", "s100000", "S00042", "12345", "t1"]
# (name, stocks, target kind, meta-model sign: +1 helps, -1 burns)
ERAS = [
    ("era0001", 7, "buckets", -1),
    ("era0002", 23, "buckets", +1),
    ("era0003", 150, "buckets", -1),
    ("era0004", 1000, "returns", +1),
    ("era0005", 2500, "buckets", -1),
    ("era0006", 40, "odd_bucket", +1),
]
TIED_META_ERA = "era0003"
FLAT_FEATURE_ERA = "era0001"
MODELS = [
    "m_clone", "m_mirror", "m_const", "m_round1", "m_round2", "m_int", "m_gauss", "m_noise",
    "m_nearclone", "m_bench", "m_neg", "m_miss05", "m_miss19", "m_miss20", "m_miss25",
    "m_sparse", "m_late",
]
ABSENT = {"m_sparse": {"era0002", "era0005"}, "m_late": {"era0001"}}
MISSING = {  # fraction of ids not submitted, rounding, how the gap is written
    "m_miss05": (0.05, math.floor, "absent"),
    "m_miss19": (0.19, math.floor, "empty"),
    "m_miss20": (0.20, math.floor, "mixed"),
    "m_miss25": (0.25, math.ceil, "mixed"),
}


def dyadic(x: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * GRID) / GRID


def to_unit(z: np.ndarray) -> np.ndarray:
    """Gaussian scores to (0, 1) on the 2**-20 grid."""
    return dyadic(stats.norm.cdf(z))


def buckets(z: np.ndarray) -> np.ndarray:
    """Numerai-like 5/20/50/20/5% buckets {0, .25, .5, .75, 1} of z."""
    q = np.quantile(z, [0.05, 0.25, 0.75, 0.95])
    return np.digitize(z, q) / 4.0


def era_ids(rng: np.random.Generator, n: int) -> list[str]:
    odd = list(rng.choice(ODD_IDS, size=min(len(ODD_IDS), max(1, n // 10)), replace=False))
    nums = rng.choice(60000, size=n - len(odd), replace=False)
    return [f"s{i:05d}" for i in nums] + odd


# The wide case (--features N): fewer, larger eras.
WIDE_ERAS = [
    ("era0001", 600, "buckets", -1),
    ("era0002", 1000, "returns", +1),
    ("era0003", 1500, "buckets", +1),
]


def wide_features(rng: np.random.Generator, name: str, n: int, k: int, latent: np.ndarray) -> dict:
    """k integer features: groups sharing a latent factor, with exact redundancies."""
    cols: dict = {}
    factors = [latent] + [rng.standard_normal(n) for _ in range(4)]
    for j in range(k):
        key = f"feature_w{j:03d}"
        kind = j % 10
        if j >= 10 and kind == 3:  # exact duplicate of an earlier feature
            cols[key] = cols[f"feature_w{j - 7:03d}"].copy()
        elif j >= 10 and kind == 7:  # exact linear combination of two earlier ones
            cols[key] = cols[f"feature_w{j - 1:03d}"] + cols[f"feature_w{j - 5:03d}"]
        elif j >= 10 and kind == 9:  # and a difference
            cols[key] = cols[f"feature_w{j - 2:03d}"] - cols[f"feature_w{j - 8:03d}"]
        elif j == 4:  # constant in every era
            cols[key] = np.full(n, 2)
        elif j == 5 and name == FLAT_FEATURE_ERA:  # constant in one era
            cols[key] = np.full(n, 1)
        else:
            f = factors[j % len(factors)]
            cols[key] = np.digitize(f + rng.standard_normal(n), [-1.5, -0.5, 0.5, 1.5])
    return cols


def make_era(rng: np.random.Generator, name: str, n: int, kind: str, sign: int,
             n_wide: int = 0):
    ids = era_ids(rng, n)
    latent = rng.standard_normal(n)
    target_z = latent + 1.5 * rng.standard_normal(n)
    uni = {"era": name, "id": ids}
    if kind == "returns":
        r = 0.05 * target_z
        uni["target"] = dyadic(r - np.median(r))
    else:
        t = buckets(target_z)
        odd_id = None
        if kind == "odd_bucket":
            j = int(rng.integers(n))
            t[j], odd_id = 1.25, ids[j]
        uni["target"] = t
    uni["target_alt"] = buckets(-latent + rng.standard_normal(n))
    meta_z = sign * 0.8 * latent + rng.standard_normal(n)
    meta = to_unit(meta_z)
    if name == TIED_META_ERA:
        meta = np.round(meta * 8) / 8
    uni["meta_model"] = meta
    bench_z = 0.5 * latent + rng.standard_normal(n)
    uni["benchmark_main"] = to_unit(bench_z)
    uni["benchmark_other"] = to_unit(rng.standard_normal(n))
    fa = np.digitize(latent + rng.standard_normal(n), [-1.5, -0.5, 0.5, 1.5])
    fb = rng.integers(0, 5, n)
    uni["feature_a"] = fa
    uni["feature_b"] = fb
    uni["feature_c"] = rng.integers(0, 5, n)
    uni["feature_dup"] = fa.copy()
    uni["feature_shift"] = fb + 2
    uni["feature_flat"] = np.full(n, 2) if name == FLAT_FEATURE_ERA else rng.integers(0, 5, n)
    if n_wide > 0:
        uni.update(wide_features(rng, name, n, n_wide, latent))
    universe = pd.DataFrame(uni)

    def signal(w: float) -> np.ndarray:
        return w * latent + rng.standard_normal(n)

    preds = {}
    for m in MODELS:
        if name in ABSENT.get(m, ()):
            continue
        if m == "m_clone":
            p = meta.copy()
        elif m == "m_mirror":
            p = 1.0 - meta
        elif m == "m_const":
            p = np.full(n, 0.5)
        elif m == "m_round1":
            p = np.round(to_unit(signal(0.6)), 1)
        elif m == "m_round2":
            p = np.round(to_unit(signal(0.6)), 2)
        elif m == "m_int":
            p = rng.integers(0, 5, n).astype(float)
        elif m == "m_noise":
            p = to_unit(rng.standard_normal(n))
        elif m == "m_nearclone":
            p = to_unit(meta_z + 0.2 * rng.standard_normal(n))
        elif m == "m_bench":
            p = to_unit(bench_z + 0.3 * rng.standard_normal(n))
        elif m == "m_neg":
            p = 3.0 * to_unit(signal(0.4)) - 1.0
        else:  # m_gauss, m_miss*, m_sparse, m_late
            p = to_unit(signal(0.5))
        cells = [repr(float(v)) for v in p]
        present = np.ones(n, dtype=bool)
        if m in MISSING:
            frac, rounding, how = MISSING[m]
            n_miss = int(rounding(frac * n))
            forced = [ids.index(odd_id)] if (m == "m_miss19" and kind == "odd_bucket") else []
            pool = np.setdiff1d(np.arange(n), forced)
            gone = np.concatenate([forced, rng.choice(pool, n_miss - len(forced), replace=False)])
            gone = gone.astype(int)
            for i, j in enumerate(gone):
                if how == "empty" or (how == "mixed" and i % 2 == 0):
                    cells[j] = ""
                else:
                    present[j] = False
        preds[m] = [(m, name, ids[i], cells[i]) for i in range(n) if present[i]]
    rows = [r for m in preds for r in preds[m]]
    order = rng.permutation(len(rows))
    predictions = pd.DataFrame([rows[i] for i in order], columns=["model", "era", "id", "prediction"])
    universe = universe.iloc[rng.permutation(n)]
    return universe, predictions


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--features", type=int, default=0,
                    help="add this many wide features (rank-deficient), in larger eras")
    ap.add_argument("--signals", action="store_true",
                    help="add sample weights, neutralizers (with an exact duplicate and a sum: "
                         "collinear) and DIR/stakes.csv (some stakes 0)")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    unis, preds = [], []
    for name, n, kind, sign in (WIDE_ERAS if a.features > 0 else ERAS):
        u, p = make_era(rng, name, n, kind, sign, a.features)
        unis.append(u)
        preds.append(p)
    universe = pd.concat(unis, ignore_index=True)
    numeric = ["target", "target_alt", "meta_model", "benchmark_main", "benchmark_other"]
    if a.signals:  # from a generator of its own: the history without --signals is unchanged
        srng = np.random.default_rng(a.seed + 1000)
        n = len(universe)
        universe["sample_weight"] = dyadic(np.exp(0.5 * srng.standard_normal(n))) + 2.0**-10
        crowd = np.array([float(v) for v in universe["meta_model"]]) - 0.5
        base = [dyadic(0.6 * crowd / 0.3 + 0.8 * srng.standard_normal(n))]
        base += [dyadic(srng.standard_normal(n)) for _ in range(3)]
        for k, col in enumerate(base):
            universe[f"neutralizer_n{k + 1}"] = col
        universe["neutralizer_dup"] = base[0].copy()  # collinear: an exact duplicate
        universe["neutralizer_sum"] = base[1] + base[2]  # and an exact sum
        numeric += ["sample_weight"] + [c for c in universe.columns if c.startswith("neutralizer_")]
        models = pd.concat(preds, ignore_index=True)[["model", "era"]].drop_duplicates()
        stake = dyadic(np.exp(3 + 1.5 * srng.standard_normal(len(models))))
        stake[srng.random(len(models)) < 0.2] = 0.0  # unstaked
        models = models.assign(stake=[repr(float(v)) for v in stake])
        models.to_csv(os.path.join(a.out, "stakes.csv"), index=False)
    for c in numeric:
        universe[c] = [repr(float(v)) for v in universe[c]]
    universe.to_csv(os.path.join(a.out, "universe.csv"), index=False)
    pd.concat(preds, ignore_index=True).to_csv(os.path.join(a.out, "predictions.csv"), index=False)
    print(f"history seed {a.seed}: {len(universe)} stock-eras, "
          f"{sum(len(p) for p in preds)} prediction rows -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
