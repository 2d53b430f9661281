"""simulate, read_simulation and Simulation: `backscore simulate` (backscore._backscore) as pandas
frames."""
import math
import os

import numpy as np
import pandas as pd

from . import _backscore
from ._api import _formula_files, _interactive, _Progress

# The columns of Simulation.summary(), as the CLI's summary table names them.
SUMMARY_COLUMNS = ["mm_corr", "mm_corr_2nd_half", "effective_models", "mean_xcorr",
                   "final_stake", "paid"]


class Simulation:
    """What `backscore simulate` computed, as returned by simulate() and read_simulation().

    eras: DataFrame indexed by (rule, era), one row per rule and simulated era (rules in the
    given order, then eras in order: eras.csv's rows grouped by rule), the per-era quantities
    (models, total_stake, effective_models, gini, mean_xcorr, mm_corr_v1, mm_corr, mm_pearson,
    payout_factor, paid, mean_payout) and store_mm_corr, float64, NaN where eras.csv's cell is
    empty. stakes: DataFrame indexed by (rule, era, model), one row per rule, era and submitted
    model (model-table order), columns stake (the stake at risk) and payout (the fraction of it
    paid), as stakes.csv. rules: {name: the rule's text, presets expanded}. store, target, flows,
    resolve_lag: what was simulated. Definitions: docs/FORMULAS.md, "Simulation".
    """

    def __init__(self, eras, stakes, rules, store, target, flows, resolve_lag):
        self.eras = eras
        self.stakes = stakes
        self.rules = rules
        self.store = store
        self.target = target
        self.flows = flows
        self.resolve_lag = resolve_lag

    def summary(self):
        """Per rule (indexed by rule), the numbers the CLI's summary table prints: mean mm_corr,
        its mean over the second half (the last E - floor(E/2) eras), mean effective_models
        (both over the eras with a finite mm_corr), mean mean_xcorr (over its finite eras), the
        last era's total_stake and the total paid; summed in era order as the CLI sums them, so
        the same doubles."""
        rows = []
        for name in self.rules:
            e = self.eras.xs(name, level="rule") if len(self.eras) else self.eras
            mm = e["mm_corr"].tolist()
            effective = e["effective_models"].tolist()
            xcorr = e["mean_xcorr"].tolist()
            paid = e["paid"].tolist()
            stake = e["total_stake"].tolist()
            half = len(mm) // 2
            s_mm = s_late = s_eff = s_x = s_paid = 0.0
            n_mm = n_late = n_x = 0
            for k, v in enumerate(mm):  # sequentially, as the CLI (not sum(): compensated)
                if math.isfinite(v):
                    s_mm += v
                    s_eff += effective[k]
                    n_mm += 1
                    if k >= half:
                        s_late += v
                        n_late += 1
                if math.isfinite(xcorr[k]):
                    s_x += xcorr[k]
                    n_x += 1
                s_paid += paid[k]

            def mean(total, n):
                return total / n if n > 0 else math.nan

            rows.append([mean(s_mm, n_mm), mean(s_late, n_late), mean(s_eff, n_mm),
                         mean(s_x, n_x), stake[-1] if stake else 0.0, s_paid])
        return pd.DataFrame(rows, index=pd.Index(list(self.rules), name="rule", dtype=object),
                            columns=SUMMARY_COLUMNS, dtype=np.float64)

    def __repr__(self):
        n_eras = len(self.eras) // max(len(self.rules), 1)
        return (f"<backscore.Simulation of {self.store}: {len(self.rules)} rule(s) "
                f"({', '.join(self.rules)}), {n_eras} eras, lag {self.resolve_lag}, "
                f"flows {self.flows}>")


def _simulation(r, rule_index, era_index, model_index, stake, payout):
    rules, eras, quantities = r["rules"], r["eras"], r["quantities"]
    n_rules, n_eras = len(rules), len(eras)
    rule_level = pd.Index(rules, dtype=object)
    era_level = pd.Index(eras, dtype=object)
    index = pd.MultiIndex(levels=[rule_level, era_level],
                          codes=[np.repeat(np.arange(n_rules), n_eras),
                                 np.tile(np.arange(n_eras), n_rules)],
                          names=["rule", "era"], verify_integrity=False)
    values = np.asarray(r["era_quantities"]).reshape(n_rules * n_eras, len(quantities))
    era_frame = pd.DataFrame(values, index=index, columns=pd.Index(quantities, dtype=object))
    era_frame["store_mm_corr"] = np.tile(np.asarray(r["store_mm_corr"]), n_rules)
    stake_index = pd.MultiIndex(
        levels=[rule_level, era_level, pd.Index(r["models"], dtype=object)],
        codes=[rule_index, era_index, model_index], names=["rule", "era", "model"],
        verify_integrity=False)
    stakes = pd.DataFrame({"stake": np.asarray(stake, np.float64),
                           "payout": np.asarray(payout, np.float64)}, index=stake_index)
    return Simulation(era_frame, stakes, dict(zip(rules, r["rule_texts"])), r["store"],
                      r["target"], r["flows"], int(r["resolve_lag"]))


