"""`backscore import-numerai`: Numerai's own files (parquet, as numerapi downloads them) into a
store, through the C++ store writer (the same checks and messages as `backscore import`).

    backscore import-numerai --data validation.parquet --features-json features.json \
        --feature-set medium --meta-model meta_model.parquet \
        --benchmark-models validation_benchmark_models.parquet --out store.h5

The `backscore` executable hands this subcommand to `python -m backscore.numerai` (pyarrow reads
parquet; Debian has no Arrow for C++). Every file is streamed in record batches, one era at a
time: the data file, the meta-model and the benchmark file must list their rows grouped by era in
the same era order (as Numerai ships them; an era that comes back later is an error), so memory is
one era of each plus one batch, however large the files. Layout and rules: docs/FORMAT.md,
"Importing Numerai's files".
"""
import argparse
import json
import os
import sys
import time

import numpy as np

from . import _backscore
from ._api import _Progress, _interactive

InputError = _backscore.InputError
BATCH_ROWS = 16384  # rows per record batch read
META_COLUMN = "numerai_meta_model"
# Columns of a benchmark file that are not models.
NOT_MODELS = {"id", "era", "data_type"}


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.parquet
        import pandas  # noqa: F401  (pyarrow's to_pandas)
    except ImportError as e:
        raise InputError(
            f"import-numerai needs pyarrow and pandas in {sys.executable} ({e}): pip install "
            "pyarrow pandas, or give --python with an interpreter that has them") from None
    return pyarrow


def _open(path, what):
    pa = _pyarrow()
    try:
        # buffer_size: pages are read as the batches need them, not whole column chunks.
        return pa.parquet.ParquetFile(path, buffer_size=1 << 20, pre_buffer=False)
    except FileNotFoundError:
        raise InputError(f"{what}: {path}: no such file") from None
    except (OSError, pa.ArrowException) as e:
        raise InputError(f"{what}: {path}: not a readable parquet file: "
                         f"{str(e).splitlines()[0]}") from None


def _columns(pf):
    """The file's column names, the pandas index (Numerai's `id`) included."""
    return list(pf.schema_arrow.names)


def _require(pf, path, what, names):
    have = set(_columns(pf))
    for n in names:
        if n not in have:
            raise InputError(f"{what}: {path}: no column '{n}'")


def _era_strings(column):
    pa = _pyarrow()
    return column.cast(pa.string()).to_numpy(zero_copy_only=False)


class EraStream:
    """The rows of a parquet file grouped by era, in file order: next_era() yields (era, pandas
    frame) for each run of rows of one era. Rows of one era must be consecutive; an era that
    comes back is an error naming the file, the era and the row."""

    def __init__(self, path, what, columns, pf=None):
        self.path, self.what = path, what
        # One ParquetFile per file, shared by its passes: its footer (a few hundred bytes per
        # row group and column) is held once.
        self.pf = pf if pf is not None else _open(path, what)
        _require(self.pf, path, what, ["id", "era"] + [c for c in columns if c not in ("id", "era")])
        self.columns = ["id", "era"] + [c for c in columns if c not in ("id", "era")]

    def eras(self):
        """Yields (era, frame indexed by id) in file order."""
        pa = _pyarrow()
        current, pieces, seen, row = None, [], set(), 0
        try:
            batches = self.pf.iter_batches(batch_size=BATCH_ROWS, columns=self.columns)
            for batch in batches:
                eras = _era_strings(batch.column(self.columns.index("era")))
                cuts = np.flatnonzero(eras[1:] != eras[:-1]) + 1
                for start, end in zip([0, *cuts], [*cuts, len(eras)]):
                    era = str(eras[start])
                    if era != current:
                        if current is not None:
                            yield current, self._frame(pa, pieces)
                        if era in seen:
                            raise InputError(
                                f"{self.what}: {self.path}: row {row + start + 1}: era '{era}' "
                                "comes back after other eras: the rows must be grouped by era "
                                "(sort the file by era)")
                        seen.add(era)
                        current, pieces = era, []
                    pieces.append(batch.slice(start, end - start))
                row += len(eras)
        except pa.ArrowException as e:
            raise InputError(f"{self.what}: {self.path}: {str(e).splitlines()[0]}") from None
        if current is not None:
            yield current, self._frame(pa, pieces)

    def _frame(self, pa, pieces):
        frame = pa.Table.from_batches(pieces).to_pandas(ignore_metadata=True)
        ids = frame["id"].astype(str)
        frame = frame.drop(columns=["id", "era"]).set_axis(ids.to_numpy(), axis=0)
        return frame


