"""backscore.run, read_scores, Store, StoreWriter, compare and audit against the CLI."""
import os

import numpy as np
import pandas as pd
import pytest

import backscore
from conftest import error_line

FORMULAS = "corr,mmc,mmc2,mmc2_burnflip,bmc,fnc,corr_v1"
DEFINE = {"mmc_half": "mmc - 0.5 * corr"}


def read_cli_csv(path):
    """The CLI's scores CSV as run()'s frame (17 significant digits read back exactly)."""
    df = pd.read_csv(path, dtype={"model": str, "era": str}, float_precision="round_trip",
                     keep_default_na=False, na_values=[""])
    return df.set_index(["era", "model"]).astype(np.float64)


def same_bits(a, b):
    assert list(a.columns) == list(b.columns)
    assert list(a.index) == list(b.index)
    x, y = a.to_numpy(np.float64), b.to_numpy(np.float64)
    assert x.shape == y.shape
    assert np.array_equal(x.view(np.int64), y.view(np.int64)), "scores differ in their bits"


def test_run_equals_the_cli_bit_for_bit(cli, history, tmp_path):
    cli("run", history, "--formulas", FORMULAS + ",mmc_half", "--formula",
        "mmc_half = mmc - 0.5 * corr", "--top-bottom", 20, "--backend", "cpu", "--threads", 2,
        "--csv", tmp_path / "cli.csv", "--quiet")
    expected = read_cli_csv(tmp_path / "cli.csv")
    scores = backscore.run(history, formulas=FORMULAS.split(",") + ["mmc_half"], define=DEFINE,
                           top_bottom=20, backend="cpu", threads=1)
    assert list(scores.index.names) == ["era", "model"]
    assert scores.isna().all(axis=1).any(), "the history should have unscored model-eras"
    same_bits(scores, expected)


def test_read_scores_round_trip(history, tmp_path):
    out = tmp_path / "scores.h5"
    csv = tmp_path / "scores.csv"
    scores = backscore.run(history, formulas="corr,mmc,mmc_half", define=DEFINE, backend="cpu", out=out,
                           csv=csv)
    back = backscore.read_scores(out)
    same_bits(back, scores.dropna(how="all"))
    assert back.attrs["definitions"]["mmc_half"]
    same_bits(read_cli_csv(csv), scores)
    assert sorted(os.listdir(tmp_path)) == ["scores.csv", "scores.h5"]  # no journal left


def test_models_by_name_equal_the_clis_models_file(cli, history, tmp_path):
    every = backscore.run(history, formulas="corr,mmc", backend="cpu")
    chosen = sorted(set(every.index.get_level_values("model")))[:3]
    (tmp_path / "models.txt").write_text("\n".join(chosen) + "\n")
    cli("run", history, "--formulas", "corr,mmc", "--backend", "cpu", "--models",
        tmp_path / "models.txt", "--csv", tmp_path / "cli.csv", "--quiet")
    scores = backscore.run(history, formulas="corr,mmc", backend="cpu", models=chosen)
    assert sorted(set(scores.index.get_level_values("model"))) == chosen
    same_bits(scores, read_cli_csv(tmp_path / "cli.csv"))
    same_bits(scores, backscore.run(history, formulas="corr,mmc", backend="cpu",
                                    models_file=tmp_path / "models.txt"))
    with pytest.raises(backscore.InputError) as e:
        backscore.run(history, formulas="corr", models=["no such model"])
    assert str(e.value) == "models: the store has no model 'no such model'"


def test_errors_carry_the_clis_line(cli, history, tmp_path):
    bad = tmp_path / "not_a_store.h5"
    bad.write_text("era,id\n")
    for args, call in [
        (("run", bad), lambda: backscore.run(bad)),
        (("run", history, "--formulas", "corr,nope"), lambda: backscore.run(history, ["corr", "nope"])),
        (("run", history, "--target", "t9"), lambda: backscore.run(history, target="t9")),
        (("run", history, "--formula", "x = corr +"), lambda: backscore.run(history, define={"x": "corr +"})),
    ]:
        line = error_line(cli(*args, check=False))
        with pytest.raises(backscore.InputError) as e:
            call()
        assert str(e.value) == line
        assert isinstance(e.value, ValueError) and isinstance(e.value, backscore.Error)
    with pytest.raises(backscore.InputError) as e:
        backscore.Store(bad)
    assert str(bad) in str(e.value)


