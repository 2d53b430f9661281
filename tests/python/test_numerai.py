"""import-numerai: parquet files in Numerai's schema against the same data through CSV import."""
import json
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import backscore
from backscore import numerai
from conftest import error_line

ERAS = [f"{e:04d}" for e in range(571, 580)]
FEATURES = [f"feature_{w}" for w in ("amber", "birch", "cedar", "dune", "elm", "fjord")]
TARGETS = ["target", "target_cyrus_v4_20", "target_cyrus_v4_60"]
BENCH = ["v5_lgbm_ct_blend", "v5_lgbm_teager60"]
FORMULAS = "corr,corr_v1,mmc,mmc2,mmc2_burnflip,fnc,bmc"


def numerai_files(root, int8, seed=11):
    """validation parquet (int8 or float features), features.json, meta_model.parquet, a
    benchmark file and a predictions directory, as Numerai ships them; returns their paths and
    the frames for the CSV side."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, era in enumerate(ERAS):
        n = int(rng.integers(40, 60))
        ids = [f"n{rng.integers(1 << 40, 1 << 44):011x}{k}" for _ in range(n)]
        f = rng.integers(0, 5, size=(n, len(FEATURES)))
        signal = f[:, 0] - f[:, 1] + rng.normal(0, 2, n)
        target = np.clip(np.round((signal - signal.mean()) / 3 + 2) / 4, 0, 1)
        frame = pd.DataFrame(f.astype(np.int8) if int8 else (f / 4).astype(np.float32),
                             columns=FEATURES)
        frame.insert(0, "era", era)
        frame.insert(1, "data_type", "validation")
        frame["target"] = target.astype(np.float32)
        frame["target_cyrus_v4_20"] = rng.integers(0, 5, n).astype(np.float32) / 4
        frame["target_cyrus_v4_60"] = rng.integers(0, 5, n).astype(np.float32) / 4
        frame.index = pd.Index(ids, name="id")
        rows.append(frame)
    data = pd.concat(rows)
    data.loc[data["era"].isin(ERAS[-2:]), TARGETS] = np.nan  # not resolved yet
    data.loc[data["era"] == ERAS[-3], "target_cyrus_v4_60"] = np.nan  # 20 days resolved, not 60
    paths = {"data": root / ("validation_int8.parquet" if int8 else "validation.parquet")}
    pq.write_table(pa.Table.from_pandas(data), paths["data"], row_group_size=70)
    paths["features_json"] = root / "features.json"
    paths["features_json"].write_text(json.dumps({"feature_sets": {
        "small": FEATURES[:2], "medium": FEATURES[:4], "all": FEATURES}, "targets": TARGETS}))

    meta = data.loc[data["era"] != ERAS[0], ["era"]].copy()  # the first era has no meta-model
    meta["numerai_meta_model"] = rng.random(len(meta))
    paths["meta_model"] = root / "meta_model.parquet"
    pq.write_table(pa.Table.from_pandas(meta), paths["meta_model"], row_group_size=50)

    bench = data.loc[data["era"].isin(ERAS[:6]), ["era", "data_type"]].copy()
    for name in BENCH:
        bench[name] = (rng.random(len(bench)) + data.loc[bench.index, FEATURES[0]] / 5).astype(
            np.float32)
    # an era of the data file the benchmark file lacks, and rows of an era the data file lacks
    bench = bench[bench["era"] != ERAS[2]]
    extra = pd.DataFrame({"era": "0999", "data_type": "validation", BENCH[0]: np.float32(0.5),
                          BENCH[1]: np.float32(0.5)}, index=pd.Index(["zz1", "zz2"], name="id"))
    bench = pd.concat([bench, extra])
    paths["benchmark_models"] = root / "validation_benchmark_models.parquet"
    pq.write_table(pa.Table.from_pandas(bench), paths["benchmark_models"], row_group_size=64)

    preds = root / "predictions"
    preds.mkdir()
    alice = data.loc[data["era"].isin(ERAS[:5]), []].copy()
    alice["prediction"] = rng.random(len(alice))
    alice.to_parquet(preds / "alice.parquet")
    bob = data.loc[data["era"].isin(ERAS[1:6]), ["era"]].copy()
    bob["prediction"] = rng.random(len(bob))
    keep = rng.random(len(bob)) > 0.1  # ~10% of the ids missing: scored on its own subset
    keep &= ~((bob["era"] == ERAS[3]) & (rng.random(len(bob)) < 0.5))  # >20% missing: NaN
    bob = bob[keep]
    bob.reset_index().to_csv(preds / "bob.csv", index=False)
    (preds / ".hidden.csv").write_text("not,read\n")
    paths["predictions_dir"] = preds
    return paths, data, meta, bench, alice, bob


def write_csv_side(root, data, meta, bench, alice, bob, features, targets, eras, as_benchmarks):
    """The same history as backscore import's CSV files: universe and long predictions."""
    uni = data[data["era"].isin(eras)]
    out = pd.DataFrame({"era": uni["era"], "id": uni.index})
    for t in targets:
        out[t] = uni[t].astype(np.float64).map(repr)
    out["meta_model"] = meta.loc[uni.index, "numerai_meta_model"].map(repr)
    if as_benchmarks:
        for name in BENCH:
            out[f"benchmark_{name}"] = bench.loc[uni.index, name].astype(np.float64).map(repr)
    for f in features:
        out[f] = uni[f].astype(np.float64).map(repr)
    out.to_csv(root / "universe.csv", index=False)
    long = []
    sources = ([] if as_benchmarks else [(name, bench[name]) for name in BENCH])
    sources += [("alice", alice["prediction"]), ("bob", bob.set_index("id")["prediction"]
                 if "id" in bob.columns else bob["prediction"])]
    for name, series in sources:
        s = series[series.index.isin(uni.index)].dropna()
        part = pd.DataFrame({"model": name, "era": uni.loc[s.index, "era"], "id": s.index,
                             "prediction": s.astype(np.float32).astype(np.float64).map(repr)})
        long.append(part.sort_values("era", kind="stable"))
    pd.concat(long).to_csv(root / "predictions.csv", index=False)