class Companion:
    """A file that covers some of the data file's eras, read in step with it: rows(era) returns
    the frame of that era (None when the file has none), skipping (and counting) the file's eras
    the data file does not have. Both files must list their eras in the same order."""

    def __init__(self, path, what, columns, position, pf=None):
        self.stream = EraStream(path, what, columns, pf).eras()
        self.path, self.what, self.position = path, what, position
        self.head = next(self.stream, None)
        self.rows_skipped = 0  # rows of eras the data file does not have

    def rows(self, era):
        want = self.position[era]
        while self.head is not None:
            head_era, frame = self.head
            at = self.position.get(head_era)
            if at is not None and at >= want:
                break
            if at is not None:
                self._out_of_order(head_era)
            self.rows_skipped += len(frame)
            self.head = next(self.stream, None)
        if self.head is None or self.head[0] != era:
            return None
        frame = self.head[1]
        self.head = next(self.stream, None)
        if frame.index.has_duplicates:
            dup = frame.index[frame.index.duplicated()][0]
            raise InputError(f"{self.what}: {self.path}: era '{era}': id '{dup}' appears twice")
        return frame

    def finish(self):
        """After the data file's last era: the rest of the file must be eras it does not have."""
        while self.head is not None:
            if self.head[0] in self.position:
                self._out_of_order(self.head[0])
            self.rows_skipped += len(self.head[1])
            self.head = next(self.stream, None)

    def _out_of_order(self, era):
        raise InputError(f"{self.what}: {self.path}: era '{era}' comes after eras that follow it "
                         "in the data file (the file's eras must be in the data file's order)")


def _feature_names(features_json, feature_set, data_columns):
    """The data file's feature columns to import (a set of features.json, or a comma list)."""
    if feature_set is None:
        feature_set = "medium" if features_json else ""
    if not feature_set:
        return []
    if features_json:
        try:
            with open(features_json, encoding="utf-8") as f:
                sets = json.load(f).get("feature_sets")
        except FileNotFoundError:
            raise InputError(f"--features-json: {features_json}: no such file") from None
        except (OSError, ValueError, AttributeError) as e:
            raise InputError(f"--features-json: {features_json}: not a features.json "
                             f"({str(e).splitlines()[0]})") from None
        if not isinstance(sets, dict):
            raise InputError(f"--features-json: {features_json}: no 'feature_sets' object")
        if feature_set in sets:
            names = list(sets[feature_set])
        elif "," in feature_set or feature_set.startswith("feature_"):
            names = [n.strip() for n in feature_set.split(",") if n.strip()]
        else:
            raise InputError(f"--feature-set: {features_json} has no feature set '{feature_set}' "
                             f"(it has: {', '.join(sorted(sets))})")
    else:
        if feature_set in ("small", "medium", "all"):
            raise InputError(f"--feature-set {feature_set} needs --features-json (the sets "
                             "are there)")
        names = [n.strip() for n in feature_set.split(",") if n.strip()]
    have = set(data_columns)
    for n in names:
        if n not in have:
            raise InputError(f"--feature-set: the data file has no column '{n}'")
    if len(set(names)) != len(names):
        raise InputError("--feature-set: a feature is named twice")
    return names


def _target_names(targets, data_columns):
    available = [c for c in data_columns if c == "target" or c.startswith("target_")]
    if targets == "all":
        names = available
    else:
        names = [n.strip() for n in targets.split(",") if n.strip()]
        for n in names:
            if n not in available:
                raise InputError(f"--targets: the data file has no target column '{n}'")
    if "target" not in names:
        raise InputError("--targets: the data file's 'target' must be imported (the store's "
                         "default target)")
    return ["target"] + [n for n in names if n != "target"]


