"""backscore.simulate, read_simulation and Simulation against `backscore simulate`."""
import os
import tempfile
import threading
import time

import numpy as np
import pandas as pd
import pytest

import backscore
from conftest import error_line

RULES = {"mmc": "numerai2024", "half": "clip(0.5*corr + mmc, -0.05, 0.05)"}
CLI_RULES = ["--rule", "mmc=numerai2024", "--rule", "half=clip(0.5*corr + mmc, -0.05, 0.05)"]


def same_bits(a, b):
    assert list(a.columns) == list(b.columns)
    assert list(a.index) == list(b.index)
    assert list(a.index.names) == list(b.index.names)
    x, y = a.to_numpy(np.float64), b.to_numpy(np.float64)
    assert x.shape == y.shape
    assert np.array_equal(x.view(np.int64), y.view(np.int64)), "values differ in their bits"


def read_csv(path, keys):
    df = pd.read_csv(path, dtype={k: str for k in keys}, float_precision="round_trip",
                     keep_default_na=False, na_values=[""])
    return df.set_index(keys).astype(np.float64)


def cli_tables(directory):
    """eras.csv and stakes.csv as simulate()'s frames: indexed by (rule, era[, model]), rows
    grouped by rule (the CSVs list them era by era, rules within an era)."""
    eras = read_csv(directory / "eras.csv", ["rule", "era"])
    stakes = read_csv(directory / "stakes.csv", ["rule", "model", "era"])
    stakes = stakes.reorder_levels(["rule", "era", "model"])
    return eras, stakes


def grouped_by_rule(frame, rules):
    """The CSV's rows in simulate()'s order: by rule (in the given order), stable within."""
    position = {r: k for k, r in enumerate(rules)}
    order = np.argsort([position[r] for r in frame.index.get_level_values("rule")], kind="stable")
    return frame.iloc[order]


def test_simulate_equals_the_cli_bit_for_bit(cli, history, tmp_path):
    p = cli("simulate", history, *CLI_RULES, "--resolve-lag", 1, "--flows", "observed",
            "--threads", 2, "--csv", tmp_path / "cli", "--quiet")
    eras, stakes = cli_tables(tmp_path / "cli")
    sim = backscore.simulate(history, RULES, resolve_lag=1, flows="observed", threads=1,
                             progress=False)
    assert isinstance(sim, backscore.Simulation)
    assert list(sim.rules) == ["mmc", "half"]
    assert sim.rules["half"] == "clip(0.5*corr + mmc, -0.05, 0.05)"
    assert sim.rules["mmc"] != "numerai2024", "a preset's text is expanded"
    assert sim.resolve_lag == 1 and sim.flows == "observed" and sim.target == "target"
    same_bits(sim.eras, grouped_by_rule(eras, list(RULES)))
    same_bits(sim.stakes, grouped_by_rule(stakes, list(RULES)))
    for frame in (sim.eras, sim.stakes):  # sorted by the index's codes: .loc slices cheaply
        order = np.lexsort([np.asarray(c) for c in frame.index.codes][::-1])
        assert (order == np.arange(len(frame))).all()
    assert (sim.stakes["payout"] != 0).any(), "the rules should pay"
    # The summary is the CLI's table, printed the same way.
    table = [line.split() for line in p.stdout.splitlines()[1:3]]
    summary = sim.summary()
    assert list(summary.index) == ["mmc", "half"]
    for row, (name, s) in zip(table, summary.iterrows()):
        printed = [name, f"{s.mm_corr:.5f}", f"{s.mm_corr_2nd_half:.5f}",
                   f"{s.effective_models:.2f}", f"{s.mean_xcorr:.4f}", f"{s.final_stake:.1f}",
                   f"{s.paid:.1f}"]
        assert row == printed
    # The list form of the rules is the same simulation.
    again = backscore.simulate(history, ["mmc=numerai2024", "half=clip(0.5*corr + mmc, -0.05, "
                                         "0.05)"], resolve_lag=1, flows="observed",
                               progress=False)
    same_bits(again.eras, sim.eras)


