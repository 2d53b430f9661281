"""Fixtures of the Python module's tests: the build tree (its CLI and module), small stores."""
import os
import subprocess
import sys

import pytest


def pytest_addoption(parser):
    parser.addoption("--backscore-build", required=True, help="the CMake build directory")


@pytest.fixture(scope="session")
def build(request):
    return request.config.getoption("--backscore-build")


@pytest.fixture(scope="session")
def cli(build):
    """cli(*args) -> CompletedProcess of the build's backscore (text, both streams captured)."""
    binary = os.path.join(build, "backscore")

    def run(*args, check=True):
        p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True)
        if check and p.returncode != 0:
            raise AssertionError(f"backscore {' '.join(map(str, args))}: exit {p.returncode}\n"
                                 f"{p.stderr}")
        return p
    return run


@pytest.fixture(scope="session")
def python():
    return sys.executable


@pytest.fixture(scope="session")
def history(cli, tmp_path_factory):
    """A synthetic store with burn eras, missing ids, features and a benchmark."""
    path = tmp_path_factory.mktemp("history") / "history.h5"
    cli("synth", "--models", 30, "--eras", 6, "--stocks", 300, "--features", 8,
        "--missing-ids", 0.1, "--burn-fraction", 0.3, "--seed", 3, "--out", path, "--quiet")
    return path


def error_line(process):
    """The one line a failing command printed, without its "backscore: error: " prefix."""
    lines = process.stderr.strip().splitlines()
    assert process.returncode == 2, process.stderr
    assert len(lines) == 1, process.stderr
    assert lines[0].startswith("backscore: error: "), lines[0]
    return lines[0][len("backscore: error: "):]