def _rule_list(rules):
    """rules: {name: text or preset} (ordered) or a list of presets and "NAME=EXPR" strings, as
    the CLI's --rule values."""
    if isinstance(rules, str):
        return [rules]
    if isinstance(rules, dict):
        out = []
        for name, text in rules.items():
            name, text = str(name), str(text)
            if "=" in name:  # the C++ would split it elsewhere: refuse it as a bad name
                raise _backscore.InputError(
                    f"--rule '{name}={text}': the name must be 1-64 letters, digits, '_', '-' "
                    "or '.'")
            out.append(f"{name}={text}")
        return out
    return [str(r) for r in rules]


def _payout_params(params):
    """payout_params: None, {name: value}, "NAME=VALUE,..." or a list of "NAME=VALUE"."""
    if params is None:
        return []
    if isinstance(params, dict):
        return [f"{k}={v}" for k, v in params.items()]
    if isinstance(params, str):
        return [p for p in params.split(",") if p]
    return [str(p) for p in params]


def simulate(store, rules, *, out=None, define=None, formula_file=None, target="target",
             benchmark=None, start=None, resolve_lag=4, flows="none", observed_payout=None,
             payout_params=None, payout_threshold=None, threads=0, backend="auto", device=0,
             resume=False, progress=None):
    """Simulates what the stakes and the meta-model would have become had the tournament paid by
    each rule, as `backscore simulate` does (the same C++ steps, so the same numbers to the bit),
    and returns a Simulation (its eras and stakes frames hold what eras.csv and stakes.csv would).

    rules: {name: rule} in order, each rule a payout rule of the formula language or a preset's
    name (e.g. {"mmc": "numerai2024", "half": "clip(0.5*corr + mmc, -0.05, 0.05)"}), or a list
    of presets and "NAME=EXPR" strings, as the CLI's --rule. define: {"name": "expression"}
    formulas of the language the rules may name (the CLI's --formula 'name = expression'),
    evaluated against each rule's meta-model; formula_file: a path or a list of paths
    (--formula-file). out: also write the simulation file
    (--out SIM.h5), its journal beside it (OUT.partial) so that resume=True continues a
    simulation that was stopped (Ctrl-C) or killed; without out the journal lies in the temporary
    directory, is removed at the end, and nothing else is written. target, benchmark, start (the
    first era), resolve_lag, flows ("none", "observed"), observed_payout (a rule or preset, with
    flows="observed"), payout_params ({name: value} or
    "NAME=VALUE" strings), payout_threshold (None: each rule's own), threads (0: all cores),
    backend ("auto", "cpu", "cuda"), device, resume: the CLI's options of the same names. progress: None shows it when someone watches (a
    terminal, a notebook), True always, False never. The interpreter is free while the engine
    simulates (the GIL is released); Ctrl-C stops after the current era. Errors the CLI prints as
    one line are raised as InputError with the same line.
    """
    show = _interactive() if progress is None else bool(progress)
    bar = _Progress("backscore simulate") if show else None
    try:
        r = _backscore.simulate(
            os.fspath(store), _rule_list(rules), os.fspath(out) if out else "", target,
            benchmark or "", start or "", int(resolve_lag), flows, _payout_params(payout_params),
            None if payout_threshold is None else float(payout_threshold), int(threads),
            bool(resume), bar, [f"{name} = {expr}" for name, expr in (define or {}).items()],
            _formula_files(formula_file), observed_payout or "", backend, int(device))
    finally:
        if bar is not None:
            bar.close()
    return _simulation(r, r["rule_index"], r["era_index"], r["model_index"], r["stake"],
                       r["payout"])


def read_simulation(path):
    """The simulation file `path` (written by `backscore simulate --out` or simulate(out=...))
    as a Simulation: read_simulation(out) equals what simulate(..., out=out) returned. The file
    keeps a stake per model and era, NaN where the model did not submit, so the stakes rows are
    the model-eras with a stake or a payout."""
    r = _backscore.read_simulation(os.fspath(path))
    stakes = np.asarray(r["stakes"])  # rules x models x eras
    payouts = np.asarray(r["payouts"])
    submitted = np.isfinite(stakes) | np.isfinite(payouts)
    # (rule, era, model) order: eras before models within a rule.
    rule_index, era_index, model_index = np.nonzero(submitted.transpose(0, 2, 1))
    return _simulation(r, rule_index, era_index, model_index,
                       stakes[rule_index, model_index, era_index],
                       payouts[rule_index, model_index, era_index])