def _read_predictions(path, model):
    """One model's prediction file (parquet or CSV: id, prediction, optionally era) as a float32
    Series indexed by id, or {era: Series} when the file has an era column."""
    import pandas as pd
    what = "--predictions-dir"
    try:
        if path.endswith(".parquet"):
            _pyarrow()
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype={"id": str, "era": str})
    except (OSError, ValueError) as e:
        raise InputError(f"{what}: {path}: {str(e).splitlines()[0]}") from None
    if "id" not in frame.columns:
        if frame.index.name != "id":
            raise InputError(f"{what}: {path}: no column 'id'")
        frame = frame.reset_index()
    value_columns = [c for c in frame.columns if c not in ("id", "era", "data_type")]
    column = "prediction" if "prediction" in value_columns else (
        value_columns[0] if len(value_columns) == 1 else None)
    if column is None:
        raise InputError(f"{what}: {path}: no column 'prediction' (and not exactly one other)")
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any():
        raise InputError(f"{what}: {path}: row {int(np.flatnonzero(bad)[0]) + 1}: prediction "
                         f"'{frame[column][bad].iloc[0]}' is not a number")
    series = pd.Series(values.to_numpy(np.float64).astype(np.float32),
                       index=frame["id"].astype(str).to_numpy())
    if "era" in frame.columns:
        eras = frame["era"].astype(str).to_numpy()
        out = {}
        for era in pd.unique(eras):
            part = series[eras == era]
            if part.index.has_duplicates:
                raise InputError(f"{what}: {path}: era '{era}': id "
                                 f"'{part.index[part.index.duplicated()][0]}' appears twice")
            out[era] = part
        return out
    if series.index.has_duplicates:
        raise InputError(f"{what}: {path}: id '{series.index[series.index.duplicated()][0]}' "
                         "appears twice")
    return series


def _prediction_files(dirs):
    """{model: path} of every DIR/<model>.parquet and DIR/<model>.csv (names starting with '.'
    ignored), models sorted by name."""
    files = {}
    for d in dirs:
        if not os.path.isdir(d):
            raise InputError(f"--predictions-dir: {d} is not a directory")
        for name in sorted(os.listdir(d)):
            stem, ext = os.path.splitext(name)
            if name.startswith(".") or ext not in (".parquet", ".csv"):
                continue
            if stem in files:
                raise InputError(f"--predictions-dir: model '{stem}' has two files: "
                                 f"{files[stem]} and {os.path.join(d, name)}")
            files[stem] = os.path.join(d, name)
    return dict(sorted(files.items()))


def _era_order(path, pf):
    """The data file's eras in order (one pass over its era column)."""
    order = {}
    for era, _ in EraStream(path, "--data", [], pf).eras():
        order[era] = len(order)
    return order


