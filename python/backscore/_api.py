"""run, read_scores, compare and audit: the C++ calls of backscore._backscore as pandas frames."""
import math
import os
import sys

import numpy as np
import pandas as pd

from . import _backscore


def _model_list(models):
    """models=: None (every model), one name, or a list of names (names may hold commas)."""
    if models is None:
        return []
    if isinstance(models, str):
        return [models]
    return [str(m) for m in models]


def _names(value, what):
    """A comma-separated string or a list of names, as one comma-separated string."""
    if isinstance(value, str):
        return value
    names = [str(v) for v in value]
    for n in names:
        if "," in n:
            raise _backscore.InputError(f"{what}: the name '{n}' holds a comma")
    return ",".join(names)


def _interactive():
    if "ipykernel" in sys.modules:  # a notebook: stderr is no terminal, but someone watches
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """Eras done of the total: tqdm when installed, else one line on stderr rewritten in place."""

    def __init__(self, desc="backscore run"):
        self.desc = desc
        self.bar = None
        self.tqdm = None
        try:
            from tqdm.auto import tqdm
            self.tqdm = tqdm
        except ImportError:
            pass

    def __call__(self, done, total):
        if self.tqdm is not None:
            if self.bar is None:
                self.bar = self.tqdm(total=total, unit="era", desc=self.desc)
            self.bar.update(done - self.bar.n)
        else:
            end = "\n" if done == total else ""
            print(f"\r  era {done}/{total}", end=end, file=sys.stderr, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _frame(era_names, model_names, era_index, model_index, values, formulas):
    index = pd.MultiIndex(levels=[pd.Index(era_names, dtype=object),
                                  pd.Index(model_names, dtype=object)],
                          codes=[era_index, model_index], names=["era", "model"],
                          verify_integrity=False)
    return pd.DataFrame(values, index=index, columns=pd.Index(formulas, dtype=object))


def _formula_files(formula_file):
    """--formula-file paths from None, one path or a list of paths."""
    if formula_file is None:
        return []
    if isinstance(formula_file, (str, os.PathLike)):
        return [os.fspath(formula_file)]
    return [os.fspath(f) for f in formula_file]


def run(store, formulas=None, define=None, formula_file=None, top_bottom=0, threads=0,
        backend="auto", out=None, csv=None, eras=None, models_file=None, models=None,
        target="target", benchmark=None, batch=0, device=0, progress=None):
    """Scores every model in every era of `store`, as `backscore run` does (the same C++ steps,
    so the same numbers to the bit), and returns a DataFrame indexed by (era, model), one row per
    submitted model-era (eras in store order, models in model-table order), one float64 column
    per formula; NaN where the model-era could not be scored (more than 20% of the era's ids
    missing) or the formula is undefined there.

    formulas: list or comma-separated names (default: every built-in and every definition, like
    the CLI without --formulas); define: {"name": "expression"} (the CLI's --formula 'name =
    expression'); formula_file: a path or a list of paths (--formula-file); top_bottom, threads,
    backend ("auto", "cpu", "cuda"), eras ("FIRST:LAST"), models_file, target, benchmark, batch,
    device: the CLI's options of the same names (0: its default). models: a list of model names
    to score (with models_file, the union of both); an unknown name raises InputError. out, csv: also write the scores
    file and the CSV, as --out and --csv. progress: None shows it when someone watches (a
    terminal, a notebook), True always, False never. The interpreter is free while the engine
    scores (the GIL is released); Ctrl-C stops the run after the current era.
    """
    definitions = [f"{name} = {expr}" for name, expr in (define or {}).items()]
    files = _formula_files(formula_file)
    show = _interactive() if progress is None else bool(progress)
    bar = _Progress() if show else None
    try:
        r = _backscore.run(
            os.fspath(store), None if formulas is None else _names(formulas, "formulas"),
            int(top_bottom), definitions, files, os.fspath(out) if out else "",
            os.fspath(csv) if csv else "", eras or "", os.fspath(models_file) if models_file else "",
            _model_list(models), target, benchmark or "", int(threads), backend, int(batch), int(device), bar)
    finally:
        if bar is not None:
            bar.close()
    return _frame(r["eras"], r["models"], r["era_index"], r["model_index"], r["scores"],
                  r["formulas"])


def read_scores(path):
    """The scores file `path` (written by `backscore run --out` or run(out=...)) as run()'s
    DataFrame: indexed by (era, model), one column per formula. A scores file does not record
    which model-eras were submitted but not scored (all NaN), so those rows are left out:
    read_scores(out) equals run(..., out=out).dropna(how="all")."""
    r = _backscore.read_scores(os.fspath(path))
    formulas = r["formulas"]
    n_models, n_eras = len(r["models"]), len(r["eras"])
    if formulas:
        stack = np.stack([r["scores"][f] for f in formulas])  # formulas x models x eras
    else:
        stack = np.empty((0, n_models, n_eras))
    era_index, model_index = np.nonzero(np.isfinite(stack).any(axis=0).T)  # eras first
    values = stack[:, model_index, era_index].T
    df = _frame(r["eras"], r["models"], era_index, model_index, values, formulas)
    df.attrs.update(r["attributes"])
    df.attrs["definitions"] = dict(r["definitions"])
    return df


# Columns of the compare and audit tables that hold names, never numbers.
_NAME_COLUMNS = {"model", "era", "formula", "property", "vs_model", "verdict", "burn_verdict"}


def _tables(raw, index):
    """{name: (header, rows)} of CSV cells as DataFrames: numeric columns as float64 (the cells
    have 17 significant digits, so they are the doubles the CLI computed), "" as NaN."""
    out = {}
    for name, (header, rows) in raw.items():
        df = pd.DataFrame(rows, columns=header, dtype=object)
        for col in header:
            if col in _NAME_COLUMNS or col.endswith("model"):
                continue
            cells = df[col]
            try:
                df[col] = pd.to_numeric(cells.mask(cells == ""), errors="raise")
            except (ValueError, TypeError):
                pass
        key = index.get(name)
        if key is not None and key in df.columns:
            df = df.set_index(key)
        out[name] = df
    return out


def compare(scores, baseline, candidate, store=None, payout=None, payout_params=(),
            payout_threshold=None, eras_per_year=52.0):
    """`backscore compare`'s tables as DataFrames: {"models", "eras", "leaderboard" and, with a
    store (stakes), "payouts"}, each the CSV `compare --out-dir` writes (models.csv, ...)."""
    raw = _backscore.compare(
        os.fspath(scores), baseline, candidate, os.fspath(store) if store else "", payout,
        list(payout_params), math.nan if payout_threshold is None else float(payout_threshold),
        float(eras_per_year))
    return _tables(raw, {"models": "model", "eras": "era", "leaderboard": "model",
                         "payouts": "model"})


def audit(scores, store, formulas, corr_formula="corr_v1", corr_tol=0.002, xcorr_tol=0.02,
          worst=10, batch=256):
    """`backscore audit`'s tables as DataFrames: {"audit_summary": one row per formula,
    "audit_violations": the worst violations of both properties}, the CSVs of `audit
    --out-dir`. formulas: list or comma-separated; the first is the burn-era reference."""
    raw = _backscore.audit(os.fspath(scores), os.fspath(store), _names(formulas, "formulas"),
                           corr_formula, float(corr_tol), float(xcorr_tol), int(worst), int(batch))
    return _tables(raw, {"audit_summary": "formula"})