def test_defined_formulas_are_the_clis(cli, history, tmp_path):
    """define= is the CLI's --formula: a rule naming a definition gives the CLI's bytes."""
    cli("simulate", history, "--formula", "half_mmc = 0.5 * mmc", "--rule",
        "h=clip(corr + half_mmc, -0.05, 0.05)", "--resolve-lag", 1, "--csv", tmp_path / "cli",
        "--quiet")
    eras, stakes = cli_tables(tmp_path / "cli")
    sim = backscore.simulate(history, {"h": "clip(corr + half_mmc, -0.05, 0.05)"},
                             define={"half_mmc": "0.5 * mmc"}, resolve_lag=1, progress=False)
    same_bits(sim.eras, grouped_by_rule(eras, ["h"]))
    same_bits(sim.stakes, grouped_by_rule(stakes, ["h"]))


def test_observed_payout_is_the_clis(cli, history, tmp_path):
    cli("simulate", history, "--rule", "mmc=numerai2024", "--flows", "observed",
        "--observed-payout", "numerai2024", "--resolve-lag", 1, "--csv", tmp_path / "cli",
        "--quiet")
    eras, stakes = cli_tables(tmp_path / "cli")
    sim = backscore.simulate(history, {"mmc": "numerai2024"}, flows="observed",
                             observed_payout="numerai2024", resolve_lag=1, progress=False)
    same_bits(sim.stakes, grouped_by_rule(stakes, ["mmc"]))
    with pytest.raises(backscore.InputError) as e:
        backscore.simulate(history, {"mmc": "numerai2024"}, observed_payout="numerai2024",
                           progress=False)
    assert "needs --flows observed" in str(e.value)


def test_read_simulation_equals_what_simulate_returned(history, tmp_path):
    out = tmp_path / "sim.h5"
    sim = backscore.simulate(history, RULES, out=out, resolve_lag=2, progress=False)
    back = backscore.read_simulation(out)
    same_bits(back.eras, sim.eras)
    same_bits(back.stakes, sim.stakes)
    assert back.rules == sim.rules and back.store == sim.store
    pd.testing.assert_frame_equal(back.summary(), sim.summary())
    assert os.listdir(tmp_path) == ["sim.h5"]  # no journal left
    with pytest.raises(backscore.InputError) as e:
        backscore.read_simulation(tmp_path / "none.h5")
    assert "none.h5" in str(e.value)


def test_resume_after_a_finished_simulation_is_the_clis_error(cli, history, tmp_path):
    out = tmp_path / "sim.h5"
    backscore.simulate(history, RULES, out=out, progress=False)
    line = error_line(cli("simulate", history, *CLI_RULES, "--out", out, "--resume", "--quiet",
                          check=False))
    with pytest.raises(backscore.InputError) as e:
        backscore.simulate(history, RULES, out=out, resume=True, progress=False)
    assert str(e.value) == line and "resume" in line
    assert os.listdir(tmp_path) == ["sim.h5"]
    with pytest.raises(backscore.InputError) as e:
        backscore.simulate(history, RULES, resume=True)
    assert str(e.value).startswith("--resume needs --out")


def test_errors_carry_the_clis_line(cli, history, tmp_path):
    out = tmp_path / "sim.h5"
    journal = os.path.join(tempfile.gettempdir(), f"backscore-simulate-{os.getpid()}.partial")
    cases = [
        ({"x": "clip(foo, -1, 1)"}, {}, ["--rule", "x=clip(foo, -1, 1)"]),
        ({"x": "mpc"}, {}, ["--rule", "x=mpc"]),
        (["nosuchpreset"], {}, ["--rule", "nosuchpreset"]),
        (["a=mmc", "a=corr"], {}, ["--rule", "a=mmc", "--rule", "a=corr"]),
        ({"a b": "mmc"}, {}, ["--rule", "a b=mmc"]),
        ({"a": "mmc"}, {"target": "t9"}, ["--rule", "a=mmc", "--target", "t9"]),
        ({"a": "mmc"}, {"start": "era9999"}, ["--rule", "a=mmc", "--start", "era9999"]),
        ({"a": "mmc"}, {"resolve_lag": 0}, ["--rule", "a=mmc", "--resolve-lag", "0"]),
        ({"a": "mmc"}, {"flows": "all"}, ["--rule", "a=mmc", "--flows", "all"]),
        ({"a": "mmc"}, {"payout_threshold": 0}, ["--rule", "a=mmc", "--payout-threshold", "0"]),
        ({"a": "mmc"}, {"threads": -1}, ["--rule", "a=mmc", "--threads", "-1"]),
        ({"a": "mmc"}, {"backend": "gpu"}, ["--rule", "a=mmc", "--backend", "gpu"]),
        ({"a": "numerai2024"}, {"payout_params": {"nope": 1}},
         ["--rule", "a=numerai2024", "--payout-param", "nope=1"]),
    ]
    for rules, options, args in cases:
        line = error_line(cli("simulate", history, *args, "--out", out, "--quiet", check=False))
        with pytest.raises(backscore.InputError) as e:
            backscore.simulate(history, rules, progress=False, **options)
        assert str(e.value) == line, args
        assert "\n" not in line
    assert os.listdir(tmp_path) == []
    assert not os.path.exists(journal)
    with pytest.raises(backscore.InputError) as e:
        backscore.simulate(history, {"a=b": "mmc"})
    assert "the name must be" in str(e.value)