def import_numerai(data, out, features_json=None, feature_set=None, targets="target",
                   meta_model=None, benchmark_models=None, predictions_dirs=(),
                   as_benchmarks=False, progress=None):
    """Writes the store `out` from Numerai's files; returns the summary (a dict). See the module
    docstring and docs/FORMAT.md for the rules."""
    start = time.monotonic()
    data, out = os.fspath(data), os.fspath(out)
    features_json, meta_model, benchmark_models = (
        os.fspath(p) if p else None for p in (features_json, meta_model, benchmark_models))
    predictions_dirs = [os.fspath(d) for d in predictions_dirs]
    if as_benchmarks and not benchmark_models:
        raise InputError("--as-benchmarks needs --benchmark-models")
    inputs = [("--data", data), ("--features-json", features_json or ""),
              ("--meta-model", meta_model or ""), ("--benchmark-models", benchmark_models or "")]
    inputs += [("--predictions-dir", d) for d in predictions_dirs]
    _backscore.check_outputs(inputs, [("--out", out)])

    data_file = _open(data, "--data")
    columns = _columns(data_file)
    _require(data_file, data, "--data", ["id", "era", "target"])
    features = _feature_names(features_json, feature_set, columns)
    target_names = _target_names(targets, columns)
    position = _era_order(data, data_file)

    bench_names = []
    bench = None
    if benchmark_models:
        bench_file = _open(benchmark_models, "--benchmark-models")
        bench_names = [c for c in _columns(bench_file) if c not in NOT_MODELS
                       and not c.startswith("__index_level_")]
        if not bench_names:
            raise InputError(f"--benchmark-models: {benchmark_models}: no model columns")
        bench = Companion(benchmark_models, "--benchmark-models", bench_names, position,
                          bench_file)
    meta = Companion(meta_model, "--meta-model", [META_COLUMN], position) if meta_model else None
    pred_files = _prediction_files(predictions_dirs)
    predictions = {m: _read_predictions(p, m) for m, p in pred_files.items()}
    models = ([] if as_benchmarks else list(bench_names)) + list(predictions)
    if len(set(models)) != len(models):
        clash = next(m for m in models if models.count(m) > 1)
        raise InputError(f"--predictions-dir: model '{clash}' is also a column of "
                         "--benchmark-models")
    if not models:
        raise InputError("import-numerai: no models: give --benchmark-models (without "
                         "--as-benchmarks) or --predictions-dir")

    writer = _backscore.StoreWriter(
        os.fspath(out), models, target_names, bench_names if as_benchmarks else [],
        [f[len("feature_"):] if f.startswith("feature_") else f for f in features], [],
        meta is not None, False, False)
    summary = {"eras": 0, "skipped_unresolved": 0, "skipped_no_meta_model": 0,
               "skipped_no_benchmarks": 0, "models": len(models), "submissions": 0,
               "predictions": 0, "min_stocks": 0, "max_stocks": 0, "rows": 0}
    show = _interactive() if progress is None else bool(progress)
    bar = _Progress() if show else None
    try:
        stream = EraStream(data, "--data", target_names + features, data_file)
        for k, (era, frame) in enumerate(stream.eras()):
            if bar is not None:
                bar(k + 1, len(position))
            if _write_era(writer, era, frame, target_names, features, meta, bench, bench_names,
                          as_benchmarks, predictions, models, data, summary):
                n = len(frame)
                summary["rows"] += n
                summary["min_stocks"] = min(summary["min_stocks"] or n, n)
                summary["max_stocks"] = max(summary["max_stocks"], n)
        for companion in (meta, bench):
            if companion is not None:
                companion.finish()
        if summary["eras"] == 0:
            raise InputError(f"--data: {data}: no era to import ({_skipped(summary)})")
        writer.finish()
    except BaseException:
        writer.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
    summary["benchmark_rows_skipped"] = bench.rows_skipped if bench else 0
    summary["meta_model_rows_skipped"] = meta.rows_skipped if meta else 0
    summary["seconds"] = time.monotonic() - start
    return summary


def _skipped(s):
    return (f"skipped {s['skipped_unresolved']} eras whose targets are NaN (not resolved), "
            f"{s['skipped_no_meta_model']} without the meta-model, "
            f"{s['skipped_no_benchmarks']} without the benchmark models")


def _write_era(writer, era, frame, target_names, features, meta, bench, bench_names,
               as_benchmarks, predictions, models, data, summary):
    """Writes one era of the data file; False when it is skipped (counted in summary)."""
    # The companions step to this era whether it is written or not.
    meta_rows = meta.rows(era) if meta is not None else None
    bench_rows = bench.rows(era) if bench is not None else None
    targets = frame[target_names].to_numpy(np.float64)
    nan = np.isnan(targets)
    if nan.all(axis=0).any():  # a target not resolved for this era: the era is skipped
        summary["skipped_unresolved"] += 1
        return False
    if nan.any():
        row, col = np.argwhere(nan)[0]
        raise InputError(f"--data: {data}: era '{era}': column '{target_names[col]}' is NaN for "
                         f"id '{frame.index[row]}' while the era has other values (a resolved "
                         "era must have every target; --targets imports fewer)")
    if meta is not None and meta_rows is None:
        summary["skipped_no_meta_model"] += 1
        return False
    if as_benchmarks and bench_rows is None:
        summary["skipped_no_benchmarks"] += 1
        return False
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputError(f"--data: {data}: era '{era}': id '{dup}' appears twice")
    ids = np.asarray(frame.index, dtype=str)
    order = np.argsort(ids, kind="stable")  # code point order = UTF-8 byte order
    ids = ids[order]
    n = len(ids)

    def aligned(rows, columns, what, path):
        values = rows[columns].reindex(ids).to_numpy(np.float64)
        missing = np.isnan(values).any(axis=1)
        if missing.any():
            raise InputError(f"{what}: {path}: era '{era}': no value for id "
                             f"'{ids[np.flatnonzero(missing)[0]]}' (it must cover every id of "
                             "the era)")
        return values.T

    meta_values = (aligned(meta_rows, [META_COLUMN], "--meta-model", meta.path)[0]
                   if meta is not None else None)
    benchmarks = (aligned(bench_rows, bench_names, "--benchmark-models", bench.path)
                  if as_benchmarks else None)
    matrix = np.full((len(models), n), np.nan, dtype=np.float32)
    if not as_benchmarks and bench_rows is not None:
        matrix[:len(bench_names)] = bench_rows[bench_names].reindex(ids).to_numpy(np.float32).T
    first = 0 if as_benchmarks else len(bench_names)
    for k, series in enumerate(predictions.values()):
        if isinstance(series, dict):
            series = series.get(era)
            if series is None:
                continue
        matrix[first + k] = series.reindex(ids).to_numpy(np.float32)
    submitted = np.flatnonzero(~np.isnan(matrix).all(axis=1)).astype(np.int32)
    feature_values = frame[features].to_numpy(np.float64)[order].T if features else None
    writer.append_era(era, list(ids), targets[order].T, meta_values,
                      benchmarks, feature_values, None, None, submitted, None,
                      np.ascontiguousarray(matrix[submitted]))
    summary["eras"] += 1
    summary["submissions"] += len(submitted)
    summary["predictions"] += int((~np.isnan(matrix[submitted])).sum())
    return True


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # the CLI's contract: one line, exit 2
        print(f"backscore: error: import-numerai: {message}", file=sys.stderr)
        sys.exit(2)


