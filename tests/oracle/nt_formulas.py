"""backscore's built-in formulas written with numerai-tools 0.7.2, the reference implementation.

Shared by tests/oracle/oracle_scores.py (per model-era, exactly the contract backscore must meet)
and bench/nt_rescore.py (the same numbers computed the way a user would: one numerai-tools call
on all the era's complete prediction columns at once). Definitions: docs/FORMULAS.md.

Every function takes era data with ids sorted ascending (Python string order = UTF-8 byte order,
the store's order) and predictions as a float64 Series/DataFrame over the whole era, NaN = not
submitted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import numpy as np
import pandas as pd
from numerai_tools import scoring as nt

# The 20% rule: a model missing more than this fraction of an era's ids is not scored there.
MAX_FILTERED_RATIO = nt.DEFAULT_MAX_FILTERED_INDEX_RATIO
BASE_FORMULAS = ["corr_v1", "corr", "mmc", "bmc", "mmc2", "mmc2_burnflip", "fnc"]
TOP_BOTTOM_FORMULAS = ["corr", "mmc", "bmc", "fnc"]
# numerai-tools 0.7.2's Signals-era formulas (a store with neutralizers, sample weights, stakes)
SIGNALS_FORMULAS = ["neutral_corr", "neutral_mmc", "alpha", "mpc"]
SIGNALS_TOP_BOTTOM = ["neutral_corr", "neutral_mmc"]
# the diagnostic, computed only when named
DIAGNOSTICS = ["max_feature_corr"]
MMC2_SCALE = 0.29**2


def formula_columns(top_bottom: int, signals: bool = False, diagnostics: bool = False) -> List[str]:
    cols = list(BASE_FORMULAS)
    tb = list(TOP_BOTTOM_FORMULAS)
    if signals:
        cols += SIGNALS_FORMULAS
        tb += SIGNALS_TOP_BOTTOM
    if diagnostics:
        cols += DIAGNOSTICS
        tb += DIAGNOSTICS
    if top_bottom > 0:
        cols += [f"{f}_tb{top_bottom}" for f in tb]
    return cols


@dataclass
class EraData:
    """One era: everything but the predictions, indexed by the sorted stock ids."""

    name: str
    target: pd.Series  # the default target, name "target"
    meta_model: pd.Series  # name "meta_model"
    benchmark: Optional[pd.Series]  # the first benchmark, or None
    features: Optional[pd.DataFrame]  # stocks x features, or None
    neutralizers: Optional[pd.DataFrame] = None  # stocks x neutralizers, or None
    sample_weights: Optional[pd.Series] = None

    def __post_init__(self) -> None:
        idx = self.target.index
        assert idx.is_unique and idx.is_monotonic_increasing, f"era {self.name}: ids not sorted"
        for s in (self.meta_model, self.benchmark, self.features, self.neutralizers,
                  self.sample_weights):
            assert s is None or s.index.equals(idx), f"era {self.name}: misaligned ids"

    @property
    def n(self) -> int:
        return len(self.target)


def _guard(fn: Callable[[], float]) -> float:
    """numerai-tools signals 'cannot score' with AssertionError; any NaN result is NaN."""
    try:
        v = float(fn())
    except AssertionError:
        return math.nan
    return v if math.isfinite(v) else math.nan


def max_feature_corr(pred_s: pd.Series, feats_s: pd.DataFrame, top_bottom: Optional[int]) -> float:
    """nt.max_feature_correlation's value; NaN when every feature's corr is NaN (a constant pred:
    pandas' idxmax then has nothing to return and numerai-tools raises)."""
    try:
        return nt.max_feature_correlation(pred_s, feats_s, top_bottom=top_bottom)[1]
    except (ValueError, KeyError, TypeError):
        return math.nan


def mpc_era(era: EraData, preds: pd.DataFrame, stakes: pd.Series) -> pd.Series:
    """meta_portfolio_contribution over the era's models that submitted every id (backscore's
    portfolio: docs/FORMULAS.md); NaN for the others and wherever numerai-tools raises."""
    out = pd.Series(math.nan, index=preds.columns, dtype=float)
    full = [m for m in preds.columns if preds[m].notna().all()]
    if not full:
        return out
    try:
        s = nt.meta_portfolio_contribution(preds[full], stakes[full], era.neutralizers,
                                           era.sample_weights, era.target)
    except AssertionError:
        return out
    for m in full:
        v = float(s[m])
        out[m] = v if math.isfinite(v) else math.nan
    return out


# --- ES example_model.py @2292e14 (MMC2 reference code), transcribed verbatim -------------------


def unif(df: pd.Series) -> pd.Series:
    x = (df.rank(method="first") - 0.5) / len(df)
    return pd.Series(x, index=df.index)


def neutralize_series(series: pd.Series, by: pd.Series, proportion: float = 1.0) -> pd.Series:
    scores = series.values.reshape(-1, 1)
    exposures = by.values.reshape(-1, 1)
    # this line makes series neutral to a constant column so that it's centered and for sure gets
    # corr 0 with exposures
    exposures = np.hstack(
        (exposures, np.array([np.mean(series)] * len(exposures)).reshape(-1, 1))
    )
    correction = proportion * (
        exposures.dot(np.linalg.lstsq(exposures, scores, rcond=None)[0])
    )
    corrected_scores = scores - correction
    return pd.Series(corrected_scores.ravel(), index=series.index)


def mmc2(pred_s: pd.Series, meta_s: pd.Series, target_s: pd.Series, proportion: float = 1.0) -> float:
    neutral = neutralize_series(unif(pred_s), unif(meta_s), proportion=proportion)
    return np.cov(neutral, target_s)[0, 1] / MMC2_SCALE


def mmc2_burnflip(pred_s: pd.Series, meta_s: pd.Series, target_s: pd.Series) -> float:
    """The forum /738 proposal: in burn eras (meta-model corr_v1 < 0) take
    max((1 - xcorr) * (corr_v1 - c_mm), mmc2 with proportion -1, corr_v1); else mmc2."""
    c_mm = nt.tie_broken_rank_correlation(target_s, meta_s)
    if not c_mm < 0:
        return mmc2(pred_s, meta_s, target_s)
    corr_v1 = nt.tie_broken_rank_correlation(target_s, pred_s)
    ranked = nt.tie_broken_rank(pred_s.to_frame())[pred_s.name]
    xcorr = np.corrcoef(meta_s, ranked)[0, 1]
    parts = [(1 - xcorr) * (corr_v1 - c_mm), mmc2(pred_s, meta_s, target_s, -1.0), corr_v1]
    # Python's max() silently skips a NaN that is not first; a NaN part makes the score NaN.
    return math.nan if any(math.isnan(p) for p in parts) else max(parts)


# --- per model-era: the contract the oracle checks ----------------------------------------------


def score_model_era(
    era: EraData, pred: pd.Series, top_bottom: int, formulas: Optional[List[str]] = None
) -> Dict[str, float]:
    """Every formula (or the listed formula columns) for one model in one era, using only that
    model's column. pred: float64 over the whole era (same index as era.target), NaN = id not
    submitted. NaN for every formula when more than 20% of the era's ids are missing; NaN for
    the _tbK variants when 2K exceeds the submitted ids; NaN for bmc/fnc without benchmark or
    features; NaN wherever numerai-tools raises AssertionError or returns NaN/inf.
    """
    cols = formula_columns(top_bottom) if formulas is None else formulas
    out = {c: math.nan for c in cols}
    pred = pred.rename("prediction")
    pred_s = pred.dropna()
    if len(pred_s) / era.n < 1 - MAX_FILTERED_RATIO:
        return out
    ids = pred_s.index
    target_s = era.target.loc[ids]
    meta_s = era.meta_model.loc[ids]
    frame = pred.to_frame()  # numerai_corr and correlation_contribution filter NaN rows themselves
    K = top_bottom if top_bottom > 0 and 2 * top_bottom <= len(pred_s) else None
    tb = f"_tb{top_bottom}"
    calls: Dict[str, Callable[[], float]] = {
        "corr_v1": lambda: nt.tie_broken_rank_correlation(target_s, pred_s),
        "corr": lambda: nt.numerai_corr(frame, era.target).iloc[0],
        "mmc": lambda: nt.correlation_contribution(frame, era.meta_model, era.target).iloc[0],
        "mmc2": lambda: mmc2(pred_s, meta_s, target_s),
        "mmc2_burnflip": lambda: mmc2_burnflip(pred_s, meta_s, target_s),
    }
    if K:
        calls["corr" + tb] = lambda: nt.numerai_corr(frame, era.target, top_bottom=K).iloc[0]
        calls["mmc" + tb] = lambda: nt.correlation_contribution(
            frame, era.meta_model, era.target, top_bottom=K).iloc[0]
    if era.benchmark is not None:
        calls["bmc"] = lambda: nt.correlation_contribution(frame, era.benchmark, era.target).iloc[0]
        if K:
            calls["bmc" + tb] = lambda: nt.correlation_contribution(
                frame, era.benchmark, era.target, top_bottom=K).iloc[0]
    if era.features is not None:
        # feature_neutral_corr needs predictions and features pre-aligned on the submitted ids
        feats_s = era.features.loc[ids]
        calls["fnc"] = lambda: nt.feature_neutral_corr(pred_s.to_frame(), feats_s, era.target).iloc[0]
        if K:
            calls["fnc" + tb] = lambda: nt.feature_neutral_corr(
                pred_s.to_frame(), feats_s, era.target, top_bottom=K).iloc[0]
    if era.neutralizers is not None:
        calls["neutral_corr"] = lambda: nt.neutral_correlation(
            frame, era.neutralizers, era.target).iloc[0]
        calls["neutral_mmc"] = lambda: nt.neutral_contribution(
            frame, era.meta_model, era.neutralizers, era.target).iloc[0]
        if K:
            calls["neutral_corr" + tb] = lambda: nt.neutral_correlation(
                frame, era.neutralizers, era.target, top_bottom=K).iloc[0]
            calls["neutral_mmc" + tb] = lambda: nt.neutral_contribution(
                frame, era.meta_model, era.neutralizers, era.target, top_bottom=K).iloc[0]
        if era.sample_weights is not None:
            calls["alpha"] = lambda: nt.alpha(frame, era.neutralizers, era.sample_weights,
                                              era.target).iloc[0]
    if era.features is not None:
        feats_s = era.features.loc[ids]
        calls["max_feature_corr"] = lambda: max_feature_corr(pred_s, feats_s, None)
        if K:
            calls["max_feature_corr" + tb] = lambda: max_feature_corr(pred_s, feats_s, K)
    for c in cols:
        if c in calls:
            out[c] = _guard(calls[c])
    return out


# --- per era, the way a user would: batched numerai-tools calls -------------------------------


def score_era_batched(
    era: EraData, preds: pd.DataFrame, top_bottom: int, formulas: Optional[List[str]] = None,
    stakes: Optional[pd.Series] = None,
) -> pd.DataFrame:
    """Every formula for every model of an era (preds: ids x models, NaN = not submitted), the
    way a user would: one numerai-tools call on all the era's columns that can share one.

    numerai-tools drops a row from ALL columns when ANY column is NaN there, so only the columns
    that submitted every id are batched; columns with missing ids are scored one at a time. For
    fnc the constant columns are left out of the batch as well (neutralize() turns them into
    all-NaN columns, which would empty every other column). corr_v1 and the MMC2 family have no
    multi-column form and loop. Returns a models x formula-columns DataFrame equal to
    score_model_era on every model (checked by oracle_scores.py --self-test and --batched).
    """
    cols = formula_columns(top_bottom) if formulas is None else formulas
    out = pd.DataFrame(math.nan, index=preds.columns, columns=cols, dtype=float)
    coverage = preds.notna().sum(axis=0) / era.n
    full = preds.columns[coverage == 1.0]
    partial = preds.columns[(coverage < 1.0) & (coverage >= 1 - MAX_FILTERED_RATIO)]
    for m in partial:
        row = score_model_era(era, preds[m], top_bottom, cols)
        out.loc[m] = [row[c] for c in cols]
    if len(full) == 0:
        return out
    P = preds[full]
    varying = full[(P.max() > P.min()).to_numpy()]
    K = top_bottom if top_bottom > 0 and 2 * top_bottom <= era.n else None
    tb = f"_tb{top_bottom}"
    # formula column -> (columns batched together, numerai-tools call on a DataFrame of them)
    calls: Dict[str, tuple] = {
        "corr": (full, lambda X: nt.numerai_corr(X, era.target)),
        "mmc": (full, lambda X: nt.correlation_contribution(X, era.meta_model, era.target)),
    }
    if K:
        calls["corr" + tb] = (full, lambda X: nt.numerai_corr(X, era.target, top_bottom=K))
        calls["mmc" + tb] = (full, lambda X: nt.correlation_contribution(
            X, era.meta_model, era.target, top_bottom=K))
    if era.benchmark is not None:
        calls["bmc"] = (full, lambda X: nt.correlation_contribution(X, era.benchmark, era.target))
        if K:
            calls["bmc" + tb] = (full, lambda X: nt.correlation_contribution(
                X, era.benchmark, era.target, top_bottom=K))
    if era.features is not None:
        calls["fnc"] = (varying, lambda X: nt.feature_neutral_corr(X, era.features, era.target))
        if K:
            calls["fnc" + tb] = (varying, lambda X: nt.feature_neutral_corr(
                X, era.features, era.target, top_bottom=K))
    if era.neutralizers is not None:
        # neutralize() turns a constant column into NaN, which lstsq spreads to every column:
        # the varying ones together, as fnc's
        calls["neutral_corr"] = (varying, lambda X: nt.neutral_correlation(
            X, era.neutralizers, era.target))
        calls["neutral_mmc"] = (varying, lambda X: nt.neutral_contribution(
            X, era.meta_model, era.neutralizers, era.target))
        if K:
            calls["neutral_corr" + tb] = (varying, lambda X: nt.neutral_correlation(
                X, era.neutralizers, era.target, top_bottom=K))
            calls["neutral_mmc" + tb] = (varying, lambda X: nt.neutral_contribution(
                X, era.meta_model, era.neutralizers, era.target, top_bottom=K))
        if era.sample_weights is not None:
            calls["alpha"] = (full, lambda X: nt.alpha(X, era.neutralizers, era.sample_weights,
                                                       era.target))
    for name, (batch, fn) in calls.items():
        if name not in cols:
            continue
        if len(batch):
            try:
                s = fn(P[batch]).astype(float)
                out.loc[batch, name] = s.where(np.isfinite(s)).to_numpy()
            except AssertionError:  # one column's power() check fails the frame: one by one
                for m in batch:
                    out.loc[m, name] = score_model_era(era, P[m], top_bottom, [name])[name]
        for m in full.difference(batch):  # constant columns: their own call (NaN for fnc)
            out.loc[m, name] = score_model_era(era, P[m], top_bottom, [name])[name]
    loops = {
        "corr_v1": lambda p: nt.tie_broken_rank_correlation(era.target, p),
        "mmc2": lambda p: mmc2(p, era.meta_model, era.target),
        "mmc2_burnflip": lambda p: mmc2_burnflip(p, era.meta_model, era.target),
    }
    for name, fn in loops.items():
        if name in cols:
            out.loc[full, name] = [_guard(lambda: fn(P[m].rename("prediction"))) for m in full]
    if "mpc" in cols and stakes is not None:
        out.loc[:, "mpc"] = mpc_era(era, preds, stakes.reindex(preds.columns).fillna(0.0)).to_numpy()
    return out


# --- the toy era of MOTIVATION.md (forum thread /738) --------------------------------------------

TOY_TARGET = [0, 0, 0, 0, .25, .25, .25, .25, .5, .5, .5, .5, .75, .75, .75, .75, 1, 1, 1, 1]
TOY_META = [1, 0, .25, 1, .5, .75, .5, .5, 1, .75, .75, 0, 0, .25, .25, 1, 0, .25, .5, .75]
TOY_B = [1, 1, .75, 0, .5, .25, .5, .25, 0, .5, .25, 1, 1, .75, .75, 0, 0, .75, .5, .25]
TOY_EXPECTED = {
    "A": {"corr_v1": 0.024525573579399, "corr": -0.189437267212178, "mmc": 0.073594891818024,
          "mmc2": 0.100531383531110, "mmc2_burnflip": 0.024525573579399},
    "B": {"corr_v1": 0.024525573579399, "corr": -0.215659199540114, "mmc": -0.360330986474825,
          "mmc2": -0.015610244084459, "mmc2_burnflip": 0.130046459997707},
    "meta": {"corr_v1": -0.055182540553647},
}


def toy_era() -> tuple[EraData, Dict[str, pd.Series]]:
    ids = pd.Index([f"id{i:02d}" for i in range(20)])
    era = EraData(
        name="toy",
        target=pd.Series(TOY_TARGET, index=ids, dtype=float, name="target"),
        meta_model=pd.Series(TOY_META, index=ids, dtype=float, name="meta_model"),
        benchmark=None,
        features=None,
    )
    a = list(TOY_META)
    a[4], a[17] = .25, .5
    models = {
        "A": pd.Series(a, index=ids, dtype=float),
        "B": pd.Series(TOY_B, index=ids, dtype=float),
        "meta": pd.Series(TOY_META, index=ids, dtype=float),
    }
    return era, models