def test_nothing_is_written_without_out(history, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    journal = os.path.join(tempfile.gettempdir(), f"backscore-simulate-{os.getpid()}.partial")
    sim = backscore.simulate(history, RULES, progress=False)
    assert len(sim.eras) == 2 * len(backscore.Store(history).eras)
    assert os.listdir(tmp_path) == []
    assert not os.path.exists(journal) and not os.path.exists(journal + "-state")


@pytest.fixture(scope="module")
def bigger(cli, tmp_path_factory):
    """A store whose simulation takes a while on one thread."""
    path = tmp_path_factory.mktemp("bigger") / "bigger.h5"
    cli("synth", "--models", 200, "--eras", 40, "--stocks", 2000, "--features", 4, "--seed", 5,
        "--out", path, "--quiet")
    return path


def test_the_interpreter_runs_while_the_engine_simulates(bigger):
    """The GIL is released while C++ simulates: a Python thread keeps running, its longest
    pause far shorter than the simulation (holding the GIL would pause it for all of it)."""
    done = threading.Event()
    result = {}

    def work():
        t0 = time.perf_counter()
        result["sim"] = backscore.simulate(bigger, {"a": "mmc2", "b": "numerai2024"}, threads=1,
                                           progress=False)
        result["seconds"] = time.perf_counter() - t0
        done.set()

    thread = threading.Thread(target=work)
    longest = 0.0
    last = time.perf_counter()
    thread.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
        time.sleep(0.001)
    thread.join()
    print(f"longest pause {longest:.4f} s of {result['seconds']:.3f} s")
    assert result["seconds"] > 0.2, "the simulation should take a while"
    assert longest < 0.5 * result["seconds"], (longest, result["seconds"])


def test_a_stopped_simulation_resumes_to_the_same_tables(history, tmp_path, monkeypatch):
    """Ctrl-C (here from the progress callback, after era 3) keeps the journal beside out;
    resume=True continues it to the tables and file of an uninterrupted simulation."""
    whole = backscore.simulate(history, RULES, out=tmp_path / "whole.h5", resolve_lag=2,
                               progress=False)

    class Stop:
        def __init__(self, desc):
            pass

        def __call__(self, done, total):
            if done == 3:
                raise KeyboardInterrupt

        def close(self):
            pass

    import backscore._simulation as module
    monkeypatch.setattr(module, "_Progress", Stop)
    out = tmp_path / "sim.h5"
    with pytest.raises(KeyboardInterrupt):
        backscore.simulate(history, RULES, out=out, resolve_lag=2, progress=True)
    assert sorted(os.listdir(tmp_path)) == ["sim.h5.partial", "sim.h5.partial-state",
                                            "whole.h5"]
    resumed = backscore.simulate(history, RULES, out=out, resolve_lag=2, resume=True,
                                 progress=False)
    same_bits(resumed.eras, whole.eras)
    same_bits(resumed.stakes, whole.stakes)
    same_bits(backscore.read_simulation(out).stakes, whole.stakes)
    assert sorted(os.listdir(tmp_path)) == ["sim.h5", "whole.h5"]
    # Without out, a stopped simulation leaves nothing behind.
    journal = os.path.join(tempfile.gettempdir(), f"backscore-simulate-{os.getpid()}.partial")
    with pytest.raises(KeyboardInterrupt):
        backscore.simulate(history, RULES, progress=True)
    assert not os.path.exists(journal) and not os.path.exists(journal + "-state")