def main(argv=None):
    p = _Parser(
        prog="backscore import-numerai",
        description="Build a store from Numerai's parquet files (as numerapi downloads them).",
        epilog="Example: backscore import-numerai --data validation.parquet --features-json "
        "features.json --feature-set medium --meta-model meta_model.parquet --benchmark-models "
        "validation_benchmark_models.parquet --out store.h5. Eras whose targets are NaN (not "
        "resolved yet) are skipped and counted; with --meta-model, eras the meta-model file does "
        "not cover are skipped and counted too (a store's eras all have a meta-model or none "
        "do). Rules: docs/FORMAT.md, \"Importing Numerai's files\".")
    p.add_argument("--data", required=True,
                   help="validation.parquet, validation_int8.parquet or full.parquet: index id, "
                   "era, data_type, feature_*, target, target_<name>_<horizon>")
    p.add_argument("--features-json", help="features.json (its feature_sets), e.g. features.json")
    p.add_argument("--feature-set", help="a set of features.json (small, medium, all; default "
                   "medium with --features-json, else no features) or a comma list of feature "
                   "columns, e.g. --feature-set small")
    p.add_argument("--targets", default="target",
                   help="target columns to import: a comma list (target first) or 'all' "
                   "(default: target)")
    p.add_argument("--meta-model", help="meta_model.parquet (id, era, numerai_meta_model)")
    p.add_argument("--benchmark-models",
                   help="*_benchmark_models.parquet (id, era, one column per benchmark model): "
                   "each column becomes a model, or with --as-benchmarks a benchmark (bmc)")
    p.add_argument("--as-benchmarks", action="store_true",
                   help="the benchmark file's columns become the store's benchmarks, not models")
    p.add_argument("--predictions-dir", action="append", default=[],
                   help="directory of per-model prediction files DIR/<model>.parquet or .csv "
                   "(id, prediction, optionally era); repeatable")
    p.add_argument("--out", required=True, help="the store (HDF5) to write, e.g. store.h5")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    a = p.parse_args(argv)
    try:
        s = import_numerai(a.data, a.out, a.features_json, a.feature_set, a.targets, a.meta_model,
                           a.benchmark_models, a.predictions_dir, a.as_benchmarks,
                           progress=False if a.quiet else None)
    except _backscore.Error as e:
        print(f"backscore: error: {e}", file=sys.stderr)
        return 2
    except MemoryError:
        print("backscore: error: out of memory", file=sys.stderr)
        return 2
    print(f"backscore import-numerai: wrote {a.out}: {s['eras']} eras ({s['min_stocks']}-"
          f"{s['max_stocks']} stocks), {s['models']} models, {s['submissions']} submissions, "
          f"{s['predictions']} predictions; {_skipped(s)}; {s['meta_model_rows_skipped']} "
          f"meta-model and {s['benchmark_rows_skipped']} benchmark rows of eras the data file "
          f"does not have; {s['seconds']:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