def import_args(paths, *extra):
    return ["import-numerai", "--data", paths["data"], "--features-json", paths["features_json"],
            "--meta-model", paths["meta_model"], "--benchmark-models", paths["benchmark_models"],
            "--predictions-dir", paths["predictions_dir"], *extra]


@pytest.mark.parametrize("int8", [True, False])
def test_parquet_import_scores_equal_the_csv_import(cli, python, tmp_path, int8):
    paths, data, meta, bench, alice, bob = numerai_files(tmp_path, int8)
    p = cli("import-numerai", "--python", python, *import_args(paths)[1:], "--feature-set", "medium", "--targets", "all", "--out",
            tmp_path / "numerai.h5")
    # eras: 0571 has no meta-model; 0577-0579 have unresolved targets (0577: its 60-day one)
    assert "3 eras whose targets are NaN" in p.stderr and "1 without the meta-model" in p.stderr
    assert "2 benchmark rows of eras the data file does not have" in p.stderr
    store = backscore.Store(tmp_path / "numerai.h5")
    eras = ERAS[1:6]
    assert store.eras == eras and store.models == BENCH + ["alice", "bob"]
    assert store.targets == TARGETS and store.features == [f[8:] for f in FEATURES[:4]]
    assert store.era(0).features.dtype == np.float64

    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    write_csv_side(csv_dir, data, meta, bench, alice, bob, FEATURES[:4], TARGETS, eras, False)
    cli("import", "--universe", csv_dir / "universe.csv", "--predictions",
        csv_dir / "predictions.csv", "--out", csv_dir / "csv.h5")
    for store_path, csv in ((tmp_path / "numerai.h5", tmp_path / "a.csv"),
                            (csv_dir / "csv.h5", tmp_path / "b.csv")):
        cli("run", store_path, "--formulas", FORMULAS.replace(",bmc", ""), "--backend", "cpu",
            "--target", "target_cyrus_v4_20", "--csv", csv, "--quiet")
    a, b = (tmp_path / "a.csv").read_bytes(), (tmp_path / "b.csv").read_bytes()
    assert a == b and a.count(b"\n") > 15


