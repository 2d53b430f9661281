"""Store (reading) and StoreWriter (writing from pandas or numpy) over io/store.hpp."""
import os

import numpy as np
import pandas as pd

from . import _backscore


class Era:
    """One era of a store. Arrays have the stock index last (a K x n matrix holds K vectors over
    the era's n stocks, as the store does): targets (T x n), meta_model (n, or None), benchmarks
    (B x n), features (F x n), neutralizers (K x n), sample_weights (n, or None), models (the
    model-table indices of the m submitted models), stakes (m, or None). ids: the stock ids,
    sorted by byte order."""

    def __init__(self, store, fields):
        self._store = store
        self.__dict__.update(fields)

    def __repr__(self):
        return (f"<backscore.Era {self.name!r}: {len(self.ids)} stocks, {len(self.models)} "
                f"models>")

    def predictions(self, first=0, count=None):
        """The prediction matrix, models x stocks float32 (row j: model models[j]; NaN: an id the
        model did not submit), or rows [first, first + count) of it."""
        return self._store._native.predictions(self.index, first, count)

    def frame(self):
        """The era's per-stock data as a DataFrame indexed by id: targets by their names,
        meta_model, then benchmark_<name>, feature_<name>, neutralizer_<name> and sample_weight
        (the columns of `backscore import`'s universe CSV)."""
        s = self._store.schema
        cols = {}
        for k, name in enumerate(s["targets"]):
            cols[name] = self.targets[k]
        if self.meta_model is not None:
            cols["meta_model"] = self.meta_model
        for prefix, names, matrix in (("benchmark_", s["benchmarks"], self.benchmarks),
                                      ("feature_", s["features"], self.features),
                                      ("neutralizer_", s["neutralizers"], self.neutralizers)):
            for k, name in enumerate(names):
                cols[prefix + name] = matrix[k]
        if self.sample_weights is not None:
            cols["sample_weight"] = self.sample_weights
        return pd.DataFrame(cols, index=pd.Index(self.ids, name="id", dtype=object))

    def predictions_frame(self):
        """The prediction matrix as a DataFrame: index id, one column per submitted model."""
        names = self._store.models
        return pd.DataFrame(self.predictions().T, index=pd.Index(self.ids, name="id", dtype=object),
                            columns=[names[i] for i in self.models])


class Store:
    """A store opened for reading: its tables (eras, models, targets, benchmarks, features,
    neutralizers, has_meta_model, has_stakes, has_sample_weights) and its eras one at a time
    (store[era] or store.era(era), by index or name; iterating yields every era in order)."""

    def __init__(self, path):
        self._native = _backscore.Store(os.fspath(path))
        self.schema = self._native.schema
        self.path = self._native.path
        self.version = self._native.version
        self.eras = self._native.eras
        for key in ("models", "targets", "benchmarks", "features", "neutralizers",
                    "has_meta_model", "has_stakes", "has_sample_weights"):
            setattr(self, key, self.schema[key])

    def __repr__(self):
        return (f"<backscore.Store {self.path!r}: {len(self.eras)} eras, {len(self.models)} "
                f"models, {len(self.features)} features>")

    def __len__(self):
        return len(self.eras)

    def era(self, era):
        return Era(self, self._native.era(era))

    __getitem__ = era

    def __iter__(self):
        for e in range(len(self.eras)):
            yield self.era(e)

    def predictions(self, era, first=0, count=None):
        return self._native.predictions(era, first, count)


def _rows(frame, columns, ids, what, era):
    """frame[columns] on `ids` as a K x n float64 matrix (a missing id is NaN: the writer refuses
    it with its message)."""
    if not columns:
        return np.empty((0, len(ids)))
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise _backscore.InputError(f"era '{era}': {what}: no column '{missing[0]}'")
    return frame[columns].reindex(ids).to_numpy(dtype=np.float64).T


