#!/usr/bin/env bash
# Installs the Debian packages backscore needs to build and test, skipping those already there.
set -euo pipefail
# clang-16 with libclang-rt-16-dev (libFuzzer, clang's sanitizer runtimes) and libomp-16-dev
# (clang's OpenMP): the fuzz targets' build (scripts/test.sh, scripts/fuzz.sh). 16, not Debian's
# default clang 14, which cannot compile a lambda capturing a structured binding (C++20).
# libopenmpi-dev and openmpi-bin: backscore-mpi (host/mpi/) and its tests (mpiexec).
# pybind11-dev and python3-dev: the Python module (python/; its tests get pandas, pyarrow and
# pytest from PyPI into a virtual environment).
packages=(cmake ninja-build g++ ccache libhdf5-dev libcli11-dev libgtest-dev libopenblas-dev python3
          python3-venv time chromium clang-16 libclang-rt-16-dev libomp-16-dev libopenmpi-dev
          openmpi-bin pybind11-dev python3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