def test_benchmarks_for_bmc_and_batches_inside_eras(cli, tmp_path, monkeypatch):
    paths, data, meta, bench, alice, bob = numerai_files(tmp_path, True, seed=4)
    monkeypatch.setattr(numerai, "BATCH_ROWS", 7)  # eras across record batches, batches across eras
    s = numerai.import_numerai(paths["data"], tmp_path / "bench.h5", paths["features_json"],
                               "small", "target", paths["meta_model"], paths["benchmark_models"],
                               [paths["predictions_dir"]], as_benchmarks=True, progress=False)
    # 0571: no meta-model; 0574 (and 0577-0579): no benchmark rows; 0578, 0579 unresolved
    assert (s["eras"], s["skipped_no_meta_model"], s["skipped_no_benchmarks"],
            s["skipped_unresolved"]) == (4, 1, 2, 2)
    store = backscore.Store(tmp_path / "bench.h5")
    eras = [ERAS[1], ERAS[3], ERAS[4], ERAS[5]]
    assert store.eras == eras and store.benchmarks == BENCH and store.models == ["alice", "bob"]
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    write_csv_side(csv_dir, data, meta, bench, alice, bob, FEATURES[:2], ["target"], eras, True)
    cli("import", "--universe", csv_dir / "universe.csv", "--predictions",
        csv_dir / "predictions.csv", "--out", csv_dir / "csv.h5")
    runs = [backscore.run(path, formulas=FORMULAS, backend="cpu", progress=False)
            for path in (tmp_path / "bench.h5", csv_dir / "csv.h5")]
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    assert runs[0]["bmc"].notna().sum() > 4


def test_bad_files_fail_with_one_line_and_leave_no_store(cli, python, tmp_path):
    paths, *_ = numerai_files(tmp_path, True)
    out = tmp_path / "out" / "store.h5"
    out.parent.mkdir()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(paths["data"].read_bytes()[:3000])
    line = error_line(cli("import-numerai", "--python", python, "--data", broken,
                          "--benchmark-models", paths["benchmark_models"], "--out", out,
                          check=False))
    assert line.startswith(f"--data: {broken}: ")
    with pytest.raises(backscore.InputError) as e:
        numerai.import_numerai(broken, out, benchmark_models=paths["benchmark_models"])
    assert str(e.value) == line
    # a meta-model that misses an id of an era it covers: found in the middle of the import
    meta = pq.read_table(paths["meta_model"]).to_pandas()
    meta.drop(index=meta.index[meta["era"] == ERAS[4]][3]).to_parquet(tmp_path / "mm.parquet")
    line = error_line(cli("import-numerai", "--python", python, "--data", paths["data"],
                          "--meta-model", tmp_path / "mm.parquet", "--benchmark-models",
                          paths["benchmark_models"], "--out", out, check=False))
    assert f"era '{ERAS[4]}': no value for id" in line
    # rows of an era that come back after other eras
    data = pq.read_table(paths["data"]).to_pandas()
    pd.concat([data, data.iloc[:1]]).to_parquet(tmp_path / "unsorted.parquet")
    line = error_line(cli("import-numerai", "--python", python, "--data",
                          tmp_path / "unsorted.parquet", "--benchmark-models",
                          paths["benchmark_models"], "--out", out, check=False))
    assert f"era '{ERAS[0]}' comes back after other eras" in line
    line = error_line(cli("import-numerai", "--python", python, "--data", paths["data"],
                          "--nope", "--out", out, check=False))
    assert "unrecognized arguments: --nope" in line
    assert os.listdir(out.parent) == []
