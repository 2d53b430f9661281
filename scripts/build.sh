#!/usr/bin/env bash
# Configures and builds backscore into build/ (CUDA backend compiled when nvcc is found).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build