def test_store_reads_what_the_writer_wrote(tmp_path):
    rng = np.random.default_rng(5)
    path = tmp_path / "small.h5"
    eras = {}
    with backscore.StoreWriter(path, models=["m0", "m1", "m2"], targets=["target", "target_b"],
                               benchmarks=["bench"], features=["f0", "f1"], meta_model=True,
                               stakes=True) as w:
        for e in range(3):
            ids = [f"id{k:03d}" for k in rng.permutation(40)]
            data = pd.DataFrame({"target": rng.random(40), "target_b": rng.random(40),
                                 "meta_model": rng.random(40), "benchmark_bench": rng.random(40),
                                 "feature_f0": rng.integers(0, 5, 40),
                                 "feature_f1": rng.integers(0, 5, 40)}, index=ids)
            preds = pd.DataFrame({"m2": rng.random(40).astype(np.float32),
                                  "m0": rng.random(40).astype(np.float32)}, index=ids)
            preds.iloc[3, 0] = np.nan
            w.append(f"e{e}", data, preds, stakes={"m0": 1.5, "m2": 0.0})
            eras[f"e{e}"] = (data, preds)
    store = backscore.Store(path)
    assert store.eras == ["e0", "e1", "e2"]
    assert store.models == ["m0", "m1", "m2"] and store.features == ["f0", "f1"]
    assert store.has_meta_model and store.has_stakes and not store.has_sample_weights
    for era in store:
        data, preds = eras[era.name]
        assert era.ids == sorted(data.index)
        np.testing.assert_array_equal(era.targets, data.loc[era.ids, ["target", "target_b"]].T)
        np.testing.assert_array_equal(era.meta_model, data.loc[era.ids, "meta_model"])
        np.testing.assert_array_equal(era.features[1], data.loc[era.ids, "feature_f1"])
        assert list(era.models) == [0, 2] and list(era.stakes) == [1.5, 0.0]
        got = era.predictions_frame()
        np.testing.assert_array_equal(got["m2"], preds.loc[era.ids, "m2"])
        assert got.shape == (40, 2) and era.predictions().dtype == np.float32
        pd.testing.assert_frame_equal(era.frame()[["target", "meta_model"]],
                                      data.loc[era.ids, ["target", "meta_model"]],
                                      check_names=False, check_index_type=False)
    assert store.predictions("e1", first=1).shape == (1, 40)


def test_writer_errors_leave_no_store(tmp_path):
    path = tmp_path / "bad.h5"
    w = backscore.StoreWriter(path, models=["m"], meta_model=True)
    data = pd.DataFrame({"target": [0.5, np.nan], "meta_model": [0.1, 0.2]}, index=["a", "b"])
    preds = pd.DataFrame({"m": [0.1, 0.2]}, index=["a", "b"])
    with pytest.raises(backscore.InputError) as e:
        w.append("era1", data, preds)
    assert "era1" in str(e.value) and "target" in str(e.value) and "\n" not in str(e.value)
    w.abort()
    assert os.listdir(tmp_path) == []
    with pytest.raises(backscore.InputError, match="ids"):
        with backscore.StoreWriter(path, models=["m"]) as w:
            w.append_arrays("e", ["b", "a"], np.zeros((1, 2)), np.array([0]),
                            np.zeros((1, 2), np.float32))
    with pytest.raises(backscore.InputError, match=r"shape \(2, 1\), expected \(1, 2\)"):
        with backscore.StoreWriter(path, models=["m"]) as w:
            w.append_arrays("e", ["a", "b"], np.zeros((2, 1)), np.array([0]),
                            np.zeros((1, 2), np.float32))
    assert os.listdir(tmp_path) == []


def cli_table(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def same_table(frame, path):
    """A DataFrame of compare()/audit() holds the CSV the CLI wrote, cell for cell."""
    expected = cli_table(path)
    got = frame.reset_index() if frame.index.name else frame
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        want = expected[col]
        if got[col].dtype == np.float64:
            have = got[col].to_numpy()
            parsed = pd.to_numeric(want.mask(want == "")).to_numpy(np.float64)
            assert np.array_equal(have, parsed, equal_nan=True), col
        else:
            assert list(got[col].astype(str)) == list(want), col


def test_compare_and_audit_tables_are_the_clis(cli, history, tmp_path):
    scores = tmp_path / "scores.h5"
    backscore.run(history, formulas="corr_v1,corr,mmc,mmc2,mmc2_burnflip", backend="cpu",
                  out=scores)
    cli("compare", scores, "--baseline", "mmc", "--candidate", "mmc2", "--out-dir",
        tmp_path / "cmp")
    tables = backscore.compare(scores, "mmc", "mmc2")
    assert sorted(tables) == ["eras", "leaderboard", "models"]
    for name, frame in tables.items():
        same_table(frame, tmp_path / "cmp" / f"{name}.csv")
    cli("audit", scores, "--store", history, "--formula", "mmc2,mmc2_burnflip", "--out-dir",
        tmp_path / "aud")
    tables = backscore.audit(scores, history, ["mmc2", "mmc2_burnflip"])
    assert tables["audit_summary"].index.tolist() == ["mmc2", "mmc2_burnflip"]
    for name, frame in tables.items():
        same_table(frame, tmp_path / "aud" / f"{name}.csv")
    line = error_line(cli("compare", scores, "--baseline", "nope", "--candidate", "mmc",
                          check=False))
    with pytest.raises(backscore.InputError) as e:
        backscore.compare(scores, "nope", "mmc")
    assert str(e.value) == line