class StoreWriter:
    """Writes a store era by era through the C++ writer (io/store.hpp), which checks each era as
    `backscore import` does and raises InputError with the same messages. The store appears
    under `path` only when finish() succeeds (it is written under a temporary name; a writer
    closed by an error, abort(), or left unfinished by a `with` block leaves nothing).

        with backscore.StoreWriter("history.h5", models=["a", "b"], features=["f1"],
                                   meta_model=True) as w:
            w.append("era1", data, predictions)   # data: index id; predictions: id x model

    Names are the store's: targets ("target" first, then e.g. "target_b"), benchmarks, features,
    neutralizers. In append's `data` (indexed by id, like `backscore import`'s universe CSV)
    they are the columns target..., meta_model, benchmark_<name>, feature_<name>,
    neutralizer_<name>, sample_weight.
    """

    def __init__(self, path, models, targets=("target",), benchmarks=(), features=(),
                 neutralizers=(), meta_model=False, stakes=False, sample_weights=False):
        self._native = _backscore.StoreWriter(
            os.fspath(path), list(models), list(targets), list(benchmarks), list(features),
            list(neutralizers), bool(meta_model), bool(stakes), bool(sample_weights))
        self.models = list(models)
        self._model_index = {m: i for i, m in enumerate(self.models)}
        self.targets, self.benchmarks = list(targets), list(benchmarks)
        self.features, self.neutralizers = list(features), list(neutralizers)
        self.meta_model, self.stakes, self.sample_weights = meta_model, stakes, sample_weights

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.finish()
        else:
            self.abort()
        return False

    def append_arrays(self, name, ids, targets, models, predictions, meta_model=None,
                      benchmarks=None, features=None, neutralizers=None, sample_weights=None,
                      stakes=None):
        """One era from arrays in the store's layout (see Era): ids sorted by byte order,
        targets T x n, models the ascending model-table indices of the m submitted models,
        predictions m x n (NaN: not submitted)."""
        self._native.append_era(name, list(ids), targets, meta_model, benchmarks, features,
                                neutralizers, sample_weights, models, stakes, predictions)

    def append(self, name, data, predictions, stakes=None):
        """One era from pandas: `data` indexed by id (columns as in the class docstring; extra
        columns are ignored), `predictions` indexed by id with one column per submitted model
        (NaN: the id was not submitted; ids outside `data` are an error), `stakes` a mapping or
        Series model -> stake when the store has stakes."""
        ids = sorted(str(i) for i in data.index)  # code point order = UTF-8 byte order
        if len(set(ids)) != len(ids):
            dup = pd.Index(ids)[pd.Index(ids).duplicated()][0]
            raise _backscore.InputError(f"era '{name}': id '{dup}' appears twice")
        data = data.set_axis([str(i) for i in data.index], axis=0)
        targets = _rows(data, self.targets, ids, "targets", name)
        meta = (data["meta_model"].reindex(ids).to_numpy(np.float64)
                if self.meta_model and "meta_model" in data.columns else None)
        if self.meta_model and meta is None:
            raise _backscore.InputError(f"era '{name}': no column 'meta_model'")
        weights = None
        if self.sample_weights:
            if "sample_weight" not in data.columns:
                raise _backscore.InputError(f"era '{name}': no column 'sample_weight'")
            weights = data["sample_weight"].reindex(ids).to_numpy(np.float64)
        bench = _rows(data, [f"benchmark_{b}" for b in self.benchmarks], ids, "benchmarks", name)
        feats = _rows(data, [f"feature_{f}" for f in self.features], ids, "features", name)
        neut = _rows(data, [f"neutralizer_{k}" for k in self.neutralizers], ids, "neutralizers",
                     name)
        preds = predictions.set_axis([str(i) for i in predictions.index], axis=0)
        unknown = preds.index.difference(pd.Index(ids))
        if len(unknown):
            raise _backscore.InputError(
                f"era '{name}': predictions: id '{unknown[0]}' is not in the era's data")
        order = []
        for col in preds.columns:
            if col not in self._model_index:
                raise _backscore.InputError(f"era '{name}': predictions: unknown model '{col}'")
            order.append(self._model_index[col])
        order_sorted = sorted(range(len(order)), key=order.__getitem__)
        models = np.array([order[k] for k in order_sorted], dtype=np.int32)
        matrix = preds.iloc[:, order_sorted].reindex(ids).to_numpy(np.float32).T
        stake_values = None
        if self.stakes:
            if stakes is None:
                raise _backscore.InputError(f"era '{name}': the store has stakes: give stakes=")
            stake_values = np.array([float(stakes[self.models[i]]) for i in models])
        self.append_arrays(name, ids, targets, models, np.ascontiguousarray(matrix), meta, bench,
                           feats, neut, weights, stake_values)

    def finish(self):
        self._native.finish()

    def abort(self):
        self._native.abort()
